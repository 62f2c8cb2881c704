import { describe, expect, test } from "vitest";
import { CONFIG_PATH, load, problemOf } from "./helpers.ts";

// One key of each source-sensitive kind: a scalar, a list and a duration.
const FILE = "max-in-flight: 3\ntags: [queue=from-file]\njob-ttl: 3m\n";
const ENV = { MAX_IN_FLIGHT: "2", TAGS: "queue=from-env", JOB_TTL: "2m" };
const FLAGS = ["--max-in-flight", "1", "--tags", "queue=from-flag", "--job-ttl=1m"];
const MINUTE = 60_000_000_000;

describe("precedence: flag > env > file > default", () => {
  test("a flag beats an env var", () => {
    const { config, sources } = load({ args: FLAGS, env: ENV });
    expect([config.maxInFlight, config.tags, config.jobTtl]).toEqual([1, ["queue=from-flag"], MINUTE]);
    expect(sources["max-in-flight"]).toEqual({ kind: "flag", flag: "--max-in-flight" });
  });

  test("a flag beats the config file", () => {
    const { config } = load({ args: FLAGS, file: FILE });
    expect([config.maxInFlight, config.tags, config.jobTtl]).toEqual([1, ["queue=from-flag"], MINUTE]);
  });

  test("a flag beats the default", () => {
    const { config } = load({ args: FLAGS });
    expect([config.maxInFlight, config.tags, config.jobTtl]).toEqual([1, ["queue=from-flag"], MINUTE]);
  });

  test("an env var beats the config file", () => {
    const { config, sources } = load({ env: ENV, file: FILE });
    expect([config.maxInFlight, config.tags, config.jobTtl]).toEqual([2, ["queue=from-env"], 2 * MINUTE]);
    expect(sources.tags).toEqual({ kind: "env", name: "TAGS" });
  });

  test("an env var beats the default", () => {
    const { config } = load({ env: ENV });
    expect([config.maxInFlight, config.tags, config.jobTtl]).toEqual([2, ["queue=from-env"], 2 * MINUTE]);
  });

  test("the config file beats the default", () => {
    const { config, sources } = load({ file: FILE });
    expect([config.maxInFlight, config.tags, config.jobTtl]).toEqual([3, ["queue=from-file"], 3 * MINUTE]);
    expect(sources["job-ttl"]).toEqual({ kind: "file", file: CONFIG_PATH, line: 3 });
  });

  test("with no source at all, the default is used and reported as such", () => {
    const { config, sources } = load();
    expect([config.maxInFlight, config.tags, config.jobTtl]).toEqual([25, ["queue=kubernetes"], 10 * MINUTE]);
    expect(sources["max-in-flight"]).toEqual({ kind: "default" });
  });

  test("a file value of 0 is honoured over a non-zero default", () => {
    expect(load({ file: "max-in-flight: 0\n" }).config.maxInFlight).toBe(0);
  });

  test("a key left empty in the file (YAML null) keeps its default", () => {
    expect(load({ file: "max-in-flight:\n" }).config.maxInFlight).toBe(25);
  });

  test("only the winning value is checked: a bad env var under a good flag is not an error", () => {
    expect(load({ args: ["--max-in-flight", "4"], env: { MAX_IN_FLIGHT: "lots" } }).config.maxInFlight).toBe(
      4,
    );
  });
});

describe("environment variables", () => {
  test("an empty env var counts as unset, so the file value stands", () => {
    const { config, sources } = load({
      env: { MAX_IN_FLIGHT: "", ORG: "" },
      file: "max-in-flight: 3\norg: acme\n",
    });
    expect(config.maxInFlight).toBe(3);
    expect(config.org).toBe("acme");
    expect(sources.org.kind).toBe("file");
  });

  test("an explicitly empty flag is a value: --org= sets the empty string", () => {
    const { config, sources } = load({ args: ["--org="], env: { ORG: "acme" } });
    expect(config.org).toBe("");
    expect(sources.org).toEqual({ kind: "flag", flag: "--org" });
  });

  test("names are the upper snake case of the key", () => {
    const { config } = load({
      env: {
        K8S_CLIENT_RATE_LIMITER_QPS: "7",
        JOB_ACTIVE_DEADLINE_SECONDS: "60",
        DEFAULT_IMAGE_PULL_POLICY: "Always",
      },
    });
    expect([
      config.k8sClientRateLimiterQps,
      config.jobActiveDeadlineSeconds,
      config.defaultImagePullPolicy,
    ]).toEqual([7, 60, "Always"]);
  });

  test("HEAD's exceptions: id comes from BUILDKITE_K8S_STACK_CONTROLLER_ID, buildkite-token from BUILDKITE_TOKEN", () => {
    const { config } = load({
      env: { BUILDKITE_K8S_STACK_CONTROLLER_ID: "stack-1", BUILDKITE_TOKEN: "bkua_x", ID: "ignored" },
    });
    expect(config.id).toBe("stack-1");
    expect(config.buildkiteToken).toBe("bkua_x");
  });

  test("structured keys have no env var", () => {
    expect(load({ env: { POD_SPEC_PATCH: "{}", AGENT_CONFIG: "{}" } }).config.podSpecPatch).toBeUndefined();
  });

  test("list values split on commas, blanks around items dropped", () => {
    expect(load({ env: { TAGS: "queue=a, os=linux,,arch=arm64" } }).config.tags).toEqual([
      "queue=a",
      "os=linux",
      "arch=arm64",
    ]);
  });

  test("NO_COLOR with any value turns colour off, as the no-color.org convention has it", () => {
    expect(load({ env: { NO_COLOR: "yes" } }).config.noColor).toBe(true);
  });
});

describe("where the config file comes from", () => {
  const files = { "/a.yaml": "org: from-a\n", "/b.yaml": "org: from-b\n" };
  const read = (path: string) => {
    const text = files[path as keyof typeof files];
    if (text === undefined) throw new Error(`ENOENT: ${path}`);
    return text;
  };

  test("--config beats CONFIG", async () => {
    const { loadConfig } = await import("../../src/config/load.ts");
    const loaded = loadConfig({ args: ["--config", "/a.yaml"], env: { CONFIG: "/b.yaml" }, readFile: read });
    expect(loaded.config.org).toBe("from-a");
    expect(loaded.configFile).toBe("/a.yaml");
  });

  test("-f is --config, in every spelling", async () => {
    const { loadConfig } = await import("../../src/config/load.ts");
    for (const args of [["-f", "/a.yaml"], ["-f=/a.yaml"], ["-f/a.yaml"], ["--config=/a.yaml"]]) {
      expect(loadConfig({ args, env: {}, readFile: read }).config.org).toBe("from-a");
    }
  });

  test("CONFIG names the file when no flag does", async () => {
    const { loadConfig } = await import("../../src/config/load.ts");
    expect(loadConfig({ args: [], env: { CONFIG: "/b.yaml" }, readFile: read }).config.org).toBe("from-b");
  });

  test("no path, no file: nothing is read", async () => {
    const { loadConfig } = await import("../../src/config/load.ts");
    const loaded = loadConfig({
      args: [],
      env: { CONFIG: "" },
      readFile: () => {
        throw new Error("must not be read");
      },
    });
    expect(loaded.configFile).toBeUndefined();
  });

  test("the file cannot name a config file itself", () => {
    const problem = problemOf({ file: "config: /other.yaml\n" });
    expect(problem.code).toBe("ASK_CONFIG_UNKNOWN_KEY");
    expect(problem.message).toBe(
      `config cannot be set in the config file (in file ${CONFIG_PATH}:1); use --config or CONFIG`,
    );
  });
});
