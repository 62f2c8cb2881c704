/**
 * Failing a Buildkite job through the Agent REST API, against the fake: the whole exchange (bodies,
 * headers, the gzip chunk, `exit_status` as a string, disconnect), and each step's retry budget with
 * sleeps that take no time.
 */
import { gunzipSync } from "node:zlib";
import { afterEach, beforeEach, expect, test } from "vitest";
import {
  AgentJobFailer,
  type AgentTokenProvider,
  jobFailerFromConfig,
  staticTokenProvider,
} from "../../../launcher/buildkite/job-failer.ts";
import { type FailJobRequest, JobAcquisitionRejectedError } from "../../../launcher/types.ts";
import { isAgentStackError } from "../../../src/errors.ts";
import {
  type FakeBuildkite,
  type FakeBuildkiteOptions,
  type FakeCall,
  type FakeFailure,
  type FakeJob,
  startFakeBuildkite,
} from "../../fakes/buildkite/fake-buildkite.ts";
import { type CapturedLogger, captureLogger, type InstantClock, instantClock } from "./helpers.ts";

let fake: FakeBuildkite;
let log: CapturedLogger;
let clock: InstantClock;

async function restart(options: FakeBuildkiteOptions = {}): Promise<void> {
  await fake.close();
  fake = await startFakeBuildkite(options);
}

beforeEach(async () => {
  fake = await startFakeBuildkite();
  log = captureLogger();
  // random 0: the jitter is at its lowest, so the sleeps are exact numbers.
  clock = instantClock({ random: 0 });
});

afterEach(async () => {
  await fake.close();
});

const MESSAGE =
  'admission webhook "expand.buildkite.com" denied the request: ASK_PLUGIN_INVALID: bad plugin\n';

function failer(options: { tokenProvider?: AgentTokenProvider; timeoutMs?: number } = {}): AgentJobFailer {
  return new AgentJobFailer({
    tokenProvider: options.tokenProvider ?? staticTokenProvider(fake.registrationToken),
    endpoint: fake.agentUrl,
    version: "1.2.3",
    logger: log.logger,
    clock,
    host: { hostname: "launcher-0", os: "Linux 6.1.0", arch: "amd64", pid: 42 },
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
}

function requestFor(job: FakeJob, tags = ["queue=kubernetes"]): FailJobRequest {
  return { uuid: job.uuid, agentName: `buildkite-${job.uuid}`, tags, message: MESSAGE };
}

const on = (operation: string) => (kind: "graphql" | "agent", name: string) =>
  kind === "agent" && name === operation;

function failNext(count: number, failure: FakeFailure, operation: string): void {
  fake.failNext(count, failure, on(operation));
}

function operations(): string[] {
  return fake.calls.map((call) => call.operation);
}

function callsTo(operation: string): FakeCall[] {
  return fake.calls.filter((call) => call.operation === operation);
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof Error)) throw new Error(`expected an error, got ${String(error)}`);
  return error;
}

const signal = new AbortController().signal;
const NOW = "2025-01-02T03:04:05.678Z";

test("the whole exchange: register, connect, acquire, start, one gzip chunk, finish with exit status 1, disconnect", async () => {
  const job = fake.addJob();
  await failer().failJob(requestFor(job), signal);

  expect(operations()).toEqual(["register", "connect", "acquire", "start", "chunks", "finish", "disconnect"]);
  expect(fake.calls.every((call) => call.status >= 200 && call.status < 300)).toBe(true);
  expect(fake.job(job.uuid)).toMatchObject({
    state: "FINISHED",
    exitStatus: "1",
    log: MESSAGE,
    chunksFailedCount: 0,
  });
  expect(fake.agents).toMatchObject([
    { name: `buildkite-${job.uuid}`, connected: false, disconnected: true },
  ]);

  const [register, connect, acquire, start, chunk, finish, disconnect] = fake.calls as [
    FakeCall,
    FakeCall,
    FakeCall,
    FakeCall,
    FakeCall,
    FakeCall,
    FakeCall,
  ];
  expect(register.body.toString()).toBe(
    `{"name":"buildkite-${job.uuid}","hostname":"launcher-0","os":"Linux 6.1.0","arch":"amd64",` +
      `"script_eval_enabled":true,"ignore_in_dispatches":true,"version":"3.93.1","build":"x",` +
      `"meta_data":["queue=kubernetes"],"pid":42,"features":["agent-core"]}\n`,
  );
  expect(start.body.toString()).toBe(`{"started_at":"${NOW}"}\n`);
  expect(finish.body.toString()).toBe(`{"exit_status":"1","finished_at":"${NOW}","chunks_failed_count":0}\n`);
  const size = Buffer.byteLength(MESSAGE);
  expect(chunk.url).toBe(`/v3/jobs/${job.uuid}/chunks?sequence=0&offset=0&size=${size}`);
  expect(gunzipSync(chunk.body).toString()).toBe(MESSAGE);
  for (const bodyless of [connect, acquire, disconnect]) expect(bodyless.body.length).toBe(0);

  const accessToken = fake.agents[0]?.accessToken;
  expect(register.headers.authorization).toBe(`Token ${fake.registrationToken}`);
  for (const call of fake.calls.slice(1)) expect(call.headers.authorization).toBe(`Token ${accessToken}`);
  for (const call of fake.calls) expect(call.headers["user-agent"]).toBe("agent-stack-k8s/1.2.3");
  expect(fake.calls.map((call) => call.headers["content-type"])).toEqual([
    "application/json",
    undefined,
    undefined,
    "application/json",
    "text/plain",
    "application/json",
    undefined,
  ]);
  expect(chunk.headers["content-encoding"]).toBe("gzip");
  expect(fake.calls.map((call) => call.headers["buildkite-timeout-milliseconds"])).toEqual([
    undefined,
    undefined,
    "330000",
    undefined,
    undefined,
    "3600000",
    undefined,
  ]);
  expect(acquire.headers["x-buildkite-lock-acquire-job"]).toBe("1");
  expect(acquire.headers["x-buildkite-backoff-sequence"]).toBe("0");
  expect(clock.sleeps).toEqual([]);
  expect(log.records().map((record) => record.msg)).toContain(
    `Successfully registered agent "buildkite-${job.uuid}" with tags [queue=kubernetes]`,
  );
});

test("no token ever reaches the log, whatever fails", async () => {
  const job = fake.addJob();
  failNext(1, 500, "register");
  failNext(1, 503, "acquire");
  failNext(1, 400, "chunks");
  failNext(1, 500, "finish");
  await failer().failJob(requestFor(job), signal);
  await rejection(failer().failJob(requestFor(job), signal));
  const text = log.text();
  expect(text).toContain("debug");
  expect(text).not.toContain(fake.registrationToken);
  for (const agent of fake.agents) expect(text).not.toContain(agent.accessToken);
});

test("after register, the agent uses the endpoint Buildkite answered with", async () => {
  await restart({ endpointAfterRegister: "edge" });
  const job = fake.addJob();
  await failer().failJob(requestFor(job), signal);
  expect(fake.calls.map((call) => call.url.replace(/^(\/(?:edge\/)?v3)\/.*$/, "$1"))).toEqual([
    "/v3",
    ...Array(6).fill("/edge/v3"),
  ]);
  expect(fake.job(job.uuid)?.state).toBe("FINISHED");
});

test("an empty endpoint in the register answer keeps the configured one", async () => {
  await restart({ endpointAfterRegister: "empty" });
  const job = fake.addJob();
  await failer().failJob(requestFor(job), signal);
  expect(fake.calls.every((call) => call.url.startsWith("/v3/"))).toBe(true);
});

test("agent-config.endpoint is where the agent registers", async () => {
  const job = fake.addJob();
  const fromConfig = jobFailerFromConfig(
    { agentConfig: { endpoint: fake.agentUrl } },
    {
      tokenProvider: staticTokenProvider(fake.registrationToken),
      version: "1.2.3",
      logger: log.logger,
      clock,
    },
  );
  await fromConfig.failJob(requestFor(job), signal);
  expect(fake.job(job.uuid)?.state).toBe("FINISHED");
});

test("register: a refused registration token (401) stops at once", async () => {
  const job = fake.addJob();
  const error = await rejection(
    failer({ tokenProvider: staticTokenProvider("wrong") }).failJob(requestFor(job), signal),
  );
  expect(error.message).toBe(
    `registering or connecting ephemeral agent: POST ${fake.agentUrl}/register: 401 Unauthorized: Unauthorized`,
  );
  expect(isAgentStackError(error, "ASK_BUILDKITE_AGENT_API")).toBe(true);
  expect(operations()).toEqual(["register"]);
  expect(clock.sleeps).toEqual([]);
});

test("register: a refused token makes a caching provider read the Secret again next time", async () => {
  const job = fake.addJob();
  let invalidated = 0;
  const provider: AgentTokenProvider = Object.assign(async () => "rotated-away", {
    invalidate: () => {
      invalidated += 1;
    },
  });
  await rejection(failer({ tokenProvider: provider }).failJob(requestFor(job), signal));
  expect(invalidated).toBe(1);
});

test("register: 30 attempts, 10 s apart", async () => {
  const job = fake.addJob();
  failNext(30, 500, "register");
  const error = await rejection(failer().failJob(requestFor(job), signal));
  expect(error.message).toMatch(
    /^registering or connecting ephemeral agent: POST .*\/register: 500 Internal Server Error/,
  );
  expect(operations()).toEqual(Array(30).fill("register"));
  expect(clock.sleeps).toEqual(Array(29).fill(10_000));
  expect(fake.job(job.uuid)?.state).toBe("SCHEDULED");
});

test("register: a failure that clears up in time costs only the waits", async () => {
  const job = fake.addJob();
  failNext(2, 502, "register");
  await failer().failJob(requestFor(job), signal);
  expect(clock.sleeps).toEqual([10_000, 10_000]);
  expect(fake.job(job.uuid)?.state).toBe("FINISHED");
});

test("an empty registration token fails before any request", async () => {
  const job = fake.addJob();
  const error = await rejection(
    failer({ tokenProvider: staticTokenProvider("") }).failJob(requestFor(job), signal),
  );
  expect(isAgentStackError(error, "ASK_BUILDKITE_AGENT_TOKEN_EMPTY")).toBe(true);
  expect(error.message).toBe(
    "registering or connecting ephemeral agent: Invalid token, empty string supplied",
  );
  expect(fake.calls).toEqual([]);
});

test("a token provider that fails is a registration failure", async () => {
  const job = fake.addJob();
  const broken: AgentTokenProvider = async () => {
    throw new Error('secrets "buildkite-agent-token" not found');
  };
  const error = await rejection(failer({ tokenProvider: broken }).failJob(requestFor(job), signal));
  expect(error.message).toBe(
    'registering or connecting ephemeral agent: secrets "buildkite-agent-token" not found',
  );
});

test("connect: 10 attempts, 5 s apart, any error; no disconnect when connect never succeeded", async () => {
  const job = fake.addJob();
  failNext(10, 400, "connect");
  const error = await rejection(failer().failJob(requestFor(job), signal));
  expect(error.message).toMatch(
    /^registering or connecting ephemeral agent: POST .*\/connect: 400 Bad Request/,
  );
  expect(operations()).toEqual(["register", ...Array(10).fill("connect")]);
  expect(clock.sleeps).toEqual(Array(9).fill(5_000));
});

test("acquire: a 422 is JobAcquisitionRejectedError at once, and the agent still disconnects", async () => {
  const job = fake.addJob({ state: "RUNNING" });
  const error = await rejection(failer().failJob(requestFor(job), signal));
  expect(error).toBeInstanceOf(JobAcquisitionRejectedError);
  expect(error.message).toBe(
    `acquiring job: job acquisition rejected: PUT ${fake.agentUrl}/jobs/${job.uuid}/acquire: 422 Unprocessable Entity: ` +
      "The job can't be acquired because its state is running",
  );
  expect(operations()).toEqual(["register", "connect", "acquire", "disconnect"]);
  expect(clock.sleeps).toEqual([]);
});

test("acquire: tags that do not satisfy the job's rules are rejected too", async () => {
  const job = fake.addJob({ agentQueryRules: ["queue=kubernetes", "os=windows"] });
  const error = await rejection(failer().failJob(requestFor(job, ["queue=kubernetes"]), signal));
  expect(error).toBeInstanceOf(JobAcquisitionRejectedError);
});

test("acquire: 7 attempts, 2^n s plus jitter apart, each numbered in X-Buildkite-Backoff-Sequence", async () => {
  const job = fake.addJob();
  failNext(7, 503, "acquire");
  const error = await rejection(failer().failJob(requestFor(job), signal));
  expect(error).not.toBeInstanceOf(JobAcquisitionRejectedError);
  expect(error.message).toMatch(/^acquiring job: PUT .*\/acquire: 503 Service Unavailable/);
  const acquires = callsTo("acquire");
  expect(acquires.map((call) => call.headers["x-buildkite-backoff-sequence"])).toEqual([
    "0",
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
  ]);
  // The lowest jitter is −1 s.
  expect(clock.sleeps).toEqual([0, 1_000, 3_000, 7_000, 15_000, 31_000]);
  // The time left counts down with the waits.
  expect(acquires.map((call) => call.headers["buildkite-timeout-milliseconds"])).toEqual([
    "330000",
    "330000",
    "329000",
    "326000",
    "319000",
    "304000",
    "273000",
  ]);
  expect(operations().at(-1)).toBe("disconnect");
});

test("acquire: the jitter is at most +5 s", async () => {
  clock = instantClock({ random: 0.999_999 });
  const job = fake.addJob();
  failNext(2, 500, "acquire");
  await failer().failJob(requestFor(job), signal);
  expect(clock.sleeps.map(Math.round)).toEqual([6_000, 7_000]);
});

test("acquire: Retry-After replaces the next wait once (423 locked, 429, 5xx)", async () => {
  const job = fake.addJob();
  failNext(1, { status: 423, retryAfter: "20" }, "acquire");
  failNext(1, 500, "acquire");
  failNext(1, { status: 429, retryAfter: "9" }, "acquire");
  await failer().failJob(requestFor(job), signal);
  expect(clock.sleeps).toEqual([20_000, 1_000, 9_000]);
  expect(fake.job(job.uuid)?.state).toBe("FINISHED");
  const messages = log.records().map((record) => String(record.msg));
  expect(messages.some((msg) => msg.startsWith("The job is waiting for a dependency: (PUT "))).toBe(true);
  expect(messages.some((msg) => msg.startsWith("Rate limited by the backend: "))).toBe(true);
  expect(messages.some((msg) => msg.startsWith("Server error: "))).toBe(true);
});

test("acquire: the 330 s budget ends the retries", async () => {
  const job = fake.addJob();
  failNext(5, { status: 429, retryAfter: "200" }, "acquire");
  const error = await rejection(failer().failJob(requestFor(job), signal));
  expect(error.message).toMatch(/429 Too Many Requests/);
  expect(callsTo("acquire")).toHaveLength(2);
  expect(clock.sleeps).toEqual([200_000]);
});

test("acquire: another 4xx stops at once without being a rejection", async () => {
  const job = fake.addJob();
  failNext(1, 403, "acquire");
  const error = await rejection(failer().failJob(requestFor(job), signal));
  expect(error).not.toBeInstanceOf(JobAcquisitionRejectedError);
  expect(error.message).toMatch(/^acquiring job: PUT .*: 403 Forbidden/);
  expect(callsTo("acquire")).toHaveLength(1);
});

test("acquire: a request that never answers is aborted after the timeout and retried", async () => {
  const job = fake.addJob();
  failNext(1, "timeout", "acquire");
  await failer({ timeoutMs: 100 }).failJob(requestFor(job), signal);
  expect(callsTo("acquire").map((call) => call.status)).toEqual([0, 200]);
  expect(fake.job(job.uuid)?.state).toBe("FINISHED");
});

test("start: 7 attempts, 1, 2, 4… s apart, on retryable errors", async () => {
  const job = fake.addJob();
  failNext(7, 502, "start");
  const error = await rejection(failer().failJob(requestFor(job), signal));
  expect(error.message).toMatch(/^starting job: PUT .*\/start: 502 Bad Gateway/);
  expect(callsTo("start")).toHaveLength(7);
  expect(clock.sleeps).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000]);
  expect(operations().at(-1)).toBe("disconnect");
});

test("start: a status that is not retryable stops at once", async () => {
  const job = fake.addJob();
  failNext(1, 400, "start");
  const error = await rejection(failer().failJob(requestFor(job), signal));
  expect(error.message).toMatch(/^starting job: PUT .*: 400 Bad Request/);
  expect(callsTo("start")).toHaveLength(1);
  expect(
    log
      .records()
      .some((record) => String(record.msg).startsWith("Buildkite rejected the call to start the job (")),
  ).toBe(true);
});

test("log chunk: a 4xx stops the upload, and the job is still finished with one failed chunk", async () => {
  const job = fake.addJob();
  failNext(1, 413, "chunks");
  await failer().failJob(requestFor(job), signal);
  expect(callsTo("chunks")).toHaveLength(1);
  expect(fake.job(job.uuid)).toMatchObject({
    state: "FINISHED",
    exitStatus: "1",
    chunksFailedCount: 1,
    log: "",
  });
  const messages = log.records().map((record) => String(record.msg));
  expect(messages.some((msg) => msg.startsWith("Buildkite rejected the chunk upload ("))).toBe(true);
  expect(messages.some((msg) => msg.startsWith("writing log: "))).toBe(true);
});

test("log chunk: 12 attempts, ExponentialSubsecond(2 s) apart, on other errors", async () => {
  const job = fake.addJob();
  failNext(12, 500, "chunks");
  await failer().failJob(requestFor(job), signal);
  expect(callsTo("chunks")).toHaveLength(12);
  expect(clock.sleeps).toEqual(Array.from({ length: 11 }, (_, n) => Math.trunc(2_000 ** (n / 16 + 1))));
  expect(fake.job(job.uuid)?.chunksFailedCount).toBe(1);
});

test("finish: a 422 or a 401 stops at once", async () => {
  for (const status of [422, 401]) {
    const job = fake.addJob();
    fake.clearCalls();
    failNext(1, status, "finish");
    const error = await rejection(failer().failJob(requestFor(job), signal));
    expect(error.message).toMatch(new RegExp(`^finishing job: PUT .*/finish: ${status} `));
    expect(callsTo("finish")).toHaveLength(1);
    expect(operations().at(-1)).toBe("disconnect");
  }
  expect(
    log
      .records()
      .filter((record) => String(record.msg).startsWith("Buildkite rejected the call to finish the job (")),
  ).toHaveLength(2);
});

test("finish: 12 attempts on other errors, within its 1 h budget", async () => {
  const job = fake.addJob();
  failNext(12, 503, "finish");
  const error = await rejection(failer().failJob(requestFor(job), signal));
  expect(error.message).toMatch(/^finishing job: PUT .*\/finish: 503 /);
  const finishes = callsTo("finish");
  expect(finishes).toHaveLength(12);
  expect(clock.sleeps).toEqual(Array.from({ length: 11 }, (_, n) => Math.trunc(2_000 ** (n / 16 + 1))));
  // The time left counts down with the waits.
  let left = 3_600_000;
  const expected = [left];
  for (const sleep of clock.sleeps) {
    left -= sleep;
    expected.push(left);
  }
  expect(finishes.map((call) => Number(call.headers["buildkite-timeout-milliseconds"]))).toEqual(expected);
});

test("disconnect: 4 attempts, 1 s apart; its failure is only logged", async () => {
  const job = fake.addJob();
  failNext(4, 500, "disconnect");
  await failer().failJob(requestFor(job), signal);
  expect(callsTo("disconnect")).toHaveLength(4);
  expect(clock.sleeps).toEqual([1_000, 1_000, 1_000]);
  expect(fake.job(job.uuid)?.state).toBe("FINISHED");
  expect(log.records().some((record) => String(record.msg).startsWith("could not disconnect"))).toBe(true);
});

test("the caller's abort ends the exchange with its reason, and the agent still disconnects", async () => {
  const job = fake.addJob();
  failNext(1, "timeout", "acquire");
  const controller = new AbortController();
  const reason = new Error("shutting down");
  const pending = failer().failJob(requestFor(job), controller.signal);
  while (callsTo("acquire").length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  controller.abort(reason);
  await expect(pending).rejects.toBe(reason);
  expect(operations()).toEqual(["register", "connect", "acquire", "disconnect"]);
});
