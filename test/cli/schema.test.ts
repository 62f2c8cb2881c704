/**
 * `agent-stack-k8s schema`: the JSON Schema editors use. Checked with ajv, a validator of its own: it
 * accepts Buildkite's pipelines and upstream's, and refuses unknown plugin fields wherever they are.
 */
import { readFileSync } from "node:fs";
import { Ajv } from "ajv";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { run } from "../support/cli.ts";
import {
  BUILDKITE_PIPELINES,
  readFixture,
  UPSTREAM_FAILING_PIPELINES,
  UPSTREAM_PIPELINES,
} from "../support/pipeline-fixtures.ts";

const GENERATED = new URL("../../src/generated/pipeline-schema.json", import.meta.url);

async function schema(): Promise<Record<string, unknown>> {
  const result = await run(["schema"]);
  expect(result.status).toBe(0);
  return JSON.parse(result.stdout);
}

let compiled: Promise<ReturnType<Ajv["compile"]>> | undefined;

/** ajv compiles the schema the command printed, once for the file: it takes a second or two. */
function validator() {
  compiled ??= schema().then((printed) => {
    // Buildkite's schema has a textField `format: regex`, which ajv does not know without ajv-formats.
    const ajv = new Ajv({ allErrors: true, strict: false, logger: false });
    return ajv.compile(printed);
  });
  return compiled;
}

const pipeline = (text: string): unknown => parse(text, { merge: true });

test("prints the generated schema, a draft-07 JSON Schema", async () => {
  const result = await run(["schema"]);
  expect(result.stdout).toBe(readFileSync(GENERATED, "utf8"));
  expect(JSON.parse(result.stdout).$schema).toBe("http://json-schema.org/draft-07/schema#");
});

test("--help explains how to point an editor at it", async () => {
  const result = await run(["schema", "--help"]);
  expect(result.stdout).toContain("# yaml-language-server: $schema=./pipeline-schema.json");
  expect((await run(["schema", "extra"])).status).toBe(2);
});

describe("ajv", () => {
  test.each([...BUILDKITE_PIPELINES.filter((path) => !path.endsWith("matrix.yml")), ...UPSTREAM_PIPELINES])(
    "validates %s",
    async (path) => {
      const validate = await validator();
      const valid = validate(pipeline(readFixture(path)));
      expect(validate.errors ?? [], path).toEqual([]);
      expect(valid).toBe(true);
    },
  );

  test("refuses the value upstream's invalid2.yaml gets wrong", async () => {
    const validate = await validator();
    const path = UPSTREAM_FAILING_PIPELINES.find((candidate) =>
      candidate.endsWith("invalid2.yaml"),
    ) as string;
    expect(validate(pipeline(readFixture(path)))).toBe(false);
    expect(validate.errors).toContainEqual(
      expect.objectContaining({
        instancePath: "/steps/0/plugins/0/kubernetes/podSpec/containers/0/env/0/value",
        message: "must be string",
      }),
    );
  });

  const plugin = (body: string) => `steps:\n  - command: x\n    plugins:\n      - kubernetes:\n${body}\n`;

  test.each([
    ["the plugin itself", plugin("          podSpecs: {}"), "/steps/0/plugins/0/kubernetes", "podSpecs"],
    [
      "the plugin in the mapping form",
      "steps:\n  - command: x\n    plugins:\n      kubernetes:\n        sidecar: []\n",
      "/steps/0/plugins/kubernetes",
      "sidecar",
    ],
    [
      "the plugin by its full name",
      "steps:\n  - command: x\n    plugins:\n      - github.com/buildkite-plugins/kubernetes-buildkite-plugin:\n          podspec: {}\n",
      "/steps/0/plugins/0/github.com~1buildkite-plugins~1kubernetes-buildkite-plugin",
      "podspec",
    ],
    [
      "checkout",
      plugin("          checkout: {cloneFlag: x}"),
      "/steps/0/plugins/0/kubernetes/checkout",
      "cloneFlag",
    ],
    [
      "a podSpec container",
      plugin(
        "          podSpec:\n            containers:\n              - image: a\n                imagePolicy: Always",
      ),
      "/steps/0/plugins/0/kubernetes/podSpec/containers/0",
      "imagePolicy",
    ],
    [
      "a sidecar's probe",
      plugin(
        "          sidecars:\n            - image: a\n              readinessProbe: {httpGet: {port: 80, paht: /}}",
      ),
      "/steps/0/plugins/0/kubernetes/sidecars/0/readinessProbe/httpGet",
      "paht",
    ],
    [
      "a podSpecPatch",
      plugin("          podSpecPatch:\n            nodeSelektor: {a: b}"),
      "/steps/0/plugins/0/kubernetes/podSpecPatch",
      "nodeSelektor",
    ],
  ])("refuses an unknown field in %s", async (_name, text, instancePath, field) => {
    const validate = await validator();
    expect(validate(pipeline(text))).toBe(false);
    expect(validate.errors).toContainEqual(
      expect.objectContaining({
        instancePath,
        keyword: "additionalProperties",
        params: { additionalProperty: field },
      }),
    );
  });

  test("a patch may delete with null and use directives; a pod spec needs no containers, a command container no name", async () => {
    const validate = await validator();
    const text = plugin(
      "          podSpec:\n            serviceAccountName: ci\n          sidecars:\n            - image: redis:7\n          podSpecPatch:\n            nodeSelector: {disk: null}\n            containers:\n              - name: container-0\n                $patch: delete\n            $setElementOrder/containers: [{name: agent}]",
    );
    expect(validate(pipeline(text))).toBe(true);
  });

  test("an enumeration from the Kubernetes documentation", async () => {
    const validate = await validator();
    expect(validate(pipeline(plugin("          podSpec:\n            restartPolicy: Sometimes")))).toBe(
      false,
    );
    expect(validate.errors).toContainEqual(
      expect.objectContaining({
        keyword: "enum",
        instancePath: "/steps/0/plugins/0/kubernetes/podSpec/restartPolicy",
      }),
    );
  });
});
