import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createClusterJobs, type StackJobs } from "../../../launcher/kubernetes/cluster-jobs.ts";
import { createFailureLedger, type FailureLedger } from "../../../launcher/kubernetes/failure-ledger.ts";
import { type JobSnapshot, jobSnapshot } from "../../../launcher/kubernetes/job-snapshot.ts";
import { createJobWatcher, type JobWatcher } from "../../../launcher/kubernetes/job-watcher.ts";
import type { Informer } from "../../../runtime/informer.ts";
import { containerState } from "../../fakes/kubernetes-kubelet.ts";
import {
  eventually,
  expandedJob,
  jobNameOf,
  ManualClock,
  ManualInformer,
  NS,
  RecordingFailer,
  RecordingSource,
  startTestCluster,
  type TestCluster,
  uuidOf,
} from "./helpers.ts";

const SECOND = 1_000;
const GRACE_MS = 30 * SECOND;
const BACKSTOP_MS = 5 * SECOND;
const UUID = uuidOf(1);
const JOB = jobNameOf(UUID);

let cluster: TestCluster;
let clock: ManualClock;
let source: RecordingSource;
let failer: RecordingFailer;
let ledger: FailureLedger;
let stack: StackJobs;
let watcher: JobWatcher;

beforeEach(async () => {
  cluster = await startTestCluster();
  clock = new ManualClock();
  source = new RecordingSource();
  failer = new RecordingFailer(source);
  ledger = createFailureLedger({ clock });
  stack = createClusterJobs({
    kubeConfig: cluster.fake.kubeConfig(),
    config: { namespace: NS, id: "" },
    logger: cluster.logger,
    registry: cluster.registry,
  });
  stack.start();
  await stack.synced(AbortSignal.timeout(5_000));
});

afterEach(async () => {
  await watcher.stop();
  await stack.stop();
  await cluster.close();
});

function startWatcher(jobs: Informer<JobSnapshot> = stack.jobs): void {
  watcher = createJobWatcher({
    jobs,
    api: cluster.api,
    failer,
    source,
    ledger,
    config: { emptyJobGracePeriod: GRACE_MS * 1_000_000 },
    logger: cluster.logger,
    registry: cluster.registry,
    clock,
    sweepIntervalMs: 0,
    backstopDelayMs: BACKSTOP_MS,
    retry: { initialMs: 10 * SECOND, maxAttempts: 3 },
  });
  watcher.start();
}

async function caughtUp(name = JOB): Promise<void> {
  await eventually(`the informer to catch up with ${name}`, () => {
    const stored = cluster.fake.get("batch/v1", "Job", NS, name)?.metadata?.resourceVersion;
    return stack.jobs.get(name)?.resourceVersion === stored;
  });
  await watcher.settled();
}

async function sweep(): Promise<void> {
  watcher.sweep();
  await watcher.settled();
}

const jobExists = (name = JOB) => cluster.fake.get("batch/v1", "Job", NS, name) !== undefined;

/** A started Job that the Job controller could not give a pod (a quota), with the controller's event. */
async function stalledJob(uuid = UUID): Promise<void> {
  await cluster.createJob(expandedJob(uuid));
  cluster.fake.cluster.startJob(NS, jobNameOf(uuid), { withoutPod: true });
  cluster.fake.cluster.recordEvent(
    NS,
    { kind: "Job", name: jobNameOf(uuid) },
    {
      type: "Warning",
      reason: "FailedCreate",
      message: `Error creating: pods "${jobNameOf(uuid)}-x" is forbidden: exceeded quota: compute, requested: cpu=2, used: cpu=8, limited: cpu=8`,
      count: 4,
    },
  );
  await caughtUp(jobNameOf(uuid));
}

describe("a Job without a pod past empty-job-grace-period", () => {
  test("fails the job with how long it waited and the Job's events, then the Job is deleted", async () => {
    startWatcher();
    await stalledJob();
    await sweep();
    expect(failer.requests).toEqual([]);
    clock.advance(GRACE_MS);
    await sweep();
    expect(failer.requests).toHaveLength(1);
    const { message, agentName, tags } = failer.requests[0]!;
    expect({ agentName, tags }).toEqual({ agentName: JOB, tags: ["queue=kubernetes"] });
    expect(message).toMatch(/^The Kubernetes job spent 3\ds without starting a pod\.\n╭/);
    expect(message).toMatch(/LAST EVENT +│ REPEATED │ TYPE +│ REASON +│ MESSAGE/);
    expect(message).toMatch(/│ x4 +│ Warning │ FailedCreate │ Error creating: pods/);
    await eventually("the Job to be deleted", () => !jobExists());
    expect(await cluster.metric("buildkite_job_watcher_jobs_stalled_without_pod_total")).toBe(1);
    expect(
      await cluster.metric("buildkite_job_watcher_jobs_forcefully_deleted_total", {
        delete_reason: "stalled_without_pod",
      }),
    ).toBe(1);
  });

  test("a Job that was never started (suspended) does not stall", async () => {
    startWatcher();
    await cluster.createJob(
      expandedJob(UUID, (job) => {
        job.spec!.suspend = true;
      }),
    );
    await caughtUp();
    clock.advance(10 * GRACE_MS);
    await sweep();
    expect(failer.requests).toEqual([]);
    expect(source.stateQueries).toEqual([]);
  });

  test("a Job whose pod arrives within the grace period is left alone", async () => {
    startWatcher();
    await stalledJob();
    cluster.fake.cluster.runJob(NS, JOB, { phase: "Running" });
    await caughtUp();
    clock.advance(GRACE_MS);
    await sweep();
    expect(source.stateQueries).toEqual([]);
  });

  test("when the events cannot be read the message says so", async () => {
    startWatcher();
    await stalledJob();
    cluster.fake.failNext(2, 500, { match: (_method, path) => path.includes("/events") });
    clock.advance(GRACE_MS);
    await sweep();
    expect(failer.requests[0]?.message).toMatch(
      new RegExp(`without starting a pod\\.\\nCouldn't get events for job ${JOB}: list the Events of Job`),
    );
  });
});

describe("a Job that finished without a pod", () => {
  test("fails the job at once, then the Job is deleted", async () => {
    startWatcher();
    await stalledJob();
    cluster.fake.cluster.finishJob(NS, JOB, {
      type: "Failed",
      reason: "DeadlineExceeded",
      message: "Job was active longer than specified deadline",
    });
    await caughtUp();
    await eventually("the failure", () => failer.requests.length === 1);
    await watcher.settled();
    expect(failer.requests[0]?.message).toMatch(/^The Kubernetes job ended without starting a pod\.\n╭/);
    await eventually("the Job to be deleted", () => !jobExists());
    expect(await cluster.metric("buildkite_job_watcher_jobs_finished_without_pod_total")).toBe(1);
  });

  test("a job that is over in Buildkite is not failed, but its Job goes", async () => {
    startWatcher();
    source.set(UUID, "CANCELED");
    await stalledJob();
    cluster.fake.cluster.finishJob(NS, JOB, { type: "Failed", reason: "DeadlineExceeded" });
    await caughtUp();
    await eventually("the Job to be deleted", () => !jobExists());
    expect(failer.requests).toEqual([]);
  });
});

describe("confirming before failing, as upstream HEAD does", () => {
  test("an agent that has the job: skipped (agent_active), the Job kept", async () => {
    startWatcher();
    source.set(UUID, "RUNNING");
    await stalledJob();
    clock.advance(GRACE_MS);
    await sweep();
    await sweep();
    expect(failer.requests).toEqual([]);
    expect(jobExists()).toBe(true);
    expect(source.stateQueries).toEqual([UUID]);
    expect(
      await cluster.metric("buildkite_job_watcher_stalled_cleanup_skipped_total", { reason: "agent_active" }),
    ).toBe(1);
  });

  test("a pod the cache has not shown yet: skipped (pod_exists)", async () => {
    const jobs = new ManualInformer<JobSnapshot>();
    startWatcher(jobs);
    await stalledJob();
    const stale = stack.jobs.get(JOB)!;
    cluster.fake.cluster.runJob(NS, JOB, { phase: "Running" });
    jobs.emit({ type: "add", object: stale });
    clock.advance(GRACE_MS);
    await sweep();
    expect(failer.requests).toEqual([]);
    expect(jobExists()).toBe(true);
    expect(
      await cluster.metric("buildkite_job_watcher_stalled_cleanup_skipped_total", { reason: "pod_exists" }),
    ).toBe(1);
  });

  test("a Job replaced under the same name: skipped (job_replaced); a Job gone: skipped (job_gone)", async () => {
    const jobs = new ManualInformer<JobSnapshot>();
    startWatcher(jobs);
    await stalledJob();
    const stale = { ...stack.jobs.get(JOB)!, uid: "00000000-0000-4000-8000-000000000000" };
    jobs.emit({ type: "add", object: stale });
    const gone = jobSnapshot({
      metadata: { name: jobNameOf(uuidOf(9)), uid: "u", labels: { "buildkite.com/job-uuid": uuidOf(9) } },
      status: { startTime: new Date(clock.now()).toISOString() },
    })!;
    jobs.emit({ type: "add", object: gone });
    clock.advance(GRACE_MS);
    await sweep();
    expect(failer.requests).toEqual([]);
    expect(jobExists()).toBe(true);
    expect(
      await cluster.metric("buildkite_job_watcher_stalled_cleanup_skipped_total", { reason: "job_replaced" }),
    ).toBe(1);
    expect(
      await cluster.metric("buildkite_job_watcher_stalled_cleanup_skipped_total", { reason: "job_gone" }),
    ).toBe(1);
  });
});

describe("once, and within bounds", () => {
  test("a refused acquire is logged, never retried, and the useless Job still goes", async () => {
    startWatcher();
    failer.mode = "reject";
    await stalledJob();
    clock.advance(GRACE_MS);
    await sweep();
    clock.advance(GRACE_MS);
    await sweep();
    expect(failer.requests).toHaveLength(1);
    expect(cluster.logs.text()).toContain("it is no longer acquirable");
    await eventually("the Job to be deleted", () => !jobExists());
  });

  test("Buildkite not answering is retried after a back-off, and failing then succeeds", async () => {
    startWatcher();
    source.failures = 1;
    await stalledJob();
    clock.advance(GRACE_MS);
    await sweep();
    await sweep();
    expect(source.stateQueries).toHaveLength(1);
    clock.advance(10 * SECOND);
    await sweep();
    expect(failer.requests).toHaveLength(1);
  });
});

describe("the backstop for a pod that failed before an agent acquired the job (HEAD)", () => {
  async function failedPodJob(): Promise<void> {
    await cluster.createJob(expandedJob(UUID));
    cluster.fake.cluster.runJob(NS, JOB, { phase: "Running" });
    cluster.fake.cluster.runJob(NS, JOB, { phase: "Failed", containers: { agent: containerState.error(1) } });
    await caughtUp();
  }

  test("fails a job Buildkite still has scheduled, after leaving the pod watcher time to do it", async () => {
    startWatcher();
    await failedPodJob();
    await sweep();
    expect(source.stateQueries).toEqual([]);
    clock.advance(BACKSTOP_MS);
    await sweep();
    expect(failer.requests).toHaveLength(1);
    expect(failer.requests[0]?.message).toMatch(
      /^The Kubernetes pod failed before the buildkite-agent acquired this Buildkite job\. The pod was likely killed by Kubernetes \(eviction, OOM, node failure\) or terminated externally before the agent could start\.\n/,
    );
    expect(jobExists()).toBe(true);
    expect(await cluster.metric("buildkite_job_watcher_jobs_failed_before_agent_acquire_total")).toBe(1);
  });

  test("does nothing when the pod watcher failed the job already", async () => {
    startWatcher();
    ledger.claim(UUID);
    await failedPodJob();
    clock.advance(BACKSTOP_MS);
    await sweep();
    expect(source.stateQueries).toEqual([]);
    expect(failer.requests).toEqual([]);
  });

  test("does nothing when the agent acquired and finished the job", async () => {
    startWatcher();
    source.set(UUID, "FINISHED");
    await failedPodJob();
    clock.advance(BACKSTOP_MS);
    await sweep();
    expect(failer.requests).toEqual([]);
  });
});
