/**
 * The Stacks API client against the fake, endpoint by endpoint: URLs, headers and bodies as §8.1 has
 * them, answers read, errors worded `<call>: <METHOD> <URL>: <status> <message>`, the retry budget of
 * each call (sleeps take no time), `Retry-After`, the token read again after a 401, and no token in
 * any log line or error message.
 */
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { AgentTokenProvider } from "../../../launcher/buildkite/job-failer.ts";
import {
  cropUtf8,
  FINISH_CROPPED_SUFFIX,
  isStacksApiError,
  NOTIFICATION_CROPPED_SUFFIX,
  type StacksApiClient,
} from "../../../launcher/buildkite/stacks-api.ts";
import { isAgentStackError } from "../../../src/errors.ts";
import {
  FAKE_AGENT_TOKEN_CLUSTER,
  type FakeBuildkite,
  type FakeCall,
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
const STACK = "my-stack";

beforeEach(async () => {
  fake = await startFakeBuildkite();
  log = captureLogger();
  // random 0: the jitter is at its lowest, so the sleeps are exact numbers.
  clock = instantClock({ random: 0 });
});

afterEach(async () => {
  await fake.close();
});

/** A provider like the Secret's: counts reads, and `invalidate` makes the next read see the Secret now. */
function secretProvider(initial: () => string): AgentTokenProvider & { reads: number } {
  let cached: string | undefined;
  const provider = Object.assign(
    async () => {
      provider.reads += 1;
      cached ??= initial();
      return cached;
    },
    {
      reads: 0,
      invalidate: () => {
        cached = undefined;
      },
    },
  );
  return provider;
}

function client(
  options: { tokenProvider?: AgentTokenProvider; timeoutMs?: number; fetch?: typeof fetch } = {},
) {
  return stacksClient(fake, log.logger, { clock, ...options });
}

async function registered(): Promise<StacksApiClient> {
  const stacks = client();
  await stacks.registerStack({ key: STACK, queueKey: "kubernetes" }, signal);
  fake.clearCalls();
  return stacks;
}

function failNext(count: number, failure: FakeFailure, operation: string): void {
  fake.failNext(count, failure, (kind, name) => kind === "agent" && name === operation);
}

function only(operation: string): FakeCall[] {
  return fake.calls.filter((call) => call.operation === operation);
}

function json(call: FakeCall | undefined): unknown {
  return JSON.parse(call?.body.toString("utf8") ?? "null");
}

function job(input: Parameters<FakeBuildkite["addJob"]>[0] = {}) {
  return fake.addJob({ cluster: FAKE_AGENT_TOKEN_CLUSTER, ...input });
}

/** Upstream's default retries with the lowest jitter: ExponentialSubsecond(1 s) + 0.5 s. */
const DEFAULT_SLEEPS = [1_500, 2_039, 2_871, 4_151];

describe("every request", () => {
  test("goes under the endpoint with the agent token, the stack's User-Agent and JSON headers", async () => {
    const stacks = client();
    await stacks.tokenInfo(signal);
    await stacks.registerStack({ key: STACK, queueKey: "kubernetes" }, signal);
    for (const call of fake.calls) {
      expect(call.url.startsWith("/v3/")).toBe(true);
      expect(call.headers).toMatchObject({
        authorization: `Token ${fake.agentToken}`,
        accept: "application/json",
        "content-type": "application/json",
      });
    }
    // GET token is the agent library's call upstream, with its User-Agent.
    expect(fake.calls.map((call) => call.headers["user-agent"])).toEqual([
      "buildkite/agent-stack-k8s 1.2.3",
      "agent-stack-k8s/1.2.3 stackspi/v1.0.0",
    ]);
    expect(fake.calls.map((call) => `${call.method} ${call.url}`)).toEqual([
      "GET /v3/token",
      "POST /v3/stacks/register",
    ]);
  });

  test("path parameters are escaped, dots included", async () => {
    const stacks = client();
    await rejection(stacks.getJob("a/b.c", "u", signal));
    expect(fake.calls[0]?.url).toBe("/v3/stacks/a%2Fb%2Ec/jobs/u");
  });

  test("has a timeout: no answer is a retried error that says so", async () => {
    failNext(5, "timeout", "token");
    const error = await rejection(client({ timeoutMs: 50 }).tokenInfo(signal));
    expect(error.message).toBe(`get token: GET ${fake.agentUrl}/token: no answer within 0.05s`);
    expect(isAgentStackError(error, "ASK_BUILDKITE_STACKS_API")).toBe(true);
    expect(only("token")).toHaveLength(5);
  });

  test("after a 401 the token is read again, and the request sent again once if it changed", async () => {
    const provider = secretProvider(() => fake.agentToken);
    const stacks = client({ tokenProvider: provider });
    await stacks.tokenInfo(signal);
    fake.rotateAgentToken("rotated-token");
    expect((await stacks.tokenInfo(signal)).clusterUuid).toBe(FAKE_AGENT_TOKEN_CLUSTER);
    expect(fake.calls.map((call) => [call.headers.authorization, call.status])).toEqual([
      [`Token fake-agent-registration-token`, 200],
      [`Token fake-agent-registration-token`, 401],
      ["Token rotated-token", 200],
    ]);
    expect(provider.reads).toBe(3);
  });

  test("a token refused again is a permanent error that names neither token", async () => {
    const provider = secretProvider(() => "wrong-token");
    const error = await rejection(client({ tokenProvider: provider }).tokenInfo(signal));
    expect(error.message).toBe(`get token: GET ${fake.agentUrl}/token: 401 Unauthorized`);
    expect(isStacksApiError(error, 401) && error.permanent).toBe(true);
    expect(only("token")).toHaveLength(1);
    expect(`${error.message}${log.text()}`).not.toContain("wrong-token");
  });

  test("no log line and no error carries the token, whatever fails", async () => {
    const stacks = await registered();
    const messages: string[] = [];
    for (const failure of [500, { status: 429, retryAfter: "1" }, "reset", 404] as FakeFailure[]) {
      failNext(5, failure, "get job states");
      messages.push((await rejection(stacks.getJobStates(STACK, ["u"], signal))).message);
    }
    expect(messages.join("\n")).toContain("get job states: POST");
    expect(log.text()).toContain("Stacks API");
    expect(`${messages.join("\n")}${log.text()}`).not.toContain(fake.agentToken);
  });
});

describe("GET token", () => {
  test("what the token is; an unclustered one has no cluster", async () => {
    expect(await client().tokenInfo(signal)).toMatchObject({
      organizationSlug: fake.org,
      clusterUuid: FAKE_AGENT_TOKEN_CLUSTER,
      tokenType: "cluster",
    });
    await fake.close();
    fake = await startFakeBuildkite({ agentTokenCluster: null });
    expect((await client().tokenInfo(signal)).clusterUuid).toBeUndefined();
  });
});

describe("register and deregister", () => {
  test("register sends key, type kubernetes, queue_key and metadata, and reads the cluster queue key", async () => {
    const registration = await client().registerStack({ key: STACK, queueKey: "_default" }, signal);
    expect(registration).toMatchObject({ key: STACK, clusterQueueKey: "default", state: "connected" });
    expect(json(fake.calls[0])).toEqual({
      key: STACK,
      type: "kubernetes",
      queue_key: "_default",
      metadata: {},
    });
  });

  test("register retries 5xx and 429 as upstream (5 attempts), honouring Retry-After", async () => {
    failNext(2, 503, "register stack");
    failNext(1, { status: 429, retryAfter: "7" }, "register stack");
    await client().registerStack({ key: STACK, queueKey: "kubernetes" }, signal);
    expect(only("register stack").map((call) => call.status)).toEqual([503, 503, 429, 200]);
    expect(clock.sleeps).toEqual([1_500, 2_039, 7_000]);
  });

  test("register gives up after 5 attempts, and at once on a 4xx, with the server's message", async () => {
    failNext(5, 500, "register stack");
    expect(
      (await rejection(client().registerStack({ key: STACK, queueKey: "kubernetes" }, signal))).message,
    ).toBe(`register stack: POST ${fake.agentUrl}/stacks/register: 500 injected failure 500`);
    expect(clock.sleeps).toEqual(DEFAULT_SLEEPS);
    fake.clearCalls();
    const refused = await rejection(client().registerStack({ key: STACK, queueKey: "nope" }, signal));
    expect(refused.message).toBe(
      `register stack: POST ${fake.agentUrl}/stacks/register: 422 Queue "nope" not found in the cluster`,
    );
    expect(fake.calls).toHaveLength(1);
  });

  test("deregister is one attempt", async () => {
    const stacks = await registered();
    failNext(1, 503, "deregister stack");
    await rejection(stacks.deregisterStack(STACK, signal));
    await stacks.deregisterStack(STACK, signal);
    expect(only("deregister stack").map((call) => [call.status, call.body.length])).toEqual([
      [503, 0],
      [200, 0],
    ]);
    expect(fake.stack(STACK)?.state).toBe("disconnected");
  });
});

describe("scheduled jobs", () => {
  test("one page: queue_key, limit and after; the jobs, the queue and the page info", async () => {
    const stacks = await registered();
    const first = job({ priority: 2, stepKey: "build", scheduledAt: "2025-01-01T00:00:00Z" });
    job();
    const page = await stacks.listScheduledJobs(STACK, { queueKey: "kubernetes", limit: 1 }, signal);
    expect(page).toMatchObject({
      jobs: [
        {
          id: first.uuid,
          priority: 2,
          agentQueryRules: ["queue=kubernetes"],
          scheduledAt: "2025-01-01T00:00:00Z",
          stepKey: "build",
          build: { branch: "main" },
        },
      ],
      clusterQueue: { paused: false },
      hasNextPage: true,
      retryAfterMs: undefined,
    });
    const next = await stacks.listScheduledJobs(
      STACK,
      { queueKey: "kubernetes", limit: 1, after: page.endCursor },
      signal,
    );
    expect(next.hasNextPage).toBe(false);
    expect(fake.calls.map((call) => call.url)).toEqual([
      `/v3/stacks/${STACK}/scheduled-jobs?queue_key=kubernetes&limit=1`,
      `/v3/stacks/${STACK}/scheduled-jobs?queue_key=kubernetes&limit=1&after=${page.endCursor}`,
    ]);
  });

  test("one attempt; a 429's Retry-After is on the error, a success's on the page", async () => {
    const stacks = await registered();
    failNext(1, { status: 429, retryAfter: "3" }, "list scheduled jobs");
    const error = await rejection(
      stacks.listScheduledJobs(STACK, { queueKey: "kubernetes", limit: 10 }, signal),
    );
    expect(isStacksApiError(error) && [error.status, error.retryAfterMs, error.permanent]).toEqual([
      429,
      3_000,
      false,
    ]);
    expect(only("list scheduled jobs")).toHaveLength(1);
    const slowDown: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const headers = new Headers(response.headers);
      headers.set("retry-after", "2");
      return new Response(await response.text(), { status: response.status, headers });
    };
    const page = await client({ fetch: slowDown }).listScheduledJobs(
      STACK,
      { queueKey: "kubernetes", limit: 10 },
      signal,
    );
    expect(page.retryAfterMs).toBe(2_000);
  });

  test("an answer without a jobs list is an error of its own", async () => {
    const broken: typeof fetch = async () => new Response('{"page_info":{}}', { status: 200 });
    const error = await rejection(
      client({ fetch: broken }).listScheduledJobs(STACK, { queueKey: "kubernetes", limit: 10 }, signal),
    );
    expect(isAgentStackError(error, "ASK_BUILDKITE_STACKS_RESPONSE")).toBe(true);
    expect(error.message).toBe("list scheduled jobs: the answer has no jobs list");
  });
});

describe("reserve and details", () => {
  test("batch-reserve sends the uuids and the expiry, and leaves the expiry out when it is 0", async () => {
    const stacks = await registered();
    const [a, b] = [job(), job({ state: "RUNNING" })];
    expect(await stacks.batchReserve(STACK, [a.uuid, b.uuid], 120, signal)).toEqual({
      reserved: [a.uuid],
      notReserved: [b.uuid],
    });
    await stacks.batchReserve(STACK, [b.uuid], 0, signal);
    expect(only("batch reserve jobs").map((call) => [call.method, json(call)])).toEqual([
      ["PUT", { job_uuids: [a.uuid, b.uuid], reservation_expiry_seconds: 120 }],
      ["PUT", { job_uuids: [b.uuid] }],
    ]);
  });

  test("batch-reserve is one attempt", async () => {
    const stacks = await registered();
    failNext(1, 502, "batch reserve jobs");
    expect((await rejection(stacks.batchReserve(STACK, [job().uuid], 0, signal))).message).toMatch(
      /^batch reserve jobs: PUT .*\/scheduled-jobs\/batch-reserve: 502 injected failure 502$/,
    );
    expect(only("batch reserve jobs")).toHaveLength(1);
  });

  test("GET jobs/{uuid}: the env map and the command; 404 is a permanent error, one attempt", async () => {
    const stacks = await registered();
    const detailed = job({ env: ["BUILDKITE_PLUGINS=[]", "A=1"], command: "echo hi" });
    expect(await stacks.getJob(STACK, detailed.uuid, signal)).toEqual({
      id: detailed.uuid,
      env: { BUILDKITE_PLUGINS: "[]", A: "1" },
      command: "echo hi",
    });
    const missing = await rejection(stacks.getJob(STACK, "01900000-0000-4000-8000-00000000ffff", signal));
    expect(isStacksApiError(missing, 404) && missing.permanent).toBe(true);
    expect(missing.message).toMatch(/^get job: GET .*: 404 Job not found$/);
  });
});

describe("finish", () => {
  test("exit status -1 and the detail; default retries", async () => {
    const stacks = await registered();
    const failing = job();
    failNext(1, 500, "finish job");
    await stacks.finishJob(STACK, failing.uuid, "the webhook said no", signal);
    expect(only("finish job").map((call) => [call.method, call.status, json(call)])).toEqual([
      ["POST", 500, { exit_status: -1, detail: "the webhook said no" }],
      ["POST", 200, { exit_status: -1, detail: "the webhook said no" }],
    ]);
    expect(fake.job(failing.uuid)).toMatchObject({ state: "FINISHED", exitStatus: "-1" });
  });

  test("a detail longer than 4038 bytes is cut to 4038 plus upstream's note: 4096 bytes, no character split", async () => {
    const stacks = await registered();
    const failing = job();
    const detail = `${"a".repeat(4037)}éé and more`;
    await stacks.finishJob(STACK, failing.uuid, detail, signal);
    const sent = fake.job(failing.uuid)?.finishDetail ?? "";
    expect(sent).toBe(`${"a".repeat(4037)}${FINISH_CROPPED_SUFFIX}`);
    expect(Buffer.byteLength(sent)).toBe(4095);
  });

  test("a job that is no longer scheduled or reserved: 422 at once, with Buildkite's reason", async () => {
    const stacks = await registered();
    const running = job({ state: "RUNNING" });
    const error = await rejection(stacks.finishJob(STACK, running.uuid, "x", signal));
    expect(error.message).toMatch(
      /^finish job: POST .*\/finish: 422 The job can't be finished because its state is running$/,
    );
    expect(only("finish job")).toHaveLength(1);
  });
});

describe("job states", () => {
  test("get-states: the states as sent; unknown jobs missing; default retries", async () => {
    const stacks = await registered();
    const [a, b] = [job({ state: "RESERVED" }), job({ state: "CANCELING" })];
    failNext(1, 502, "get job states");
    const states = await stacks.getJobStates(STACK, [a.uuid, b.uuid, "unknown"], signal);
    expect([...states]).toEqual([
      [a.uuid, "reserved"],
      [b.uuid, "canceling"],
    ]);
    expect(json(only("get job states")[1])).toEqual({ job_uuids: [a.uuid, b.uuid, "unknown"] });
    expect(clock.sleeps).toEqual([1_500]);
  });
});

describe("notifications", () => {
  test("job_uuid, detail cropped to 255 bytes and an RFC 3339 timestamp; refusals come back as errors", async () => {
    const stacks = await registered();
    const noted = job();
    const errors = await stacks.createNotifications(
      STACK,
      [
        { jobUuid: noted.uuid, detail: "x".repeat(300), at: Date.parse("2025-01-02T03:04:05.600Z") },
        { jobUuid: "unknown", detail: "created", at: 0 },
      ],
      signal,
    );
    expect(errors).toEqual([{ error: "Job not found", indexes: [1] }]);
    const body = json(only("create stack notifications")[0]) as { notifications: unknown[] };
    expect(body.notifications[0]).toEqual({
      job_uuid: noted.uuid,
      detail: `${"x".repeat(242)}${NOTIFICATION_CROPPED_SUFFIX}`,
      timestamp: "2025-01-02T03:04:05.6Z",
    });
    expect(fake.job(noted.uuid)?.notifications.map((note) => Buffer.byteLength(note.detail))).toEqual([255]);
  });

  test("one attempt, no retry", async () => {
    const stacks = await registered();
    failNext(1, 503, "create stack notifications");
    await rejection(stacks.createNotifications(STACK, [{ jobUuid: job().uuid, detail: "x", at: 0 }], signal));
    expect(only("create stack notifications")).toHaveLength(1);
  });
});

test("cropUtf8 keeps short text, and backs off to a character boundary", () => {
  expect(cropUtf8("short", 20, "…")).toBe("short");
  // 10 bytes allowed, "…" takes 3: keep 7 bytes, but "é" at bytes 6–7 would be split.
  expect(cropUtf8("abcdeféghij", 10, "…")).toBe("abcdef…");
  expect(cropUtf8("abcdefghijk", 10, "…")).toBe("abcdefg…");
});
