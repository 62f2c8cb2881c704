/** Polling Buildkite's GraphQL API for the queue's scheduled jobs, job states and cancellation. */
import { afterEach, beforeEach, expect, test } from "vitest";
import { BuildkiteGraphqlClient } from "../../../launcher/buildkite/graphql-client.ts";
import {
  clusterGraphqlId,
  GraphqlJobSource,
  InvalidOrganizationError,
  isFatalJobSourceError,
  type JobSourceConfig,
} from "../../../launcher/buildkite/graphql-job-source.ts";
import { isAgentStackError } from "../../../src/errors.ts";
import { type FakeBuildkite, startFakeBuildkite } from "../../fakes/buildkite/fake-buildkite.ts";
import { type CapturedLogger, captureLogger } from "./helpers.ts";

let fake: FakeBuildkite;
let log: CapturedLogger;
const signal = new AbortController().signal;

beforeEach(async () => {
  fake = await startFakeBuildkite();
  log = captureLogger();
});

afterEach(async () => {
  await fake.close();
});

const CLUSTER = "0a1b2c3d-0000-4000-8000-00000000c1c1";

function source(config: Partial<JobSourceConfig> = {}): GraphqlJobSource {
  return new GraphqlJobSource({
    client: new BuildkiteGraphqlClient({
      endpoint: fake.graphqlUrl,
      token: fake.apiToken,
      timeoutMs: 5_000,
      logger: log.logger,
      logPayloads: false,
    }),
    config: {
      org: fake.org,
      clusterUuid: "",
      tags: ["queue=kubernetes"],
      queue: "",
      graphqlResultsLimit: 100,
      paginationDepthLimit: 1,
      enableQueuePause: false,
      jobPrefix: "buildkite-",
      ...config,
    },
    logger: log.logger,
  });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error,
  );
}

test("unclustered: GetScheduledJobs for queue=<queue> returns the queue's unclustered scheduled command jobs", async () => {
  const job = fake.addJob({
    agentQueryRules: ["queue=kubernetes", "os=linux"],
    env: ["A=1", "BUILDKITE_PLUGINS=[]"],
    command: "make test",
    priority: 3,
  });
  fake.addJob({ agentQueryRules: ["queue=kubernetes"], cluster: CLUSTER });
  fake.addJob({ agentQueryRules: ["queue=other"] });
  fake.addJob({ agentQueryRules: ["queue=kubernetes"], state: "RUNNING" });

  expect(await source().scheduledJobs(signal)).toEqual([
    {
      uuid: job.uuid,
      command: "make test",
      env: ["A=1", "BUILDKITE_PLUGINS=[]"],
      agentQueryRules: ["queue=kubernetes", "os=linux"],
      priority: { number: 3 },
    },
  ]);
  expect(fake.calls.map((call) => [call.operation, call.variables])).toEqual([
    ["GetScheduledJobs", { slug: fake.org, agentQueryRules: ["queue=kubernetes"], last: 100, cursor: null }],
  ]);
});

test("the queue key wins over the queue tag", async () => {
  const job = fake.addJob({ agentQueryRules: ["queue=special"] });
  const jobs = await source({ queue: "special" }).scheduledJobs(signal);
  expect(jobs.map((found) => found.uuid)).toEqual([job.uuid]);
});

test("without a queue key or queue tag the source refuses to start", () => {
  expect(() => source({ tags: ["os=linux"] })).toThrow(/missing required tag: queue/);
});

test("clustered: GetScheduledJobsClustered with the cluster's GraphQL ID returns only the cluster's jobs", async () => {
  fake.addJob({ agentQueryRules: ["queue=kubernetes"] });
  const clustered = fake.addJob({ agentQueryRules: ["queue=kubernetes"], cluster: CLUSTER });
  fake.addJob({ agentQueryRules: ["queue=kubernetes"], cluster: "another-cluster" });

  const jobs = await source({ clusterUuid: CLUSTER }).scheduledJobs(signal);
  expect(jobs.map((job) => job.uuid)).toEqual([clustered.uuid]);
  expect(clusterGraphqlId(CLUSTER)).toBe(Buffer.from(`Cluster---${CLUSTER}`).toString("base64"));
  expect(fake.calls.map((call) => [call.operation, call.variables])).toEqual([
    [
      "GetScheduledJobsClustered",
      {
        slug: fake.org,
        agentQueryRules: ["queue=kubernetes"],
        cluster: clusterGraphqlId(CLUSTER),
        last: 100,
        cursor: null,
      },
    ],
  ]);
});

test("pages go from the oldest jobs toward newer ones, up to pagination-depth-limit pages; the list is oldest first", async () => {
  const created = Array.from({ length: 5 }, () => fake.addJob().uuid);

  const twoPages = await source({ graphqlResultsLimit: 2, paginationDepthLimit: 2 }).scheduledJobs(signal);
  expect(twoPages.map((job) => job.uuid)).toEqual(created.slice(0, 4));
  const cursors = fake.calls.map((call) => call.variables?.cursor);
  expect(cursors[0]).toBeNull();
  expect(typeof cursors[1]).toBe("string");
  expect(fake.calls).toHaveLength(2);

  fake.clearCalls();
  const all = await source({ graphqlResultsLimit: 2, paginationDepthLimit: 20 }).scheduledJobs(signal);
  expect(all.map((job) => job.uuid)).toEqual(created);
  // The third page has no previous page: the walk ends there, well before the limit.
  expect(fake.calls).toHaveLength(3);
});

test("enable-queue-pause: a paused cluster queue fails the poll without asking for jobs", async () => {
  fake.addCluster(CLUSTER, [{ key: "kubernetes", dispatchPaused: true }, { key: "other" }]);
  fake.addJob({ cluster: CLUSTER });
  const paused = source({ clusterUuid: CLUSTER, enableQueuePause: true });
  const error = await rejection(paused.scheduledJobs(signal));
  expect(isAgentStackError(error, "ASK_BUILDKITE_QUEUE_PAUSED")).toBe(true);
  expect((error as Error).message).toBe('the queue "kubernetes" is paused');
  expect(isFatalJobSourceError(error)).toBe(false);
  expect(fake.calls.map((call) => [call.operation, call.variables])).toEqual([
    ["GetClusterQueues", { slug: fake.org, cluster: clusterGraphqlId(CLUSTER), first: 100 }],
  ]);

  fake.setQueuePaused(CLUSTER, "kubernetes", false);
  expect(await paused.scheduledJobs(signal)).toHaveLength(1);
});

test("enable-queue-pause: a failing queue query says so", async () => {
  fake.failNext(1, 503, (_kind, operation) => operation === "GetClusterQueues");
  const error = await rejection(
    source({ clusterUuid: CLUSTER, enableQueuePause: true }).scheduledJobs(signal),
  );
  expect((error as Error).message).toMatch(
    /^failed to fetch cluster queues: GetClusterQueues: returned error 503/,
  );
});

test("enable-queue-pause is for clustered launchers only", async () => {
  fake.addJob();
  expect(await source({ enableQueuePause: true }).scheduledJobs(signal)).toHaveLength(1);
  expect(fake.calls.map((call) => call.operation)).toEqual(["GetScheduledJobs"]);
});

test("an organization the token cannot see is a fatal invalid organization", async () => {
  const error = await rejection(source({ org: "not-ours" }).scheduledJobs(signal));
  expect(error).toBeInstanceOf(InvalidOrganizationError);
  expect((error as Error).message).toBe('invalid organization: "not-ours"');
  expect(isAgentStackError(error, "ASK_BUILDKITE_INVALID_ORGANIZATION")).toBe(true);
  expect(isFatalJobSourceError(error)).toBe(true);
});

test("a malformed job is logged with its uuid and skipped; the rest of the poll goes on", async () => {
  const before = fake.addJob();
  const malformed = fake.addJob({ env: ["NO_EQUALS_SIGN"] });
  const badUuid = fake.addJob({ uuid: "NOT A UUID" });
  const after = fake.addJob();
  const jobs = await source().scheduledJobs(signal);
  expect(jobs.map((job) => job.uuid)).toEqual([before.uuid, after.uuid]);
  const warnings = log.records().filter((record) => record.level === "warn");
  expect(warnings.map((record) => record.jobUuid)).toEqual([malformed.uuid, badUuid.uuid]);
  expect(String(warnings[0]?.err)).toContain("$.env[0]");
});

test("null env, command, rules and priority read as empty", async () => {
  const job = fake.addJob({ env: null, command: null, priority: null });
  // Its rules must name the queue to be found, so only the others are null here.
  expect(await source().scheduledJobs(signal)).toEqual([
    { uuid: job.uuid, command: "", env: [], agentQueryRules: ["queue=kubernetes"], priority: { number: 0 } },
  ]);
});

test("errors from Buildkite reach the caller as they are", async () => {
  fake.failNext(1, 500);
  const error = await rejection(source().scheduledJobs(signal));
  expect(isAgentStackError(error, "ASK_BUILDKITE_GRAPHQL_REQUEST")).toBe(true);
  expect(isFatalJobSourceError(error)).toBe(false);
});

test("jobState: the state of a command job, undefined for another type of job or an unknown uuid", async () => {
  const running = fake.addJob({ state: "RUNNING" });
  const wait = fake.addJob({ type: "WAIT" });
  const jobs = source();
  expect(await jobs.jobState(running.uuid, signal)).toBe("RUNNING");
  fake.setState(running.uuid, "CANCELING");
  expect(await jobs.jobState(running.uuid, signal)).toBe("CANCELING");
  expect(await jobs.jobState(wait.uuid, signal)).toBeUndefined();
  expect(await jobs.jobState("01900000-0000-4000-8000-ffffffffffff", signal)).toBeUndefined();
  expect(fake.calls.map((call) => call.operation)).toEqual([
    "GetCommandJob",
    "GetCommandJob",
    "GetCommandJob",
    "GetCommandJob",
  ]);
});

test("cancelJob cancels through CancelCommandJob with the raw uuid and the Job's name", async () => {
  const job = fake.addJob({ state: "ASSIGNED" });
  await source().cancelJob(job.uuid, signal);
  expect(fake.job(job.uuid)?.state).toBe("CANCELED");
  expect(fake.calls.map((call) => [call.operation, call.variables])).toEqual([
    ["CancelCommandJob", { input: { clientMutationId: `buildkite-${job.uuid}`, id: job.uuid } }],
  ]);
});

test("cancelling a finished job is an error with Buildkite's message", async () => {
  const job = fake.addJob({ state: "FINISHED" });
  const error = await rejection(source().cancelJob(job.uuid, signal));
  expect(isAgentStackError(error, "ASK_BUILDKITE_GRAPHQL_ERRORS")).toBe(true);
  expect((error as Error).message).toMatch(/^CancelCommandJob: Job can't be canceled/);
});

test("the source remembers when Buildkite scheduled each job of the latest poll", async () => {
  const job = fake.addJob({ scheduledAt: "2026-11-23T10:00:00.000Z" });
  const jobs = source();
  await jobs.scheduledJobs(signal);
  expect(jobs.scheduledAt(job.uuid)).toBe(Date.parse("2026-11-23T10:00:00.000Z"));
  expect(jobs.scheduledAt("00000000-0000-4000-8000-000000000000")).toBeUndefined();
});

test("the states of many jobs come in one request per hundred, unknown uuids as undefined", async () => {
  const jobs = Array.from({ length: 150 }, (_, i) =>
    fake.addJob({ state: i % 2 === 0 ? "SCHEDULED" : "CANCELED" }),
  );
  fake.clearCalls();
  const unknown = "00000000-0000-4000-8000-000000000000";
  const states = await source().jobStates([...jobs.map((job) => job.uuid), unknown], signal);
  expect(states.get(jobs[0]!.uuid)).toBe("SCHEDULED");
  expect(states.get(jobs[1]!.uuid)).toBe("CANCELED");
  expect(states.has(unknown) && states.get(unknown) === undefined).toBe(true);
  expect(fake.calls.filter((call) => call.kind === "graphql").length).toBe(2);
});
