/**
 * Failing a Buildkite job through the Stacks API's `finish`, against the fake: the body, the cropped
 * detail, retries of our own outages, and Buildkite's refusal read as "no longer ours to fail", also by
 * the watchers' shared fail path (whose cancel fallback the Stacks API cannot serve).
 */
import { Counter, Registry } from "prom-client";
import { afterEach, beforeEach, expect, test } from "vitest";
import type { StackSession } from "../../../launcher/buildkite/stack-session.ts";
import {
  FINISH_CROPPED_SUFFIX,
  isStacksApiError,
  type StacksApiClient,
} from "../../../launcher/buildkite/stacks-api.ts";
import { StacksJobFailer } from "../../../launcher/buildkite/stacks-job-failer.ts";
import { StacksJobSource } from "../../../launcher/buildkite/stacks-job-source.ts";
import { failOnBuildkite } from "../../../launcher/kubernetes/fail-on-buildkite.ts";
import { createFailureLedger } from "../../../launcher/kubernetes/failure-ledger.ts";
import { type FailJobRequest, JobAcquisitionRejectedError } from "../../../launcher/types.ts";
import {
  FAKE_AGENT_TOKEN_CLUSTER,
  type FakeBuildkite,
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
let client: StacksApiClient;
const signal = new AbortController().signal;
const SESSION: StackSession = {
  key: "my-stack",
  queueKey: "kubernetes",
  clusterQueueKey: "kubernetes",
  clusterUuid: FAKE_AGENT_TOKEN_CLUSTER,
  organizationSlug: "test-org",
};

beforeEach(async () => {
  fake = await startFakeBuildkite();
  log = captureLogger();
  clock = instantClock({ random: 0 });
  client = stacksClient(fake, log.logger, { clock });
  await client.registerStack({ key: SESSION.key, queueKey: SESSION.queueKey }, signal);
  fake.clearCalls();
});

afterEach(async () => {
  await fake.close();
});

function failer(): StacksJobFailer {
  return new StacksJobFailer({ client, session: SESSION, logger: log.logger });
}

function request(
  uuid: string,
  message = "admission webhook denied the request: bad plugin\n",
): FailJobRequest {
  return { uuid, agentName: `buildkite-${uuid}`, tags: ["queue=kubernetes"], message };
}

function job(state: Parameters<FakeBuildkite["setState"]>[1] = "SCHEDULED") {
  return fake.addJob({ cluster: FAKE_AGENT_TOKEN_CLUSTER, state });
}

test("a scheduled or reserved job is finished with exit status -1 and the reason as its detail", async () => {
  const scheduled = job();
  const reserved = job();
  await client.batchReserve(SESSION.key, [reserved.uuid], 0, signal);
  await failer().failJob(request(scheduled.uuid), signal);
  await failer().failJob(request(reserved.uuid), signal);
  for (const uuid of [scheduled.uuid, reserved.uuid]) {
    expect(fake.job(uuid)).toMatchObject({
      state: "FINISHED",
      exitStatus: "-1",
      finishDetail: "admission webhook denied the request: bad plugin\n",
    });
  }
  expect(fake.calls.filter((call) => call.operation === "finish job")).toHaveLength(2);
  // No throw-away agent: nothing registers.
  expect(fake.agents).toEqual([]);
  expect(log.text()).toContain("failed the Buildkite job (exit status -1)");
});

test("a long reason is cropped as upstream crops it", async () => {
  const failing = job();
  await failer().failJob(request(failing.uuid, "x".repeat(10_000)), signal);
  expect(fake.job(failing.uuid)?.finishDetail).toBe(`${"x".repeat(4038)}${FINISH_CROPPED_SUFFIX}`);
});

test("a job an agent has, that ended or that Buildkite does not know: JobAcquisitionRejectedError, one call", async () => {
  const running = job("RUNNING");
  const rejected = await rejection(failer().failJob(request(running.uuid), signal));
  expect(rejected).toBeInstanceOf(JobAcquisitionRejectedError);
  expect(rejected.message).toMatch(/its state is running$/);
  const unknown = await rejection(failer().failJob(request("01900000-0000-4000-8000-00000000ffff"), signal));
  expect(unknown).toBeInstanceOf(JobAcquisitionRejectedError);
  expect(fake.calls.map((call) => call.status)).toEqual([422, 404]);
});

test("an outage of Buildkite is retried (5 attempts) and then thrown as itself, so the job is tried again later", async () => {
  const failing = job();
  fake.failNext(5, 502, (_kind, operation) => operation === "finish job");
  const error = await rejection(failer().failJob(request(failing.uuid), signal));
  expect(error).not.toBeInstanceOf(JobAcquisitionRejectedError);
  expect(isStacksApiError(error, 502)).toBe(true);
  expect(fake.job(failing.uuid)?.state).toBe("SCHEDULED");
  await failer().failJob(request(failing.uuid), signal);
  expect(fake.job(failing.uuid)?.state).toBe("FINISHED");
});

test("the watchers' fail path: a refusal is final; with no cancel, the job's page gets the note once, not a loop", async () => {
  const running = job("RUNNING");
  const registry = new Registry();
  const counter = (name: string) => new Counter({ name, help: name, registers: [registry] });
  const counters = {
    failed: counter("failed"),
    failErrors: counter("fail_errors"),
    cancelled: counter("cancelled"),
    cancelErrors: counter("cancel_errors"),
  };
  const ledger = createFailureLedger();
  const source = new StacksJobSource({
    client,
    session: SESSION,
    config: {
      tags: ["queue=kubernetes"],
      queue: "kubernetes",
      paginationPageSize: 1000,
      paginationDepthLimit: 1,
      queryResetInterval: 0,
      reservationExpirySeconds: 0,
      enableQueuePause: false,
      jobCreationConcurrency: 1,
      workQueueLimit: 1000,
    },
    logger: log.logger,
  });
  const notes: Array<[string, string]> = [];
  const notifier = { notify: (uuid: string, detail: string) => void notes.push([uuid, detail]) };
  const deps = { failer: failer(), source, ledger, notifier, logger: log.logger, counters };
  const failure = {
    uuid: running.uuid,
    jobName: `buildkite-${running.uuid}`,
    tags: ["queue=kubernetes"],
    message: "The following images could not be pulled",
    what: "image pull failure",
    agentNote: "Image pull failure; the job will fail once the agent times out. agent: ErrImagePull (nope)",
  };
  expect(await failOnBuildkite(deps, failure, "cancel-if-running", signal)).toBe("not-acquirable");
  expect(await failOnBuildkite(deps, failure, "cancel-if-running", signal)).toBe("already-failed");
  expect(notes).toEqual([[running.uuid, failure.agentNote]]);
  const metric = async (name: string) =>
    (await registry.getSingleMetricAsString(name)).trim().split("\n").at(-1);
  expect(await metric("cancelled")).toBe("cancelled 0");
  expect(await metric("cancel_errors")).toBe("cancel_errors 0");
  expect(log.text()).toContain(
    "the Stacks API cannot cancel a job, so the job fails when the agent gives up",
  );
  expect(fake.job(running.uuid)?.state).toBe("RUNNING");
});
