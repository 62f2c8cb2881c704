/** `job-source`: the Stacks API unless an API token says GraphQL; an explicit choice wins. */
import { expect, test } from "vitest";
import { CONFIG_PATH, load, problemOf } from "./helpers.ts";

test("empty: graphql when buildkite-token is set, otherwise stacks", () => {
  expect(load().config.jobSource).toBe("stacks");
  expect(load({ env: { BUILDKITE_TOKEN: "bkua_x" } }).config.jobSource).toBe("graphql");
});

test("an explicit value wins over the token, from the file, the environment or a flag", () => {
  expect(load({ env: { BUILDKITE_TOKEN: "bkua_x", JOB_SOURCE: "stacks" } }).config.jobSource).toBe("stacks");
  expect(load({ file: "job-source: graphql\n" }).config.jobSource).toBe("graphql");
  expect(load({ args: ["--job-source=stacks"], file: "buildkite-token: t\n" }).config.jobSource).toBe(
    "stacks",
  );
});

test("anything else is refused, naming the choices", () => {
  const problem = problemOf({ file: "job-source: rest\n" });
  expect(problem.key).toBe("job-source");
  expect(problem.message).toContain(CONFIG_PATH);
  expect(problem.message).toContain("stacks");
  expect(problem.message).toContain("graphql");
});

test("stacks needs no queue (the cluster's default queue); graphql still does", () => {
  const env = { TAGS: "os=linux" };
  expect(
    load({ subcommand: "launcher", env: { ...env, JOB_SOURCE: "stacks", ORG: "a", BUILDKITE_TOKEN: "t" } })
      .config.queue,
  ).toBe("");
  expect(
    problemOf({ subcommand: "launcher", env: { ...env, ORG: "a", BUILDKITE_TOKEN: "t" } }).message,
  ).toContain("missing required tag: queue");
});
