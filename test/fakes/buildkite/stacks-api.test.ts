/**
 * The fake's Stacks API answers as §8.1 describes Buildkite's: the agent token, 404 for a stack never
 * registered, reservations only of scheduled jobs of the stack's queue and their expiry, lower-case
 * states, cursor pagination, `{"message"}` errors, and the same fault injection as the rest of the fake.
 */
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { FAKE_AGENT_TOKEN_CLUSTER, type FakeBuildkite, startFakeBuildkite } from "./fake-buildkite.ts";

let fake: FakeBuildkite;

beforeEach(async () => {
  fake = await startFakeBuildkite();
});

afterEach(async () => {
  await fake.close();
});

const CLUSTER = FAKE_AGENT_TOKEN_CLUSTER;
const STACK = "my-stack";

async function call(
  method: string,
  path: string,
  json?: unknown,
  token = fake.agentToken,
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const headers: Record<string, string> = { authorization: `Token ${token}`, accept: "application/json" };
  if (json !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${fake.agentUrl}/${path}`, {
    method,
    headers,
    ...(json === undefined ? {} : { body: JSON.stringify(json) }),
  });
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
    headers: response.headers,
  };
}

async function register(key = STACK, queueKey = "kubernetes") {
  return call("POST", "stacks/register", { key, type: "kubernetes", queue_key: queueKey, metadata: {} });
}

function job(input: Parameters<FakeBuildkite["addJob"]>[0] = {}) {
  return fake.addJob({ cluster: CLUSTER, ...input });
}

type ListBody = {
  jobs: Array<{ id: string; priority: number }>;
  page_info: { has_next_page: boolean; end_cursor: string | null };
  cluster_queue: { id: string; paused: boolean };
};

async function list(query: string): Promise<{ status: number; body: ListBody }> {
  const answer = await call("GET", `stacks/${STACK}/scheduled-jobs?${query}`);
  return { status: answer.status, body: answer.body as unknown as ListBody };
}

describe("GET token", () => {
  test("names the token's cluster and organization; any other token gets 401 {message}", async () => {
    expect(await call("GET", "token")).toMatchObject({
      status: 200,
      body: { cluster_uuid: CLUSTER, organization_slug: fake.org, token_type: "cluster" },
    });
    expect(await call("GET", "token", undefined, "wrong")).toMatchObject({
      status: 401,
      body: { message: "Unauthorized" },
    });
  });

  test("an unclustered token has no cluster, and stacks refuse it (403)", async () => {
    await fake.close();
    fake = await startFakeBuildkite({ agentTokenCluster: null });
    expect(await call("GET", "token")).toMatchObject({ status: 200, body: { cluster_uuid: null } });
    expect((await register()).status).toBe(403);
  });

  test("a rotated token: the old one is refused from then on", async () => {
    const old = fake.agentToken;
    fake.rotateAgentToken("rotated-token");
    expect((await call("GET", "token", undefined, old)).status).toBe(401);
    expect((await call("GET", "token", undefined, "rotated-token")).status).toBe(200);
  });
});

describe("stacks", () => {
  test("register resolves the queue (_default is the cluster's default) and registering again updates", async () => {
    expect(await register(STACK, "_default")).toMatchObject({
      status: 200,
      body: { key: STACK, type: "kubernetes", cluster_queue_key: "default", state: "connected" },
    });
    await register(STACK, "kubernetes");
    expect(fake.stack(STACK)).toMatchObject({
      queueKey: "kubernetes",
      clusterQueueKey: "kubernetes",
      registrations: 2,
    });
    expect(await register("other", "no-such-queue")).toMatchObject({
      status: 422,
      body: { message: 'Queue "no-such-queue" not found in the cluster' },
    });
    expect(
      (await call("POST", "stacks/register", { key: "", type: "kubernetes", queue_key: "x" })).status,
    ).toBe(422);
  });

  test("a stack that never registered is 404 Stack not found; deregister leaves it disconnected", async () => {
    expect(await call("GET", "stacks/unknown/scheduled-jobs?queue_key=kubernetes")).toMatchObject({
      status: 404,
      body: { message: "Stack not found" },
    });
    await register();
    expect((await call("POST", `stacks/${STACK}/deregister`)).status).toBe(200);
    expect(fake.stack(STACK)?.state).toBe("disconnected");
  });

  test("a body that is not JSON is 400", async () => {
    const response = await fetch(`${fake.agentUrl}/stacks/register`, {
      method: "POST",
      headers: { authorization: `Token ${fake.agentToken}`, "content-type": "text/plain" },
      body: "key=a",
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      message: 'expected Content-Type application/json, got "text/plain"',
    });
  });
});

describe("scheduled jobs", () => {
  beforeEach(async () => {
    await register();
  });

  test("only scheduled command jobs of the stack's cluster queue, highest priority then oldest first", async () => {
    const old = job({ scheduledAt: "2025-01-01T00:00:00Z" });
    const urgent = job({ priority: 5, scheduledAt: "2025-01-03T00:00:00Z" });
    const young = job({ scheduledAt: "2025-01-02T00:00:00Z" });
    job({ state: "RUNNING" });
    job({ type: "WAIT" });
    job({ agentQueryRules: ["queue=default"] });
    fake.addJob({ agentQueryRules: ["queue=kubernetes"] }); // unclustered
    const { body } = await list("queue_key=kubernetes");
    expect(body.jobs.map((listed) => listed.id)).toEqual([urgent.uuid, old.uuid, young.uuid]);
    expect(body.jobs[0]).toMatchObject({
      priority: 5,
      agent_query_rules: ["queue=kubernetes"],
      scheduled_at: "2025-01-03T00:00:00Z",
      pipeline: { slug: "pipeline" },
      build: { branch: "main" },
      step: { key: null },
    });
    expect(body.cluster_queue.paused).toBe(false);
  });

  test("a job without a queue rule is in the cluster's default queue", async () => {
    const plain = job({ agentQueryRules: [] });
    expect((await list("queue_key=default")).body.jobs.map((listed) => listed.id)).toEqual([plain.uuid]);
  });

  test("pages of `limit` jobs, `after` the end cursor of the last, until has_next_page is false", async () => {
    const jobs = Array.from({ length: 5 }, (_, index) =>
      job({ scheduledAt: `2025-01-0${index + 1}T00:00:00Z` }),
    );
    const first = await list("queue_key=kubernetes&limit=2");
    expect(first.body.jobs.map((listed) => listed.id)).toEqual([jobs[0]?.uuid, jobs[1]?.uuid]);
    expect(first.body.page_info.has_next_page).toBe(true);
    const second = await list(`queue_key=kubernetes&limit=2&after=${first.body.page_info.end_cursor}`);
    expect(second.body.jobs.map((listed) => listed.id)).toEqual([jobs[2]?.uuid, jobs[3]?.uuid]);
    const third = await list(`queue_key=kubernetes&limit=2&after=${second.body.page_info.end_cursor}`);
    expect(third.body.jobs.map((listed) => listed.id)).toEqual([jobs[4]?.uuid]);
    expect(third.body.page_info.has_next_page).toBe(false);
  });

  test("a cursor stays good when the jobs before it are reserved", async () => {
    const jobs = Array.from({ length: 3 }, (_, index) =>
      job({ scheduledAt: `2025-01-0${index + 1}T00:00:00Z` }),
    );
    const first = await list("queue_key=kubernetes&limit=1");
    await call("PUT", `stacks/${STACK}/scheduled-jobs/batch-reserve`, { job_uuids: [jobs[0]?.uuid] });
    const second = await list(`queue_key=kubernetes&limit=1&after=${first.body.page_info.end_cursor}`);
    expect(second.body.jobs.map((listed) => listed.id)).toEqual([jobs[1]?.uuid]);
  });

  test("bad queries are refused with a message", async () => {
    expect((await list("limit=2")).status).toBe(400);
    expect((await list("queue_key=kubernetes&limit=0")).status).toBe(422);
    expect((await list("queue_key=kubernetes&limit=1001")).status).toBe(422);
    expect((await list("queue_key=kubernetes&after=garbage")).status).toBe(400);
    // The list wants the cluster queue's key, not `_default`.
    expect(await call("GET", `stacks/${STACK}/scheduled-jobs?queue_key=_default`)).toMatchObject({
      status: 404,
      body: { message: 'Cluster queue "_default" not found' },
    });
  });

  test("a paused queue says so", async () => {
    fake.setQueuePaused(CLUSTER, "kubernetes", true);
    expect((await list("queue_key=kubernetes")).body.cluster_queue.paused).toBe(true);
  });
});

describe("reservations", () => {
  beforeEach(async () => {
    await register();
  });

  const reserve = (uuids: unknown, expiry?: number) =>
    call("PUT", `stacks/${STACK}/scheduled-jobs/batch-reserve`, {
      job_uuids: uuids,
      ...(expiry === undefined ? {} : { reservation_expiry_seconds: expiry }),
    });

  test("only scheduled jobs of the stack's queue are reserved; they leave the list and are RESERVED", async () => {
    const scheduled = job();
    const running = job({ state: "RUNNING" });
    const otherQueue = job({ agentQueryRules: ["queue=default"] });
    const answer = await reserve([scheduled.uuid, running.uuid, otherQueue.uuid, "unknown"]);
    expect(answer).toMatchObject({
      status: 200,
      body: { reserved: [scheduled.uuid], not_reserved: [running.uuid, otherQueue.uuid, "unknown"] },
    });
    expect(fake.job(scheduled.uuid)).toMatchObject({ state: "RESERVED", reservedBy: STACK });
    expect((await list("queue_key=kubernetes")).body.jobs).toEqual([]);
    expect((await reserve([scheduled.uuid])).body).toEqual({ reserved: [], not_reserved: [scheduled.uuid] });
  });

  test("a reservation expires after reservation_expiry_seconds (900 by default) and the job is listed again", async () => {
    const short = job();
    const long = job();
    await reserve([short.uuid], 60);
    await reserve([long.uuid]);
    fake.advanceTime(61_000);
    expect(fake.job(short.uuid)).toMatchObject({ state: "SCHEDULED", reservedBy: undefined });
    expect(fake.job(long.uuid)?.state).toBe("RESERVED");
    fake.advanceTime(900_000);
    expect(fake.job(long.uuid)?.state).toBe("SCHEDULED");
    expect((await list("queue_key=kubernetes")).body.jobs).toHaveLength(2);
  });

  test("bounds: 1 to 1000 uuids, an expiry from 1 to 3600 s", async () => {
    expect((await reserve([])).status).toBe(422);
    expect((await reserve(Array.from({ length: 1001 }, (_, index) => `u${index}`))).status).toBe(422);
    expect((await reserve([job().uuid], 3601)).body).toEqual({
      message: "reservation_expiry_seconds must be an integer from 1 to 3600",
    });
  });

  test("an agent can acquire a reserved job", async () => {
    const reserved = job();
    await reserve([reserved.uuid]);
    const registered = await call("POST", "register", { name: "agent-1", meta_data: ["queue=kubernetes"] });
    const token = registered.body.access_token as string;
    await call("POST", "connect", undefined, token);
    expect((await call("PUT", `jobs/${reserved.uuid}/acquire`, undefined, token)).status).toBe(200);
    expect(fake.job(reserved.uuid)).toMatchObject({ state: "ACCEPTED", reservedBy: undefined });
  });
});

describe("jobs", () => {
  beforeEach(async () => {
    await register();
  });

  test("GET jobs/{uuid}: the env as a map and the command; 404 outside the cluster", async () => {
    const detailed = job({ env: ["A=1", "B=x=y", "A=2"], command: "make test" });
    expect(await call("GET", `stacks/${STACK}/jobs/${detailed.uuid}`)).toMatchObject({
      status: 200,
      body: { id: detailed.uuid, env: { A: "2", B: "x=y" }, command: "make test" },
    });
    const unclustered = fake.addJob();
    expect(await call("GET", `stacks/${STACK}/jobs/${unclustered.uuid}`)).toMatchObject({
      status: 404,
      body: { message: "Job not found" },
    });
  });

  test("get-states: lower-case states, unknown jobs left out, at most 1000", async () => {
    const reserved = job({ state: "RESERVED" });
    const canceled = job({ state: "CANCELED" });
    expect(
      (
        await call("POST", `stacks/${STACK}/jobs/get-states`, {
          job_uuids: [reserved.uuid, canceled.uuid, "x"],
        })
      ).body,
    ).toEqual({ states: { [reserved.uuid]: "reserved", [canceled.uuid]: "canceled" } });
    const many = Array.from({ length: 1001 }, (_, index) => `u${index}`);
    expect((await call("POST", `stacks/${STACK}/jobs/get-states`, { job_uuids: many })).status).toBe(422);
  });

  test("finish: an integer exit status and a detail of at most 4096 bytes, only while scheduled or reserved", async () => {
    const scheduled = job();
    const running = job({ state: "RUNNING" });
    const finish = (uuid: string, body: unknown) => call("POST", `stacks/${STACK}/jobs/${uuid}/finish`, body);
    expect((await finish(scheduled.uuid, { exit_status: "-1", detail: "x" })).status).toBe(422);
    expect((await finish(scheduled.uuid, { exit_status: -1, detail: "é".repeat(2049) })).status).toBe(422);
    expect(await finish(running.uuid, { exit_status: -1, detail: "x" })).toMatchObject({
      status: 422,
      body: { message: "The job can't be finished because its state is running" },
    });
    expect((await finish(scheduled.uuid, { exit_status: -1, detail: "the reason" })).status).toBe(200);
    expect(fake.job(scheduled.uuid)).toMatchObject({
      state: "FINISHED",
      exitStatus: "-1",
      finishDetail: "the reason",
    });
  });

  test("finish: a job reserved by another stack is not this stack's to finish", async () => {
    await register("other");
    const theirs = job();
    await call("PUT", "stacks/other/scheduled-jobs/batch-reserve", { job_uuids: [theirs.uuid] });
    expect(
      (await call("POST", `stacks/${STACK}/jobs/${theirs.uuid}/finish`, { exit_status: -1, detail: "x" }))
        .body,
    ).toEqual({ message: "The job is reserved by another stack" });
  });

  test("notifications are kept per job; the refused ones come back as errors with their indexes", async () => {
    const first = job();
    const answer = await call("POST", `stacks/${STACK}/notifications`, {
      notifications: [
        { job_uuid: first.uuid, detail: "created", timestamp: "2025-01-01T00:00:00Z" },
        { job_uuid: "unknown", detail: "x", timestamp: "2025-01-01T00:00:00Z" },
        { job_uuid: first.uuid, detail: "x".repeat(256), timestamp: "2025-01-01T00:00:00Z" },
        { job_uuid: "unknown-too", detail: "x", timestamp: "2025-01-01T00:00:00Z" },
      ],
    });
    expect(answer).toMatchObject({
      status: 200,
      body: {
        errors: [
          { error: "Job not found", indexes: [1, 3] },
          { error: "detail must be at most 255 bytes", indexes: [2] },
        ],
      },
    });
    expect(fake.job(first.uuid)?.notifications).toEqual([
      { stackKey: STACK, detail: "created", timestamp: "2025-01-01T00:00:00Z" },
    ]);
  });
});

test("every call is recorded by operation, and faults are injected as on the other faces", async () => {
  await register();
  fake.clearCalls();
  fake.failNext(
    1,
    { status: 429, retryAfter: "2", message: "slow down" },
    (_kind, operation) => operation === "list scheduled jobs",
  );
  const limited = await call("GET", `stacks/${STACK}/scheduled-jobs?queue_key=kubernetes`);
  expect(limited).toMatchObject({ status: 429, body: { message: "slow down" } });
  expect(limited.headers.get("retry-after")).toBe("2");
  expect((await call("GET", `stacks/${STACK}/scheduled-jobs?queue_key=kubernetes`)).status).toBe(200);
  await call("GET", "token");
  expect(fake.calls.map((recorded) => [recorded.kind, recorded.operation, recorded.status])).toEqual([
    ["agent", "list scheduled jobs", 429],
    ["agent", "list scheduled jobs", 200],
    ["agent", "token", 200],
  ]);
});
