import { describe, expect, test } from "vitest";
import { isAgentStackError } from "../../src/errors.ts";
import { CONFIG_PATH, load, loadError, problemOf } from "./helpers.ts";

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}

describe("reading the file", () => {
  test("a file that cannot be read fails startup with ASK_CONFIG_FILE_UNREADABLE", () => {
    const error = thrown(() => load({ args: ["--config", "/nowhere.yaml"] }));
    expect(isAgentStackError(error, "ASK_CONFIG_FILE_UNREADABLE")).toBe(true);
    expect((error as Error).message).toBe(
      "failed to read config: ENOENT: no such file or directory, open '/nowhere.yaml'",
    );
  });

  test("invalid YAML fails with ASK_CONFIG_FILE_INVALID and the line", () => {
    const error = thrown(() => load({ file: "org: acme\ntags: [queue=a\n" }));
    expect(isAgentStackError(error, "ASK_CONFIG_FILE_INVALID")).toBe(true);
    expect((error as Error).message).toMatch(
      new RegExp(`^failed to parse config file ${CONFIG_PATH}:\\d+: `),
    );
  });

  test("a duplicate key is invalid YAML", () => {
    const error = thrown(() => load({ file: "org: a\norg: b\n" }));
    expect(isAgentStackError(error, "ASK_CONFIG_FILE_INVALID")).toBe(true);
    expect((error as Error).message).toContain(`${CONFIG_PATH}:2`);
  });

  test("a file that is not a mapping is invalid", () => {
    const error = thrown(() => load({ file: "- org: acme\n" }));
    expect(isAgentStackError(error, "ASK_CONFIG_FILE_INVALID")).toBe(true);
    expect((error as Error).message).toBe(
      `failed to parse config file ${CONFIG_PATH}: expected a mapping of configuration keys, found a list`,
    );
  });

  test("an empty file, or one with only comments, sets nothing", () => {
    expect(load({ file: "" }).config.maxInFlight).toBe(25);
    expect(load({ file: "# nothing yet\n" }).config.org).toBe("");
  });

  test("JSON is YAML too", () => {
    expect(
      load({ file: '{"org": "acme", "max-in-flight": 4, "tags": ["queue=json"]}' }).config,
    ).toMatchObject({
      org: "acme",
      maxInFlight: 4,
      tags: ["queue=json"],
    });
  });

  test("anchors and merge keys work as in go-yaml", () => {
    const { config } = load({
      file: [
        "workspace-volume: &volume",
        "  name: workspace",
        "  emptyDir: {}",
        "agent-config:",
        "  hooksVolume:",
        "    <<: *volume",
        "    name: hooks",
      ].join("\n"),
    });
    expect(config.agentConfig?.hooksVolume).toEqual({ name: "hooks", emptyDir: {} });
    expect(config.workspaceVolume).toEqual({ name: "workspace", emptyDir: {} });
  });
});

describe("unknown keys are errors (HEAD's strict decoding)", () => {
  test("the key, the file and line, and the closest known key are named", () => {
    const problem = problemOf({ file: "org: acme\nmax-inflight: 3\n" });
    expect(problem.code).toBe("ASK_CONFIG_UNKNOWN_KEY");
    expect(problem.message).toBe(
      `unknown configuration key "max-inflight" (in file ${CONFIG_PATH}:2); did you mean "max-in-flight"?`,
    );
  });

  test("a camelCase spelling suggests the kebab-case key (the chart's workspaceVolume quirk)", () => {
    expect(problemOf({ file: "workspaceVolume: {name: w, emptyDir: {}}\n" }).message).toContain(
      'did you mean "workspace-volume"?',
    );
    expect(problemOf({ file: "maxInFlight: 3\n" }).message).toContain('did you mean "max-in-flight"?');
  });

  test("every unknown key is reported, beside invalid values", () => {
    const error = loadError({ file: "colour: red\nmax-in-flight: many\nsize: 3\n" });
    expect(error.problems.map((problem) => [problem.code, problem.key])).toEqual([
      ["ASK_CONFIG_UNKNOWN_KEY", "colour"],
      ["ASK_CONFIG_UNKNOWN_KEY", "size"],
      ["ASK_CONFIG_INVALID_VALUE", "max-in-flight"],
    ]);
    expect(error.code).toBe("ASK_CONFIG_UNKNOWN_KEY");
  });
});

describe("keys with dots survive (upstream's key delimiter is ::)", () => {
  test("dotted label, annotation and node selector keys are single keys", () => {
    const { config } = load({
      file: [
        "default-metadata:",
        "  labels:",
        "    argocd.argoproj.io/tracking-id: ci",
        "    app.kubernetes.io/name: agent",
        "  annotations:",
        "    cluster-autoscaler.kubernetes.io/safe-to-evict: 'true'",
        "resource-classes:",
        "  large:",
        "    nodeSelector:",
        "      node.kubernetes.io/instance-type: m5.large",
      ].join("\n"),
    });
    expect(config.defaultMetadata).toEqual({
      labels: { "argocd.argoproj.io/tracking-id": "ci", "app.kubernetes.io/name": "agent" },
      annotations: { "cluster-autoscaler.kubernetes.io/safe-to-evict": "true" },
    });
    expect(config.resourceClasses?.large?.nodeSelector).toEqual({
      "node.kubernetes.io/instance-type": "m5.large",
    });
  });

  test("a dotted top-level key is not split into a path either", () => {
    expect(problemOf({ file: "agent-config.endpoint: https://x\n" }).message).toContain(
      'unknown configuration key "agent-config.endpoint"',
    );
  });
});

test("a file whose aliases expand without bound is invalid, not a crash", () => {
  const lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]'];
  for (let level = 0; level < 8; level++) {
    const previous = String.fromCharCode(97 + level);
    const next = String.fromCharCode(98 + level);
    lines.push(`${next}: &${next} [${Array(10).fill(`*${previous}`).join(", ")}]`);
  }
  const error = thrown(() => load({ file: `x-bomb:\n${lines.map((line) => `  ${line}`).join("\n")}\n` }));
  expect(isAgentStackError(error, "ASK_CONFIG_FILE_INVALID")).toBe(true);
});
