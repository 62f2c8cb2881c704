import { afterEach, beforeEach, expect, test } from "vitest";
import { createClusterJobs, type StackJobs } from "../../../launcher/kubernetes/cluster-jobs.ts";
import { createKubernetesWatchers, type KubernetesWatchers } from "../../../launcher/kubernetes/watchers.ts";
import { containerState } from "../../fakes/kubernetes-kubelet.ts";
import {
  eventually,
  expandedJob,
  jobNameOf,
  ManualClock,
  NS,
  RecordingFailer,
  RecordingSource,
  startTestCluster,
  type TestCluster,
  uuidOf,
} from "./helpers.ts";

let cluster: TestCluster;
let source: RecordingSource;
let failer: RecordingFailer;
let clock: ManualClock;
let jobs: StackJobs;
let watchers: KubernetesWatchers;

beforeEach(async () => {
  cluster = await startTestCluster();
  source = new RecordingSource();
  failer = new RecordingFailer(source);
  clock = new ManualClock();
  await start();
});

async function restart(): Promise<void> {
  await watchers.stop();
  await jobs.stop();
  await start();
}

async function start(): Promise<void> {
  const kubeConfig = cluster.fake.kubeConfig();
  const config = {
    namespace: NS,
    id: "",
    imagePullBackoffGracePeriod: 30e9,
    podPendingTimeout: 900e9,
    emptyJobGracePeriod: 30e9,
    jobCancelCheckerPollInterval: 20e6,
    enableCompletionWatcher: true,
    defaultTerminationGracePeriodSeconds: 60,
  };
  jobs = createClusterJobs({ kubeConfig, config, logger: cluster.logger, registry: cluster.registry });
  watchers = createKubernetesWatchers({
    kubeConfig,
    config,
    jobs,
    failer,
    source,
    logger: cluster.logger,
    registry: cluster.registry,
    clock,
  });
  jobs.start();
  watchers.start();
  await jobs.synced(AbortSignal.timeout(5_000));
  await eventually("the watchers to be ready", () => watchers.ready() && jobs.ready());
}

afterEach(async () => {
  await watchers.stop();
  await jobs.stop();
  await cluster.close();
});

test("an evicted pod's job is failed once, though the pod watcher and the job watcher both see it", async () => {
  // Buildkite keeps saying SCHEDULED: only the shared ledger stops the job watcher's backstop.
  failer = new RecordingFailer();
  await restart();
  await cluster.createJob(expandedJob(uuidOf(1)));
  const pod = cluster.fake.cluster.startJob(NS, jobNameOf(uuidOf(1)))!;
  cluster.fake.cluster.evictPod(NS, pod.metadata!.name!);
  await eventually("the failure", () => failer.requests.length === 1);
  await eventually("the Job to have failed", () => jobs.inFlight() === 0);
  // Past the job watcher's backstop delay for a Job that failed with its pod.
  clock.advance(60_000);
  await watchers.checkNow();
  expect(failer.requests).toHaveLength(1);
  expect(failer.requests[0]?.message).toContain("Evicted");
});

test("an image that cannot be parsed fails the job and its Job goes; a cancelled podless Job goes", async () => {
  await cluster.createJob(expandedJob(uuidOf(1)));
  cluster.fake.cluster.runJob(NS, jobNameOf(uuidOf(1)), {
    containers: { "container-0": containerState.invalidImageName("x y") },
  });
  await cluster.createJob(
    expandedJob(uuidOf(2), (job) => {
      job.spec!.suspend = true;
    }),
  );
  source.set(uuidOf(2), "CANCELED");
  await eventually("both Jobs to go", () => !jobs.has(uuidOf(1)) && !jobs.has(uuidOf(2)));
  expect(failer.requests.map((request) => request.uuid)).toEqual([uuidOf(1)]);
  expect(jobs.inFlight()).toBe(0);
});
