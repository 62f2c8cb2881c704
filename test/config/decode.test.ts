/** What the configuration relies on in src/k8s/decode.ts, including the two bugs fixed there. */
import { describe, expect, test } from "vitest";
import { type DecodeOptions, decodeDefinition } from "../../src/k8s/decode.ts";
import { PARAM_SCHEMAS } from "../../src/params/schemas.ts";
import { load } from "./helpers.ts";

const STRICT: DecodeOptions = {
  errorCode: "ASK_CONFIG_INVALID_VALUE",
  unknownFields: "error",
  rootPath: "x",
  extraDefinitions: PARAM_SCHEMAS,
};

describe("strict decoding", () => {
  test.each(["constructor", "toString", "hasOwnProperty", "__proto__", "valueOf"])(
    "a field named %s (an Object.prototype member) is unknown, not accepted as undefined",
    (field) => {
      const value = JSON.parse(`{"name": "v", "${field}": "x"}`);
      expect(() => decodeDefinition(value, "io.k8s.api.core.v1.Volume", STRICT)).toThrow(
        `unknown field "${field}" at x (Volume has no such field)`,
      );
    },
  );

  test("a map key __proto__ is kept as data, not taken as the prototype", () => {
    const value = JSON.parse('{"labels": {"__proto__": "x", "team": "ci"}}');
    const { value: decoded } = decodeDefinition<{ labels: Record<string, string> }>(
      value,
      "buildkite.Metadata",
      STRICT,
    );
    expect(Object.keys(decoded.labels)).toEqual(["__proto__", "team"]);
    expect(Object.getPrototypeOf(decoded.labels)).toBe(Object.prototype);
    expect(JSON.stringify(decoded)).toBe('{"labels":{"__proto__":"x","team":"ci"}}');
  });

  test("field names are case-sensitive in the config file (unlike Go's encoding/json)", () => {
    expect(() => decodeDefinition({ Name: "v" }, "io.k8s.api.core.v1.Volume", STRICT)).toThrow(
      'unknown field "Name"',
    );
  });

  test("patch mode keeps directives and nulls; normal mode drops nulls", () => {
    const value = { containers: [{ name: "a", $patch: "delete" }], $retainKeys: ["volumes"], hostname: null };
    expect(decodeDefinition(value, "io.k8s.api.core.v1.PodSpec", { ...STRICT, patch: true }).value).toEqual(
      value,
    );
    expect(
      decodeDefinition({ name: "v", emptyDir: null }, "io.k8s.api.core.v1.Volume", STRICT).value,
    ).toEqual({
      name: "v",
    });
  });
});

test("a __proto__ map key survives the whole config file path (YAML, decoding) to be checked or used", () => {
  const { config } = load({ file: 'resource-classes:\n  "__proto__": {nodeSelector: {pool: x}}\n' });
  expect(Object.keys(config.resourceClasses ?? {})).toEqual(["__proto__"]);
  expect(() => load({ file: 'default-metadata:\n  labels:\n    "__proto__": x\n' })).toThrow(
    'default-metadata.labels.__proto__: "__proto__" (from file /etc/agent-stack-k8s/config.yaml:1) is not a valid label key',
  );
});
