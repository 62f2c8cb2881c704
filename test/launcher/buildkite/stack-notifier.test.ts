/**
 * Stack notifications against the fake: batched (1000 to a request), best effort (no retry, failures
 * and refusals logged), bounded (the buffer drops what does not fit), sent on a timer and at stop.
 */
import { afterEach, beforeEach, expect, test } from "vitest";
import {
  imageFailureNotification,
  JOB_CREATED_NOTIFICATION,
  StackNotifier,
} from "../../../launcher/buildkite/stack-notifier.ts";
import type { StacksApiClient } from "../../../launcher/buildkite/stacks-api.ts";
import {
  FAKE_AGENT_TOKEN_CLUSTER,
  type FakeBuildkite,
  startFakeBuildkite,
} from "../../fakes/buildkite/fake-buildkite.ts";
import { type CapturedLogger, captureLogger, stacksClient } from "./helpers.ts";

let fake: FakeBuildkite;
let log: CapturedLogger;
let client: StacksApiClient;
const KEY = "my-stack";

beforeEach(async () => {
  fake = await startFakeBuildkite();
  log = captureLogger();
  client = stacksClient(fake, log.logger);
  await client.registerStack({ key: KEY, queueKey: "kubernetes" }, AbortSignal.timeout(5_000));
  fake.clearCalls();
});

afterEach(async () => {
  await fake.close();
});

function notifier(options: { intervalMs?: number; maxBuffered?: number } = {}): StackNotifier {
  return new StackNotifier({ client, session: { key: KEY }, logger: log.logger, intervalMs: 0, ...options });
}

function job() {
  return fake.addJob({ cluster: FAKE_AGENT_TOKEN_CLUSTER });
}

function requestSizes(): number[] {
  return fake.calls
    .filter((call) => call.operation === "create stack notifications")
    .map((call) => (JSON.parse(call.body.toString()) as { notifications: unknown[] }).notifications.length);
}

test("upstream's words", () => {
  expect(JOB_CREATED_NOTIFICATION).toBe("K8s Job created successfully, waiting for Agent to start...");
  expect(
    imageFailureNotification([
      { name: "container-0", reason: "ErrImagePull", message: "not found" },
      { name: "sidecar-0", reason: "ImagePullBackOff", message: "back-off" },
    ]),
  ).toBe(
    "Image pull failure; the job will fail once the agent times out. container-0: ErrImagePull (not found); sidecar-0: ImagePullBackOff (back-off)",
  );
});

test("a flush sends what waits, 1000 to a request, and the notes land on the jobs' pages", async () => {
  const noted = job();
  const notes = notifier();
  for (let index = 0; index < 2_300; index++) notes.notify(noted.uuid, JOB_CREATED_NOTIFICATION);
  expect(notes.pending()).toBe(2_300);
  await notes.flush();
  expect(requestSizes()).toEqual([1_000, 1_000, 300]);
  expect(notes.pending()).toBe(0);
  expect(fake.job(noted.uuid)?.notifications).toHaveLength(2_300);
  expect(fake.job(noted.uuid)?.notifications[0]).toMatchObject({
    stackKey: KEY,
    detail: JOB_CREATED_NOTIFICATION,
  });
});

test("best effort: a failed request is logged and its notifications dropped, never retried", async () => {
  const noted = job();
  const notes = notifier();
  fake.failNext(1, 503, (_kind, operation) => operation === "create stack notifications");
  notes.notify(noted.uuid, "first");
  await notes.flush();
  notes.notify(noted.uuid, "second");
  await notes.flush();
  expect(requestSizes()).toEqual([1, 1]);
  expect(fake.job(noted.uuid)?.notifications.map((note) => note.detail)).toEqual(["second"]);
  expect(log.text()).toContain("sending stack notifications failed; they are dropped (best effort)");
});

test("what Buildkite refuses is logged with the jobs it was about", async () => {
  const notes = notifier();
  notes.notify("01900000-0000-4000-8000-00000000ffff", "about nothing");
  await notes.flush();
  const refused = log.records().find((record) => record.msg === "Buildkite refused stack notifications");
  expect(refused).toMatchObject({ err: "Job not found", jobs: ["01900000-0000-4000-8000-00000000ffff"] });
});

test("the buffer is bounded: what does not fit is dropped and counted", async () => {
  const noted = job();
  const notes = notifier({ maxBuffered: 2 });
  for (const detail of ["a", "b", "c", "d"]) notes.notify(noted.uuid, detail);
  await notes.flush();
  expect(fake.job(noted.uuid)?.notifications.map((note) => note.detail)).toEqual(["a", "b"]);
  expect(log.records().find((record) => record.dropped === 2)).toBeDefined();
});

test("sent on a timer, and what is left at stop is sent then; nothing is taken after stop", async () => {
  const noted = job();
  const timed = notifier({ intervalMs: 20 });
  timed.start();
  timed.notify(noted.uuid, "on the timer");
  await expect.poll(() => fake.job(noted.uuid)?.notifications.length, { timeout: 2_000 }).toBe(1);
  await timed.stop();

  const stopping = notifier();
  stopping.notify(noted.uuid, "at stop");
  await stopping.stop();
  stopping.notify(noted.uuid, "after stop");
  expect(fake.job(noted.uuid)?.notifications.map((note) => note.detail)).toEqual(["on the timer", "at stop"]);
  expect(stopping.pending()).toBe(0);
});

test("stop takes 2 s at most, even when Buildkite does not answer", async () => {
  const noted = job();
  const notes = notifier();
  fake.failNext(1, "timeout", (_kind, operation) => operation === "create stack notifications");
  notes.notify(noted.uuid, "never answered");
  const started = performance.now();
  await notes.stop();
  // Without the budget it would wait for http-timeout (60 s).
  expect(performance.now() - started).toBeLessThan(10_000);
  expect(log.text()).toContain("sending stack notifications failed");
});
