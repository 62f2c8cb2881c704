/**
 * The Stacks API job source against the fake: list, normalise and filter, reserve, fetch details, and
 * the jobs in the shape the GraphQL source gives them; the jobs held across polls and let go; room,
 * pagination and its cursor, pause, `Retry-After`, what stops the launcher; job states for the watchers.
 */
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { BuildkiteGraphqlClient } from "../../../launcher/buildkite/graphql-client.ts";
import { GraphqlJobSource } from "../../../launcher/buildkite/graphql-job-source.ts";
import { connectStack, type StackSession } from "../../../launcher/buildkite/stack-session.ts";
import {
  isFatalStacksError,
  StacksJobSource,
  type StacksJobSourceConfig,
  type StacksJobSourceOptions,
} from "../../../launcher/buildkite/stacks-job-source.ts";
import type { JobSource } from "../../../launcher/types.ts";
import { serializeJob } from "../../../src/admission/skeleton.ts";
import { isAgentStackError } from "../../../src/errors.ts";
import {
  FAKE_AGENT_TOKEN_CLUSTER,
  type FakeBuildkite,
  type FakeFailure,
  startFakeBuildkite,
} from "../../fakes/buildkite/fake-buildkite.ts";
import {
  type CapturedLogger,
  captureLogger,
  type InstantClock,
  instantClock,
  rejection,
  stacksClient,
} from "./helpers.ts";

let fake: FakeBuildkite;
let log: CapturedLogger;
let clock: InstantClock;
const signal = new AbortController().signal;
const SECOND = 1_000_000_000;

beforeEach(async () => {
  fake = await startFakeBuildkite();
  log = captureLogger();
  clock = instantClock({ random: 0 });
});

afterEach(async () => {
  await fake.close();
});

const CONFIG: StacksJobSourceConfig = {
  tags: ["queue=kubernetes"],
  queue: "kubernetes",
  paginationPageSize: 1000,
  paginationDepthLimit: 1,
  queryResetInterval: 10 * SECOND,
  reservationExpirySeconds: 0,
  enableQueuePause: false,
  jobCreationConcurrency: 5,
  workQueueLimit: 1_000_000,
};

async function source(
  config: Partial<StacksJobSourceConfig> = {},
  options: Partial<StacksJobSourceOptions> = {},
): Promise<StacksJobSource> {
  const client = stacksClient(fake, log.logger, { clock });
  const merged = { ...CONFIG, ...config };
  const session: StackSession = await connectStack(
    {
      client,
      config: { ...merged, id: "my-stack", namespace: "buildkite", agentTokenSecret: "agent-token" },
      logger: log.logger,
    },
    signal,
  );
  fake.clearCalls();
  return new StacksJobSource({ client, session, config: merged, logger: log.logger, clock, ...options });
}

function job(input: Parameters<FakeBuildkite["addJob"]>[0] = {}) {
  return fake.addJob({ cluster: FAKE_AGENT_TOKEN_CLUSTER, ...input });
}

function operations(): string[] {
  return fake.calls.map((call) => call.operation);
}

function failNext(count: number, failure: FakeFailure, operation: string): void {
  fake.failNext(count, failure, (kind, name) => kind === "agent" && name === operation);
}

async function uuids(stacks: StacksJobSource): Promise<string[]> {
  return (await stacks.scheduledJobs(signal)).map((found) => found.uuid);
}

describe("a poll", () => {
  test("reservedJobs: every job held, details fetched for those still missing them; nothing listed or reserved", async () => {
    const jobs = Array.from({ length: 3 }, () => job());
    const stacks = await source();
    // Buildkite does not answer for the details (5 attempts each): the jobs stay held without them.
    failNext(15, 503, "get job");
    expect(await uuids(stacks)).toEqual([]);
    fake.clearCalls();
    const reserved = await stacks.reservedJobs(signal);
    expect(reserved.map((found) => found.uuid)).toEqual(jobs.map((found) => found.uuid));
    expect(new Set(operations())).toEqual(new Set(["get job"]));
  });

  test("while details are fetched, the jobs ready so far are handed on early; the poll's list has them all", async () => {
    const jobs = Array.from({ length: 6 }, () => job());
    const stacks = await source({}, { detailsConcurrency: 1 });
    const early: string[][] = [];
    const all = await stacks.scheduledJobs(signal, (ready) => early.push(ready.map((found) => found.uuid)));
    // The test's clock does not move: one early hand-on, right after the first job's details came.
    expect(early).toEqual([[jobs[0]?.uuid]]);
    expect(all.map((found) => found.uuid)).toEqual(jobs.map((found) => found.uuid));
  });

  test("lists, reserves and fetches details: the jobs come out exactly as the GraphQL source gives them", async () => {
    const plugins = JSON.stringify([
      { "github.com/buildkite-plugins/kubernetes-buildkite-plugin": { podSpec: {} } },
    ]);
    const first = job({
      priority: 3,
      command: "make test",
      env: [`BUILDKITE_PLUGINS=${plugins}`, "BUILDKITE_BUILD_URL=https://buildkite.com/o/p/builds/1"],
      agentQueryRules: ["queue=kubernetes", "os=linux"],
    });
    const second = job({ command: "", env: [] });
    const graphql = new GraphqlJobSource({
      client: new BuildkiteGraphqlClient({
        endpoint: fake.graphqlUrl,
        token: fake.apiToken,
        timeoutMs: 5_000,
        logger: log.logger,
        logPayloads: false,
      }),
      config: {
        org: fake.org,
        clusterUuid: FAKE_AGENT_TOKEN_CLUSTER,
        tags: ["queue=kubernetes", "os=linux"],
        queue: "kubernetes",
        graphqlResultsLimit: 100,
        paginationDepthLimit: 1,
        enableQueuePause: false,
        jobPrefix: "buildkite-",
      },
      logger: log.logger,
    });
    const fromGraphql = await graphql.scheduledJobs(signal);
    fake.clearCalls();

    const stacks = await source({ tags: ["queue=kubernetes", "os=linux"] });
    const fromStacks = await stacks.scheduledJobs(signal);
    expect(fromStacks.map((found) => found.uuid)).toEqual([first.uuid, second.uuid]);
    expect(fromStacks.map(serializeJob)).toEqual(
      [first.uuid, second.uuid].map((uuid) =>
        serializeJob(fromGraphql.find((found) => found.uuid === uuid) as never),
      ),
    );
    expect(operations()).toEqual(["list scheduled jobs", "batch reserve jobs", "get job", "get job"]);
    expect(fake.job(first.uuid)).toMatchObject({ state: "RESERVED", reservedBy: "my-stack" });
    expect(stacks.scheduledAt(first.uuid)).toBe(Date.parse(first.scheduledAt));
  });

  test("only jobs whose every rule is a tag of the launcher are reserved (resource_class aside)", async () => {
    const windows = job({ agentQueryRules: ["queue=kubernetes", "os=windows"] });
    const sized = job({ agentQueryRules: ["queue=kubernetes", "resource_class=large"] });
    const any = job({ agentQueryRules: ["queue=kubernetes", "os=*"] });
    const stacks = await source({ tags: ["queue=kubernetes", "os=linux"] });
    expect(await uuids(stacks)).toEqual([sized.uuid, any.uuid]);
    expect(fake.job(windows.uuid)?.state).toBe("SCHEDULED");
  });

  test("on the default queue the queue rule goes; elsewhere it is the configured queue", async () => {
    const plain = job({ agentQueryRules: ["os=linux"] });
    const named = job({ agentQueryRules: ["queue=_default", "os=linux"] });
    const onDefault = await source({ queue: "", tags: ["os=linux"] });
    const found = await onDefault.scheduledJobs(signal);
    expect(found.map((entry) => [entry.uuid, entry.agentQueryRules])).toEqual([
      [plain.uuid, ["os=linux"]],
      [named.uuid, ["os=linux"]],
    ]);
    expect(fake.stack("my-stack")).toMatchObject({ queueKey: "_default", clusterQueueKey: "default" });
  });

  test("a job whose details cannot be had is held and tried at the next poll; one that is gone is let go", async () => {
    const slow = job();
    const gone = job();
    const stacks = await source({}, { detailsConcurrency: 1 });
    failNext(5, 500, "get job");
    failNext(1, { status: 404, message: "Job not found" }, "get job");
    // The first job meets five 500s (its whole budget) and waits; the second a 404, and is let go.
    expect(await uuids(stacks)).toEqual([]);
    // Upstream's budget for details: ExponentialSubsecond(1 s) with a jitter of ±1 s (here at its lowest).
    expect(clock.sleeps).toEqual([0, 539, 1_371, 2_651]);
    expect(log.text()).toContain("fetching the job's details failed: trying again at the next poll");
    expect(log.text()).toContain("letting go of it");
    const second = await uuids(stacks);
    expect(second).toEqual([slow.uuid]);
    expect(fake.job(gone.uuid)?.state).toBe("RESERVED");
    expect(stacks.held()).toEqual(second);
  });
});

describe("held jobs", () => {
  test("come back on every poll while reserved, without being reserved or fetched again", async () => {
    const held = job();
    const stacks = await source();
    expect(await uuids(stacks)).toEqual([held.uuid]);
    fake.clearCalls();
    expect(await uuids(stacks)).toEqual([held.uuid]);
    expect(operations()).toEqual(["get job states", "list scheduled jobs"]);
  });

  test("are let go once an agent has them, they end, or the cluster has their Job", async () => {
    const [taken, ended, created] = [job(), job(), job()];
    const inCluster = new Set<string>();
    const stacks = await source({}, { clusterHas: (uuid) => inCluster.has(uuid) });
    expect(await uuids(stacks)).toHaveLength(3);
    fake.setState(taken.uuid, "ACCEPTED");
    fake.setState(ended.uuid, "CANCELED");
    inCluster.add(created.uuid);
    expect(await uuids(stacks)).toEqual([]);
    expect(stacks.held()).toEqual([]);
  });

  test("a lapsed reservation is let go, and the job reserved again when it is listed", async () => {
    const lapsing = job();
    const stacks = await source({ reservationExpirySeconds: 60 });
    await uuids(stacks);
    fake.advanceTime(61_000);
    expect(fake.job(lapsing.uuid)?.state).toBe("SCHEDULED");
    fake.clearCalls();
    expect(await uuids(stacks)).toEqual([lapsing.uuid]);
    expect(operations()).toEqual(["get job states", "list scheduled jobs", "batch reserve jobs", "get job"]);
  });

  test("are let go before their reservation's time is up, by the source's own clock", async () => {
    const held = job();
    const stacks = await source({ reservationExpirySeconds: 60 });
    await uuids(stacks);
    await clock.sleep(56_000, signal);
    expect(await uuids(stacks)).toEqual([]);
    // Still reserved on Buildkite, so not listed: it comes back when the reservation lapses.
    fake.advanceTime(61_000);
    expect(await uuids(stacks)).toEqual([held.uuid]);
  });
});

describe("room", () => {
  test("with reserveLimit only as many jobs as the launcher can start are reserved, highest priority first", async () => {
    const low = job({ priority: 1 });
    const high = job({ priority: 9 });
    let room = 1;
    const stacks = await source({}, { reserveLimit: () => room });
    expect(await uuids(stacks)).toEqual([high.uuid]);
    expect(fake.job(low.uuid)?.state).toBe("SCHEDULED");
    // The held job counts: still no room for the other.
    expect(await uuids(stacks)).toEqual([high.uuid]);
    room = 2;
    expect(await uuids(stacks)).toEqual([high.uuid, low.uuid]);
  });

  test("work-queue-limit bounds what is held", async () => {
    job();
    job();
    const stacks = await source({ workQueueLimit: 1 });
    expect(await uuids(stacks)).toHaveLength(1);
    expect(await uuids(stacks)).toHaveLength(1);
  });
});

describe("the list", () => {
  test("pages up to pagination-depth-limit, then goes on from its cursor at the next poll", async () => {
    const jobs = Array.from({ length: 5 }, (_, index) =>
      job({ scheduledAt: `2025-01-0${index + 1}T00:00:00Z` }),
    );
    const stacks = await source({ paginationPageSize: 2, paginationDepthLimit: 2 });
    expect(await uuids(stacks)).toEqual(jobs.slice(0, 4).map((listed) => listed.uuid));
    fake.clearCalls();
    expect(await uuids(stacks)).toEqual(jobs.map((listed) => listed.uuid));
    const listed = fake.calls.filter((call) => call.operation === "list scheduled jobs");
    expect(listed).toHaveLength(1);
    expect(listed[0]?.url).toContain("&after=");
  });

  test("the cursor walks past a queue full of other stacks' jobs; upstream's reset on every poll would not", async () => {
    for (let index = 0; index < 4; index++) {
      job({
        agentQueryRules: ["queue=kubernetes", "os=windows"],
        scheduledAt: `2025-01-0${index + 1}T00:00:00Z`,
      });
    }
    const mine = job({ scheduledAt: "2025-01-09T00:00:00Z" });
    const walking = await source({ paginationPageSize: 2, paginationDepthLimit: 2 });
    expect(await uuids(walking)).toEqual([]);
    expect(await uuids(walking)).toEqual([mine.uuid]);

    fake.setState(mine.uuid, "SCHEDULED");
    const resetting = await source({ paginationPageSize: 2, paginationDepthLimit: 2, queryResetInterval: 0 });
    expect(await uuids(resetting)).toEqual([]);
    expect(await uuids(resetting)).toEqual([]);
  });

  test("the cursor starts over when jobs were left behind for want of room", async () => {
    const jobs = Array.from({ length: 3 }, (_, index) =>
      job({ scheduledAt: `2025-01-0${index + 1}T00:00:00Z` }),
    );
    let room = 1;
    const stacks = await source({ paginationPageSize: 2 }, { reserveLimit: () => room });
    expect(await uuids(stacks)).toEqual([jobs[0]?.uuid]);
    room = 3;
    fake.clearCalls();
    expect(await uuids(stacks)).toEqual(jobs.map((listed) => listed.uuid).slice(0, 3));
    expect(fake.calls.find((call) => call.operation === "list scheduled jobs")?.url).not.toContain("after=");
  });

  test("enable-queue-pause: nothing is reserved while the cluster queue is paused", async () => {
    const waiting = job();
    fake.setQueuePaused(FAKE_AGENT_TOKEN_CLUSTER, "kubernetes", true);
    const pausing = await source({ enableQueuePause: true });
    expect(await uuids(pausing)).toEqual([]);
    expect(fake.job(waiting.uuid)?.state).toBe("SCHEDULED");
    const ignoring = await source();
    expect(await uuids(ignoring)).toEqual([waiting.uuid]);
  });

  test("Retry-After on the list delays the next poll", async () => {
    const stacks = await source();
    failNext(1, { status: 429, retryAfter: "3" }, "list scheduled jobs");
    const error = await rejection(stacks.scheduledJobs(signal));
    expect(isFatalStacksError(error)).toBe(false);
    await stacks.scheduledJobs(signal);
    expect(clock.sleeps).toEqual([3_000]);
  });

  test("a permanent refusal of the list stops the launcher; an outage or a failed reserve does not", async () => {
    const stacks = await source();
    failNext(1, 503, "list scheduled jobs");
    expect(isFatalStacksError(await rejection(stacks.scheduledJobs(signal)))).toBe(false);
    failNext(1, { status: 404, message: "Stack not found" }, "list scheduled jobs");
    const fatal = await rejection(stacks.scheduledJobs(signal));
    expect(isFatalStacksError(fatal)).toBe(true);
    expect(fatal.message).toMatch(/^list scheduled jobs: GET .*: 404 Stack not found$/);

    const waiting = job();
    failNext(1, { status: 422, message: "nope" }, "batch reserve jobs");
    expect(await uuids(stacks)).toEqual([]);
    expect(log.text()).toContain("reserving scheduled jobs failed");
    expect(await uuids(stacks)).toEqual([waiting.uuid]);
  });
});

describe("job states", () => {
  test("lower-case states become the launcher's; an unknown job is undefined; an unknown state is no answer", async () => {
    const [reserved, canceling] = [job({ state: "RESERVED" }), job({ state: "CANCELING" })];
    const stacks = await source();
    const weird: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const body = (await response.json()) as { states: Record<string, string> };
      body.states[canceling.uuid] = "teleported";
      return new Response(JSON.stringify(body), { status: response.status });
    };
    expect([...(await stacks.jobStates([reserved.uuid, canceling.uuid, "unknown"], signal))]).toEqual([
      [reserved.uuid, "RESERVED"],
      [canceling.uuid, "CANCELING"],
      ["unknown", undefined],
    ]);
    expect(await stacks.jobState(reserved.uuid, signal)).toBe("RESERVED");
    expect(await stacks.jobState("unknown", signal)).toBeUndefined();

    const odd = new StacksJobSource({
      client: stacksClient(fake, log.logger, { fetch: weird }),
      session: {
        key: "my-stack",
        queueKey: "kubernetes",
        clusterQueueKey: "kubernetes",
        clusterUuid: "",
        organizationSlug: "",
      },
      config: CONFIG,
      logger: log.logger,
    });
    expect([...(await odd.jobStates([reserved.uuid, canceling.uuid], signal))]).toEqual([
      [reserved.uuid, "RESERVED"],
    ]);
    expect(
      isAgentStackError(
        await rejection(odd.jobState(canceling.uuid, signal)),
        "ASK_BUILDKITE_STACKS_RESPONSE",
      ),
    ).toBe(true);
    expect(log.records().filter((record) => record.state === "teleported")).toHaveLength(1);
  });

  test("many jobs go 1000 to a request", async () => {
    const stacks = await source();
    const many = Array.from(
      { length: 2_500 },
      (_, index) => `0190${String(index).padStart(4, "0")}-0000-4000-8000-000000000000`,
    );
    const states = await stacks.jobStates(many, signal);
    expect(states.size).toBe(2_500);
    const sizes = fake.calls
      .filter((call) => call.operation === "get job states")
      .map((call) => (JSON.parse(call.body.toString()) as { job_uuids: string[] }).job_uuids.length)
      .sort((a, b) => b - a);
    expect(sizes).toEqual([1_000, 1_000, 500]);
  });

  test("it offers no cancelJob: the Stacks API has no call that cancels a job", async () => {
    const stacks: JobSource = await source();
    expect(stacks.cancelJob).toBeUndefined();
  });
});
