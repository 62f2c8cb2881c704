/**
 * job-source graphql with `cluster-uuid` empty, end to end: the agent token says which queue to poll.
 * A cluster token: its cluster. An unclustered token: the unclustered queue, on purpose, said in one log
 * line. A token that cannot be read: the launcher does not start and names the keys to set.
 */
import { afterEach, expect, test } from "vitest";
import { clusterGraphqlId } from "../../launcher/buildkite/graphql-job-source.ts";
import { FAKE_AGENT_TOKEN_CLUSTER } from "../fakes/buildkite/fake-buildkite.ts";
import { eventually } from "../webhook/harness.ts";
import {
  AGENT_TOKEN_SECRET,
  addJob,
  type Fakes,
  JOB_SOURCE_MODES,
  NS,
  startFakes,
  startLauncher,
  uuidsInCluster,
} from "./harness.ts";

const GRAPHQL = JOB_SOURCE_MODES.find((mode) => mode.name === "graphql")!;
let fakes: Fakes | undefined;

afterEach(async () => {
  await fakes?.close();
  fakes = undefined;
});

function pollsOf(running: Fakes): Array<{ operation: string; cluster: unknown }> {
  return running.buildkite.calls
    .filter((call) => call.operation.startsWith("GetScheduledJobs"))
    .map((call) => ({ operation: call.operation, cluster: call.variables?.cluster }));
}

test("a cluster agent token: the launcher polls its cluster's queue", async () => {
  fakes = await startFakes();
  const clustered = addJob(fakes);
  const unclustered = fakes.buildkite.addJob({});
  const launcher = startLauncher(fakes, GRAPHQL);
  try {
    await eventually(
      "the cluster's job has its Job",
      () => uuidsInCluster(fakes!).has(clustered.uuid),
      20_000,
    );
  } finally {
    expect(await launcher.stop()).toBe(0);
  }
  expect(uuidsInCluster(fakes)).toEqual(new Set([clustered.uuid]));
  expect(fakes.buildkite.job(unclustered.uuid)?.state).toBe("SCHEDULED");
  expect(new Set(pollsOf(fakes).map((poll) => JSON.stringify(poll)))).toEqual(
    new Set([
      JSON.stringify({
        operation: "GetScheduledJobsClustered",
        cluster: clusterGraphqlId(FAKE_AGENT_TOKEN_CLUSTER),
      }),
    ]),
  );
  expect(launcher.logs()).toContain("cluster-uuid is empty: polling the agent token's cluster");
});

test("an unclustered agent token: the unclustered queue, on purpose, said in one log line", async () => {
  fakes = await startFakes({ agentTokenCluster: null });
  const unclustered = fakes.buildkite.addJob({});
  const launcher = startLauncher(fakes, GRAPHQL);
  try {
    await eventually("the job has its Job", () => uuidsInCluster(fakes!).has(unclustered.uuid), 20_000);
  } finally {
    expect(await launcher.stop()).toBe(0);
  }
  expect(new Set(pollsOf(fakes).map((poll) => poll.operation))).toEqual(new Set(["GetScheduledJobs"]));
  const lines = launcher.records().filter((line) => String(line.msg).includes("unclustered queue"));
  expect(lines.map((line) => line.msg)).toEqual([
    "cluster-uuid is empty and the agent token belongs to no cluster: polling the organization's unclustered queue (an install without clusters); for a cluster's jobs, use a cluster agent token, or set cluster-uuid",
  ]);
});

test("an agent token that cannot be read: the launcher does not start, and names the keys to set", async () => {
  fakes = await startFakes();
  fakes.kubernetes.remove("v1", "Secret", NS, AGENT_TOKEN_SECRET);
  const launcher = startLauncher(fakes, GRAPHQL);
  expect(await launcher.exit).toBe(1);
  expect(launcher.logs()).toContain(
    `agent-stack-k8s launcher: cluster-uuid is empty and the agent token's cluster cannot be read (the agent token Secret ${NS}/${AGENT_TOKEN_SECRET} does not exist): set cluster-uuid to the UUID of the Buildkite cluster whose queue the launcher polls, or make the token readable (agent-token-secret ${AGENT_TOKEN_SECRET}, key BUILDKITE_AGENT_TOKEN, in namespace ${NS}; agent-config.endpoint for Buildkite's Agent API)`,
  );
  expect(pollsOf(fakes)).toEqual([]);
});
