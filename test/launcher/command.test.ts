/** `agent-stack-k8s launcher`: what it needs to start, and how it ends. */
import { expect, test } from "vitest";
import { main } from "../../cli/main.ts";
import { launcherCommand } from "../../launcher/command.ts";
import type { CommandIo } from "../../runtime/command-io.ts";
import { startFakeBuildkite } from "../fakes/buildkite/fake-buildkite.ts";
import { startFakeKubernetes } from "../fakes/kubernetes-api.ts";

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

test("without an organization and a token it does not start: exit 2 naming both", async () => {
  const { io: commandIo, output } = io();
  expect(await main(["launcher"], commandIo)).toBe(2);
  expect(output()).toContain("org");
  expect(output()).toContain("buildkite-token");
});

test("--help lists its flags and the keys it uses", async () => {
  const { io: commandIo, output } = io();
  expect(await main(["launcher", "--help"], commandIo)).toBe(0);
  for (const flag of ["--port", "--org", "--max-in-flight", "--poll-interval", "--tags"])
    expect(output()).toContain(flag);
});

test("an organization the token cannot see stops it: exit 1 with the reason", async () => {
  const buildkite = await startFakeBuildkite();
  const kubernetes = await startFakeKubernetes();
  try {
    const { io: commandIo, output } = io({
      BUILDKITE_TOKEN: buildkite.apiToken,
      ORG: "no-such-org",
      GRAPHQL_ENDPOINT: buildkite.graphqlUrl,
    });
    const status = await launcherCommand(["--port", "0", "--log-format", "json"], commandIo, {
      kubeConfig: kubernetes.kubeConfig(),
    });
    expect(status).toBe(1);
    expect(output()).toContain('invalid organization: "no-such-org"');
  } finally {
    await kubernetes.close();
    await buildkite.close();
  }
});
