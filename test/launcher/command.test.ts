/** `agent-stack-k8s launcher`: what it needs to start, and how it ends. */
import { expect, test } from "vitest";
import { main } from "../../cli/main.ts";
import type { CommandIo } from "../../runtime/command-io.ts";
import { startFakes, startLauncher } from "./harness.ts";

function io(env: Record<string, string> = {}) {
  let out = "";
  const value: CommandIo = {
    stdout: (text) => {
      out += text;
    },
    stderr: (text) => {
      out += text;
    },
    readInput: () => {
      throw new Error("no files here");
    },
    env,
  };
  return { io: value, output: () => out };
}

test("job-source graphql without an organization and a token does not start: exit 2 naming both", async () => {
  const { io: commandIo, output } = io({ JOB_SOURCE: "graphql" });
  expect(await main(["launcher"], commandIo)).toBe(2);
  expect(output()).toContain(
    'org: "" (from default) is empty, but job-source is graphql (from env JOB_SOURCE)',
  );
  expect(output()).toContain("buildkite-token");
});

test("--help lists its flags and the keys it uses, and says how the job source is chosen", async () => {
  const { io: commandIo, output } = io();
  expect(await main(["launcher", "--help"], commandIo)).toBe(0);
  for (const flag of ["--port", "--org", "--job-source", "--max-in-flight", "--poll-interval", "--tags"])
    expect(output()).toContain(flag);
  expect(output()).toContain(
    "Job source: stacks (Buildkite's Stacks API, with the agent token of agent-token-secret alone), unless\nbuildkite-token is set: then graphql",
  );
});

test("an organization the token cannot see stops it: exit 1 with the reason", async () => {
  const fakes = await startFakes();
  try {
    const launcher = startLauncher(fakes, {
      config: (buildkite) => ["org: no-such-org", `graphql-endpoint: ${buildkite.graphqlUrl}`],
      env: (buildkite) => ({ BUILDKITE_TOKEN: buildkite.apiToken }),
    });
    expect(await launcher.exit).toBe(1);
    expect(launcher.logs()).toContain('invalid organization: "no-such-org"');
  } finally {
    await fakes.close();
  }
});
