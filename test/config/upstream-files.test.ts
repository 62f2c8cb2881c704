/** Configuration files written for upstream load here. */
import { expect, test } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import { run } from "../support/cli.ts";
import { readFixture } from "../support/pipeline-fixtures.ts";

// The token comes from the environment, as the chart's Secret gives it.
const load = (text: string, subcommand = "launcher") =>
  loadConfig({
    args: ["--config", "config.yaml"],
    env: { BUILDKITE_TOKEN: "token" },
    subcommand,
    readFile: () => text,
  });

test.each(["upstream-config/examples-config-26b968b.yaml", "upstream-config/examples-config-00a778d.yaml"])(
  "upstream's %s loads",
  (path) => {
    const loaded = load(readFixture(path));
    expect(load(readFixture(path), "render").config).toEqual(loaded.config);
    expect(loaded.warnings).toEqual([]);
    expect(loaded.config.namespace).toBe("my-buildkite-ns");
    expect(loaded.config.defaultCommandParams?.interposer).toBe("vector");
  },
);

test("a key of upstream HEAD's own, integration-test-buildkite-token, is ignored with a warning", () => {
  const loaded = load("org: acme\nbuildkite-token: t\nintegration-test-buildkite-token: xyz\n");
  expect(loaded.warnings).toEqual([
    "integration-test-buildkite-token (in file config.yaml:3) is ignored: upstream reads it only in its own integration tests; the launcher's token is buildkite-token",
  ]);
});

test("keys nobody knows are still refused, with a did-you-mean", () => {
  expect(() => load("max-inflight: 3\n")).toThrow(
    /unknown configuration key "max-inflight" .*did you mean "max-in-flight"\?/,
  );
});

test("render and lint print a configuration warning in the commands' format", async () => {
  const files = { "c.yaml": "integration-test-buildkite-token: x\n", "p.yaml": "steps:\n  - command: x\n" };
  for (const args of [
    ["render", "--pipeline", "p.yaml"],
    ["lint", "p.yaml"],
  ]) {
    const result = await run([...args, "--config", "c.yaml"], files);
    expect(result.status).toBe(0);
    expect(result.stderr).toBe(
      `agent-stack-k8s ${args[0]}: warning: integration-test-buildkite-token (in file c.yaml:1) is ignored: upstream reads it only in its own integration tests; the launcher's token is buildkite-token\n`,
    );
  }
});
