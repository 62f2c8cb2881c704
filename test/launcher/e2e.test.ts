/**
 * End to end, on loopback, for both job sources (the GraphQL API; the Stacks API with the agent token
 * alone): scheduled jobs in the fake Buildkite → the real launcher (as `agent-stack-k8s launcher` runs
 * it) → the fake Kubernetes API → the real admission webhook over HTTPS → expanded Jobs. Then the same
 * with faults: Buildkite 5xx and timeouts, Kubernetes 429 and 500, the webhook down for a while, the
 * launcher stopped and restarted, two launchers at once. Every job must end created exactly once, or
 * failed on Buildkite with a reason exactly once; none lost, none duplicated.
 */
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { expectValidJob } from "../support/k8s-validate.ts";
import { eventually, freePort } from "../webhook/harness.ts";
import {
  addJob,
  badPluginJob,
  createsOf,
  type Fakes,
  finishesOf,
  JOB_SOURCE_MODES,
  jobsInCluster,
  STACK_KEY,
  startFakes,
  startLauncher,
  uuidsInCluster,
} from "./harness.ts";

let fakes: Fakes;

beforeEach(async () => {
  fakes = await startFakes();
});

afterEach(async () => {
  await fakes.close();
});

describe.each(JOB_SOURCE_MODES)("job-source $name", (mode) => {
  test("scheduled jobs become expanded Jobs, once each; a refused one is failed on Buildkite with the reason", async () => {
    const good = Array.from({ length: 20 }, (_, i) =>
      addJob(fakes, { command: `echo ${i}`, priority: i % 3 }),
    );
    const bad = badPluginJob(fakes);
    const other = addJob(fakes, { agentQueryRules: ["queue=kubernetes", "os=windows"] });
    const launcher = startLauncher(fakes, mode);
    try {
      // The launcher saw each create through (a Job can be in the cluster before its create's answer).
      await eventually(
        "20 Jobs created",
        () => launcher.records().filter((line) => line.msg === "created Job").length === 20,
        20_000,
      );
      await eventually(
        "the bad job failed on Buildkite",
        () => fakes.buildkite.job(bad.uuid)?.state === "FINISHED",
        20_000,
      );
    } finally {
      expect(await launcher.stop()).toBe(0);
    }
    expect(uuidsInCluster(fakes)).toEqual(new Set(good.map((job) => job.uuid)));
    for (const job of jobsInCluster(fakes)) {
      expect(job.metadata.annotations?.["buildkite.com/expanded-by"]).toMatch(/^agent-stack-k8s\//);
      expectValidJob({ apiVersion: "batch/v1", kind: "Job", ...job });
    }
    const failed = fakes.buildkite.job(bad.uuid);
    expect(failed?.exitStatus).toBe(mode.failedExitStatus);
    expect(failed && mode.failureText(failed)).toContain(
      'agent-stack-k8s failed to build a podSpec for the job: invalid reference format "NOT VALID" for container "container-0"',
    );
    expect(finishesOf(fakes, mode, bad.uuid)).toBe(1);
    expect(fakes.buildkite.job(other.uuid)?.state).toBe("SCHEDULED");
    for (const job of good) expect(fakes.buildkite.job(job.uuid)?.state).toBe(mode.waiting);
    if (mode.name === "stacks") {
      // Each Job created is noted on its job's page, and the stopped launcher's stack is deregistered.
      for (const job of good) {
        expect(fakes.buildkite.job(job.uuid)?.notifications.map((note) => note.detail)).toEqual([
          "K8s Job created successfully, waiting for Agent to start...",
        ]);
      }
      expect(fakes.buildkite.stack(STACK_KEY)?.state).toBe("disconnected");
    }
  });

  test("skeletons that reach the API server unexpanded (422) are retried, never failed on Buildkite", async () => {
    // The webhook's namespaceSelector misses the launcher's namespace: no webhook runs on the skeletons.
    const elsewhere = { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ci-jobs" } } };
    fakes.registerWebhook(undefined, elsewhere);
    const jobs = Array.from({ length: 3 }, (_, i) => addJob(fakes, { command: `echo ${i}` }));
    const launcher = startLauncher(fakes, mode);
    try {
      await eventually(
        "the launcher says why it retries",
        () => launcher.logs().includes("the Job reached the API server unexpanded"),
        20_000,
      );
      // Several attempts, and still no job is failed on Buildkite.
      await eventually(
        "a second attempt of a create",
        () => createsOf(fakes, `buildkite-${jobs[0]?.uuid}`) >= 2,
        20_000,
      );
      for (const job of jobs) expect(fakes.buildkite.job(job.uuid)?.state).toBe(mode.waiting);
      fakes.registerWebhook();
      await eventually(
        "every Job, once the selector is fixed",
        () => jobsInCluster(fakes).length === jobs.length,
        30_000,
      );
    } finally {
      expect(await launcher.stop()).toBe(0);
    }
    for (const job of jobs) expect(fakes.buildkite.job(job.uuid)?.state).toBe(mode.waiting);
    for (const job of jobsInCluster(fakes))
      expect(job.metadata.annotations?.["buildkite.com/expanded-by"]).toMatch(/^agent-stack-k8s\//);
  }, 60_000);

  test("faults everywhere: every job is created exactly once or failed once with a reason", async () => {
    const { buildkite, kubernetes } = fakes;
    const good = Array.from({ length: 30 }, (_, i) => addJob(fakes, { command: `echo ${i}` }));
    const bad = [badPluginJob(fakes), badPluginJob(fakes)];
    // Buildkite: the first polls fail with 502 and a timeout.
    buildkite.failNext(1, 502, mode.poll);
    buildkite.failNext(1, "timeout", mode.poll);
    // Kubernetes: creates get 429 and 500 now and then.
    const creates = (method: string, path: string) => method === "POST" && path.endsWith("/jobs");
    kubernetes.failNext(3, 429, { retryAfterSeconds: 1, match: creates });
    kubernetes.failNext(3, 500, { match: creates });
    // The webhook is down at first.
    fakes.registerWebhook(`https://127.0.0.1:${await freePort()}/mutate`);
    let first = startLauncher(fakes, mode);
    try {
      await eventually(
        "the launcher tried while the webhook was down",
        () => first.logs().includes("creating Jobs failed"),
        20_000,
      );
      fakes.registerWebhook();
      await eventually("some Jobs", () => jobsInCluster(fakes).length >= 5, 30_000);
      // Stopped mid-run, then a second launcher and a restarted first one run together.
      expect(await first.stop()).toBe(0);
      mode.afterStop(buildkite);
      first = startLauncher(fakes, mode);
      const second = startLauncher(fakes, mode);
      try {
        await eventually(
          "every good job has its Job",
          () => jobsInCluster(fakes).length === good.length,
          60_000,
        );
        await eventually(
          "both bad jobs failed",
          () => bad.every((job) => buildkite.job(job.uuid)?.state === "FINISHED"),
          60_000,
        );
      } finally {
        expect(await second.stop()).toBe(0);
      }
    } finally {
      expect(await first.stop()).toBe(0);
    }
    // The faults did happen: the injected failures were consumed, and creates were retried.
    expect(buildkite.calls.some((call) => mode.poll(call.kind, call.operation) && call.status === 502)).toBe(
      true,
    );
    const sent = kubernetes.requests.filter((request) => creates(request.method, request.path));
    expect(sent.length).toBeGreaterThanOrEqual(good.length + bad.length + 6);
    const names = jobsInCluster(fakes).map((job) => job.metadata.name);
    expect(new Set(names).size).toBe(names.length);
    expect(uuidsInCluster(fakes)).toEqual(new Set(good.map((job) => job.uuid)));
    for (const job of good) {
      expect(
        buildkite.job(job.uuid)?.state,
        `job ${job.uuid} must not be failed for our own outages`,
      ).not.toBe("FINISHED");
      expect(finishesOf(fakes, mode, job.uuid)).toBe(0);
      expect(createsOf(fakes, `buildkite-${job.uuid}`)).toBeGreaterThanOrEqual(1);
    }
    for (const job of bad) {
      const failed = buildkite.job(job.uuid);
      expect(failed && mode.failureText(failed)).toContain("invalid reference format");
      expect(failed?.exitStatus).toBe(mode.failedExitStatus);
      expect(finishesOf(fakes, mode, job.uuid), `job ${job.uuid} is failed once`).toBe(1);
    }
  }, 150_000);
});
