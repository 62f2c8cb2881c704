import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { type CancelChecker, createCancelChecker } from "../../../launcher/kubernetes/cancel-checker.ts";
import { createClusterJobs, type StackJobs } from "../../../launcher/kubernetes/cluster-jobs.ts";
import { createPodInformer } from "../../../launcher/kubernetes/pod-informer.ts";
import type { PodSnapshot } from "../../../launcher/kubernetes/pod-snapshot.ts";
import type { Informer } from "../../../runtime/informer.ts";
import {
  BatchRecordingSource,
  eventually,
  expandedJob,
  jobNameOf,
  NS,
  RecordingSource,
  startTestCluster,
  type TestCluster,
  uuidOf,
} from "./helpers.ts";

const UUID = uuidOf(1);
const JOB = jobNameOf(UUID);

let cluster: TestCluster;
let stack: StackJobs;
let pods: Informer<PodSnapshot>;
let checker: CancelChecker;

beforeEach(async () => {
  cluster = await startTestCluster();
  stack = createClusterJobs({
    kubeConfig: cluster.fake.kubeConfig(),
    config: { namespace: NS, id: "" },
    logger: cluster.logger,
    registry: cluster.registry,
  });
  pods = createPodInformer({
    kubeConfig: cluster.fake.kubeConfig(),
    config: { namespace: NS, id: "" },
    logger: cluster.logger,
    registry: cluster.registry,
  });
  stack.start();
  pods.start();
  await Promise.all([stack.synced(AbortSignal.timeout(5_000)), pods.synced(AbortSignal.timeout(5_000))]);
});

afterEach(async () => {
  await checker.stop();
  await Promise.all([stack.stop(), pods.stop()]);
  await cluster.close();
});

function startChecker(source: RecordingSource): void {
  checker = createCancelChecker({
    pods,
    jobs: stack.jobs,
    api: cluster.api,
    source,
    config: { jobCancelCheckerPollInterval: 5_000_000_000 },
    logger: cluster.logger,
    registry: cluster.registry,
    pollIntervalMs: 0,
    batchSize: 2,
  });
  checker.start();
}

/** Waits until both informers have what the API server has. */
async function caughtUp(): Promise<void> {
  await eventually("the informers to catch up", () => {
    const storedJob = cluster.fake.get("batch/v1", "Job", NS, JOB)?.metadata?.resourceVersion;
    return (
      stack.jobs.get(JOB)?.resourceVersion === storedJob &&
      cluster.fake.cluster
        .podsOf(NS, JOB)
        .every((pod) => pods.get(pod.metadata!.name!)?.resourceVersion === pod.metadata?.resourceVersion)
    );
  });
}

const jobExists = (name = JOB) => cluster.fake.get("batch/v1", "Job", NS, name) !== undefined;

describe("a job cancelled in Buildkite while its Job waits", () => {
  test("a Pending pod: the Job is deleted, and its pod with it", async () => {
    const source = new RecordingSource();
    startChecker(source);
    await cluster.createJob(expandedJob(UUID));
    const pod = cluster.fake.cluster.startJob(NS, JOB)!;
    await caughtUp();
    expect(checker.registered().get(UUID)).toMatchObject({ kind: "pod", podName: pod.metadata?.name });
    await checker.poll();
    expect(jobExists()).toBe(true);
    source.set(UUID, "CANCELED");
    await checker.poll();
    expect(jobExists()).toBe(false);
    await eventually(
      "the pod to go",
      () => cluster.fake.get("v1", "Pod", NS, pod.metadata!.name!) === undefined,
    );
    expect(checker.registered().size).toBe(0);
    expect(
      await cluster.metric("buildkite_pod_watcher_jobs_forcefully_deleted_total", {
        delete_reason: "job_cancelled",
      }),
    ).toBe(1);
  });

  test("a suspended Job without a pod (held by a queueing system): the Job is deleted", async () => {
    const source = new RecordingSource();
    startChecker(source);
    await cluster.createJob(
      expandedJob(UUID, (job) => {
        job.spec!.suspend = true;
      }),
    );
    await caughtUp();
    expect(checker.registered().get(UUID)).toMatchObject({ kind: "job", jobName: JOB });
    source.set(UUID, "CANCELING");
    await checker.poll();
    expect(jobExists()).toBe(false);
    expect(
      await cluster.metric("buildkite_job_watcher_jobs_forcefully_deleted_total", {
        delete_reason: "job_cancelled",
      }),
    ).toBe(1);
  });

  test("a pod registration is not replaced by its Job's, and checking stops once the pod runs", async () => {
    const source = new RecordingSource();
    startChecker(source);
    await cluster.createJob(expandedJob(UUID));
    await eventually("the Job's registration", () => checker.registered().get(UUID)?.kind === "job");
    cluster.fake.cluster.startJob(NS, JOB);
    await caughtUp();
    expect(checker.registered().get(UUID)?.kind).toBe("pod");
    cluster.fake.cluster.runJob(NS, JOB, { phase: "Running" });
    await caughtUp();
    expect(checker.registered().size).toBe(0);
    source.set(UUID, "CANCELED");
    await checker.poll();
    expect(source.stateQueries).toEqual([]);
    expect(jobExists()).toBe(true);
  });

  test("a job Buildkite says something else about (an agent has it) is not checked again", async () => {
    const source = new RecordingSource();
    startChecker(source);
    await cluster.createJob(expandedJob(UUID));
    cluster.fake.cluster.startJob(NS, JOB);
    await caughtUp();
    source.set(UUID, "ASSIGNED");
    await checker.poll();
    await checker.poll();
    expect(source.stateQueries).toEqual([UUID]);
    expect(jobExists()).toBe(true);
  });

  test("a state query that fails is asked again at the next poll", async () => {
    const source = new RecordingSource();
    source.failures = 1;
    startChecker(source);
    await cluster.createJob(expandedJob(UUID));
    cluster.fake.cluster.startJob(NS, JOB);
    await caughtUp();
    source.set(UUID, "CANCELED");
    await checker.poll();
    expect(jobExists()).toBe(true);
    await checker.poll();
    expect(jobExists()).toBe(false);
  });

  test("states are fetched in batches when the source can, one request per batch", async () => {
    const source = new BatchRecordingSource();
    startChecker(source);
    for (const n of [1, 2, 3]) await cluster.createJob(expandedJob(uuidOf(n)));
    await eventually("three registrations", () => checker.registered().size === 3);
    source.set(uuidOf(2), "CANCELED");
    await checker.poll();
    expect(source.batches.map((batch) => batch.length)).toEqual([2, 1]);
    expect(source.stateQueries).toEqual([]);
    expect(jobExists(jobNameOf(uuidOf(2)))).toBe(false);
    expect(jobExists(jobNameOf(uuidOf(1)))).toBe(true);
  });

  test("the Job going away ends the checking", async () => {
    const source = new RecordingSource();
    startChecker(source);
    await cluster.createJob(expandedJob(UUID));
    await eventually("the registration", () => checker.registered().has(UUID));
    await cluster.batch.deleteNamespacedJob({ namespace: NS, name: JOB });
    await eventually("no registration", () => !checker.registered().has(UUID));
    expect(await cluster.metric("buildkite_pod_watcher_num_job_cancel_checkers")).toBe(0);
  });
});
