import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createFailureLedger } from "../../../launcher/kubernetes/failure-ledger.ts";
import { createPodInformer } from "../../../launcher/kubernetes/pod-informer.ts";
import type { PodSnapshot } from "../../../launcher/kubernetes/pod-snapshot.ts";
import { createPodWatcher, type PodWatcher } from "../../../launcher/kubernetes/pod-watcher.ts";
import type { JobNotifier, JobSource, JobState } from "../../../launcher/types.ts";
import type { Informer } from "../../../runtime/informer.ts";
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

const SECOND = 1_000;
const NS_PER_MS = 1_000_000;
const GRACE_MS = 30 * SECOND;
const PENDING_TIMEOUT_MS = 15 * 60 * SECOND;
const UUID = uuidOf(1);
const JOB = jobNameOf(UUID);
const IMAGE = "buildkite/agent:latest";

let cluster: TestCluster;
let clock: ManualClock;
let source: RecordingSource;
let failer: RecordingFailer;
let pods: Informer<PodSnapshot>;
let watcher: PodWatcher;

beforeEach(async () => {
  cluster = await startTestCluster();
  clock = new ManualClock();
  source = new RecordingSource();
  failer = new RecordingFailer(source);
  pods = createPodInformer({
    kubeConfig: cluster.fake.kubeConfig(),
    config: { namespace: NS, id: "" },
    logger: cluster.logger,
    registry: cluster.registry,
  });
  pods.start();
  await pods.synced(AbortSignal.timeout(5_000));
  watcher = newWatcher();
  watcher.start();
  await cluster.createJob(expandedJob(UUID));
});

/** The watcher under test, with the Stacks API's parts when given (a source without cancel, a notifier). */
function newWatcher(parts: { source?: JobSource; notifier?: JobNotifier } = {}): PodWatcher {
  return createPodWatcher({
    pods,
    api: cluster.api,
    failer,
    source: parts.source ?? source,
    ...(parts.notifier === undefined ? {} : { notifier: parts.notifier }),
    ledger: createFailureLedger({ clock }),
    config: {
      imagePullBackoffGracePeriod: GRACE_MS * NS_PER_MS,
      podPendingTimeout: PENDING_TIMEOUT_MS * NS_PER_MS,
    },
    logger: cluster.logger,
    registry: cluster.registry,
    clock,
    sweepIntervalMs: 0,
    retry: { initialMs: 10 * SECOND, maxAttempts: 3 },
  });
}

afterEach(async () => {
  await watcher.stop();
  await pods.stop();
  await cluster.close();
});

/** Waits until the informer has the pod as the API server has it (or not at all), then for the watcher's work. */
async function caughtUp(podName: string): Promise<void> {
  await eventually(`the informer to catch up with ${podName}`, () => {
    const stored = cluster.fake.get("v1", "Pod", NS, podName)?.metadata?.resourceVersion;
    return pods.get(podName)?.resourceVersion === stored;
  });
  await watcher.settled();
}

async function sweep(): Promise<void> {
  watcher.sweep();
  await watcher.settled();
}

const jobExists = () => cluster.fake.get("batch/v1", "Job", NS, JOB) !== undefined;

/** Buildkite answers SCHEDULED to the first state query, then an agent takes the job (RUNNING). */
function agentTakesTheJobAfterTheFirstQuery(): void {
  source.states.set(UUID, "SCHEDULED");
  const original = source.jobState.bind(source);
  let calls = 0;
  source.jobState = async (uuid: string) => {
    calls += 1;
    return calls === 1 ? original(uuid) : "RUNNING";
  };
}

/** The job is in `state` on Buildkite when its pod reports an image that can never be pulled. */
async function invalidImageWhile(state: JobState): Promise<void> {
  source.set(UUID, state);
  const pod = cluster.fake.cluster.runJob(NS, JOB, {
    containers: { "container-0": containerState.invalidImageName("x y") },
  });
  await caughtUp(pod.metadata!.name!);
}

/** An agent runs the job (RUNNING) while one of its pod's containers backs off past the grace period. */
async function agentRunsWithAnImageBackingOff(): Promise<void> {
  source.set(UUID, "RUNNING");
  const pod = cluster.fake.cluster.runJob(NS, JOB, {
    phase: "Running",
    containers: { "container-0": containerState.imagePullBackOff(IMAGE), agent: containerState.running() },
  });
  await caughtUp(pod.metadata!.name!);
  clock.advance(GRACE_MS);
  await sweep();
  await sweep();
}

describe("image pull failures", () => {
  test("past the grace period, a scheduled job is failed naming container and image, and its Job deleted", async () => {
    const pod = cluster.fake.cluster.runJob(NS, JOB, {
      containers: { "container-0": containerState.imagePullBackOff(IMAGE) },
    });
    await caughtUp(pod.metadata!.name!);
    await sweep();
    expect(failer.requests).toEqual([]);
    clock.advance(GRACE_MS);
    await sweep();
    expect(failer.requests).toHaveLength(1);
    const [request] = failer.requests;
    expect(request).toMatchObject({ uuid: UUID, agentName: JOB, tags: ["queue=kubernetes"] });
    expect(request!.message).toMatch(/^The following images could not be pulled or were unavailable:\n\n╭/);
    expect(request!.message).toContain(
      `│ container-0 │ "${IMAGE}" │ ImagePullBackOff │ Back-off pulling image "${IMAGE}" │`,
    );
    await eventually("the Job to be deleted", () => !jobExists());
    expect(cluster.fake.get("v1", "Pod", NS, pod.metadata!.name!)).toBeUndefined();
    expect(
      await cluster.metric("buildkite_pod_watcher_jobs_forcefully_deleted_total", {
        delete_reason: "image_pull_failure",
      }),
    ).toBe(1);
    const deletes = cluster.fake.requests.filter((request) => request.method === "DELETE");
    expect(deletes[0]?.path).toContain("gracePeriodSeconds=0");
    expect(deletes[0]?.path).toContain("propagationPolicy=Background");
  });

  test("ErrImagePull counts too (HEAD), and an init container's failure as well", async () => {
    const pod = cluster.fake.cluster.runJob(NS, JOB, {
      initContainers: { "copy-agent": containerState.errImagePull("buildkite/agent:nope") },
    });
    await caughtUp(pod.metadata!.name!);
    clock.advance(GRACE_MS);
    await sweep();
    expect(failer.requests[0]?.message).toContain('│ copy-agent │ "buildkite/agent:latest" │ ErrImagePull │');
  });

  test("InvalidImageName fails at once, without waiting for the grace period", async () => {
    const pod = cluster.fake.cluster.runJob(NS, JOB, {
      containers: { "container-0": containerState.invalidImageName("Bad Image!") },
    });
    await caughtUp(pod.metadata!.name!);
    expect(failer.requests).toHaveLength(1);
    expect(failer.requests[0]?.message).toContain("InvalidImageName");
  });

  test("a container that is not the stack's own is ignored while it backs off, as upstream", async () => {
    const job = expandedJob(uuidOf(2), (spec) => {
      spec.spec!.template.spec!.containers.push({ name: "helper", image: "helper:1" });
    });
    await cluster.createJob(job);
    const pod = cluster.fake.cluster.runJob(NS, jobNameOf(uuidOf(2)), {
      containers: { helper: containerState.imagePullBackOff("helper:1") },
    });
    await caughtUp(pod.metadata!.name!);
    clock.advance(GRACE_MS);
    await sweep();
    expect(failer.requests).toEqual([]);
  });

  test("when an agent has the job already it is not failed from here: the agent reports", async () => {
    await agentRunsWithAnImageBackingOff();
    expect(failer.requests).toEqual([]);
    expect(source.stateQueries).toEqual([UUID]);
    expect(jobExists()).toBe(true);
    expect(cluster.logs.text()).toContain("an agent has the job already: it reports the failure");
  });

  test("a job that is over is left alone", async () => {
    await invalidImageWhile("CANCELED");
    expect(failer.requests).toEqual([]);
    expect(jobExists()).toBe(true);
  });

  test("when the acquire is refused while an agent runs the job, it is cancelled instead, once (§2.7.1)", async () => {
    failer.mode = "reject";
    const pod = cluster.fake.cluster.runJob(NS, JOB, {
      containers: { "container-0": containerState.invalidImageName("x y") },
    });
    agentTakesTheJobAfterTheFirstQuery();
    await caughtUp(pod.metadata!.name!);
    expect(source.cancelled).toEqual([UUID]);
    cluster.fake.cluster.setPodStatus(NS, pod.metadata!.name!, {
      containers: { "container-0": containerState.invalidImageName("x y z") },
    });
    await caughtUp(pod.metadata!.name!);
    await sweep();
    expect(failer.requests).toHaveLength(1);
    expect(source.cancelled).toHaveLength(1);
    expect(await cluster.metric("buildkite_pod_watcher_jobs_cancelled_on_buildkite_total")).toBe(1);
  });
});

describe("image pull failures with the Stacks API (no cancel; notes on the job's page)", () => {
  const notes: Array<[string, string]> = [];
  const notifier: JobNotifier = { notify: (uuid, detail) => void notes.push([uuid, detail]) };
  /** The recording source without `cancelJob`, as the Stacks API source is. */
  const stacksSource = (): JobSource => ({
    scheduledJobs: () => source.scheduledJobs(),
    jobState: (uuid) => source.jobState(uuid),
  });

  beforeEach(async () => {
    notes.length = 0;
    await watcher.stop();
    watcher = newWatcher({ source: stacksSource(), notifier });
    watcher.start();
  });

  test("an agent runs the job: upstream's note on its page, once, naming the containers; nothing failed", async () => {
    await agentRunsWithAnImageBackingOff();
    expect(failer.requests).toEqual([]);
    expect(notes).toEqual([
      [
        UUID,
        `Image pull failure; the job will fail once the agent times out. container-0: ImagePullBackOff (Back-off pulling image "${IMAGE}")`,
      ],
    ]);
    expect(jobExists()).toBe(true);
    expect(cluster.logs.text()).toContain("the Stacks API cannot cancel a job");
  });

  test("a job being cancelled gets no note", async () => {
    await invalidImageWhile("CANCELING");
    expect(notes).toEqual([]);
    expect(failer.requests).toEqual([]);
  });

  test("an agent took the job between the state query and the finish: a note instead of a cancel, once", async () => {
    failer.mode = "reject";
    agentTakesTheJobAfterTheFirstQuery();
    const pod = cluster.fake.cluster.runJob(NS, JOB, {
      containers: { "container-0": containerState.invalidImageName("x y") },
    });
    await caughtUp(pod.metadata!.name!);
    await sweep();
    expect(failer.requests).toHaveLength(1);
    expect(source.cancelled).toEqual([]);
    expect(notes.map(([uuid, detail]) => [uuid, detail.split(" container-0")[0]])).toEqual([
      [UUID, "Image pull failure; the job will fail once the agent times out."],
    ]);
    expect(await cluster.metric("buildkite_pod_watcher_jobs_cancelled_on_buildkite_total")).toBe(0);
  });
});

describe("pods that end before the agent starts", () => {
  test("an evicted pod fails the job at once, with the eviction in the message", async () => {
    const pod = cluster.fake.cluster.startJob(NS, JOB)!;
    cluster.fake.cluster.evictPod(NS, pod.metadata!.name!);
    await caughtUp(pod.metadata!.name!);
    expect(failer.requests).toHaveLength(1);
    const message = failer.requests[0]!.message;
    expect(message).toMatch(
      new RegExp(
        `^The Kubernetes pod ${pod.metadata!.name} failed before its buildkite-agent container started`,
      ),
    );
    expect(message).toContain("Pod status: Evicted: The node was low on resource: memory.");
    expect(message).toContain("DisruptionTarget: TerminationByKubelet");
    expect(message).toContain("│ agent");
    expect(message).toContain("ContainerStatusUnknown");
  });

  test("a pod deleted before the agent started fails the job, saying it was deleted", async () => {
    const pod = cluster.fake.cluster.startJob(NS, JOB)!;
    await caughtUp(pod.metadata!.name!);
    await cluster.fake
      .kubeConfig()
      .makeApiClient((await import("@kubernetes/client-node")).CoreV1Api)
      .deleteNamespacedPod({ namespace: NS, name: pod.metadata!.name! });
    await eventually("the failure", () => failer.requests.length > 0);
    await watcher.settled();
    expect(failer.requests).toHaveLength(1);
    expect(failer.requests[0]!.message).toMatch(
      /^The Kubernetes pod .* was deleted before its buildkite-agent container started/,
    );
  });

  test("an OOM-killed init container fails the job with the init container table", async () => {
    const pod = cluster.fake.cluster.runJob(NS, JOB, {
      phase: "Failed",
      initContainers: { "copy-agent": containerState.oomKilled() },
    });
    await caughtUp(pod.metadata!.name!);
    expect(failer.requests).toHaveLength(1);
    expect(failer.requests[0]!.message).toMatch(/^The following init containers failed:\n\n╭/);
    expect(failer.requests[0]!.message).toContain("│ copy-agent │ 137       │ 0      │ OOMKilled │");
  });

  test("a native sidecar that stops is not an init container failure", async () => {
    await cluster.createJob(
      expandedJob(uuidOf(3), (job) => {
        job.spec!.template.spec!.initContainers!.push({
          name: "sidecar-0",
          image: "redis:7",
          restartPolicy: "Always",
        });
      }),
    );
    const pod = cluster.fake.cluster.runJob(NS, jobNameOf(uuidOf(3)), {
      phase: "Running",
      initContainers: { "sidecar-0": containerState.error(1) },
      containers: { agent: containerState.running() },
    });
    await caughtUp(pod.metadata!.name!);
    expect(failer.requests).toEqual([]);
  });

  test("a pod that fails after its agent started is the agent's to report", async () => {
    const name = cluster.fake.cluster.runJob(NS, JOB, { phase: "Running" }).metadata!.name!;
    await caughtUp(name);
    cluster.fake.cluster.setPodStatus(NS, name, {
      phase: "Failed",
      containers: { agent: containerState.oomKilled() },
    });
    await caughtUp(name);
    expect(failer.requests).toEqual([]);
  });

  test("a job no longer scheduled (someone else acquired it) is not failed", async () => {
    source.set(UUID, "ACCEPTED");
    const pod = cluster.fake.cluster.startJob(NS, JOB)!;
    cluster.fake.cluster.evictPod(NS, pod.metadata!.name!);
    await caughtUp(pod.metadata!.name!);
    expect(failer.requests).toEqual([]);
  });

  test("a job is failed once, whatever events follow (quirk Q3 fixed)", async () => {
    const pod = cluster.fake.cluster.runJob(NS, JOB, {
      phase: "Failed",
      initContainers: { "copy-agent": containerState.error(2) },
    });
    await caughtUp(pod.metadata!.name!);
    for (let round = 0; round < 3; round += 1) {
      cluster.fake.cluster.setPodStatus(NS, pod.metadata!.name!, {
        phase: "Failed",
        message: `round ${round}`,
        initContainers: { "copy-agent": containerState.error(2) },
      });
      await caughtUp(pod.metadata!.name!);
      await sweep();
    }
    await cluster.batch.deleteNamespacedJob({ namespace: NS, name: JOB, propagationPolicy: "Background" });
    await eventually("the pod to go", () => pods.get(pod.metadata!.name!) === undefined);
    await watcher.settled();
    expect(failer.requests).toHaveLength(1);
    expect(source.stateQueries).toEqual([UUID]);
  });
});

describe("the pending timeout", () => {
  test("a pod pending past pod-pending-timeout fails the job with HEAD's message and conditions, and its Job goes", async () => {
    const pod = cluster.fake.cluster.startJob(NS, JOB)!;
    cluster.fake.cluster.setPodStatus(NS, pod.metadata!.name!, {
      scheduled: false,
      unschedulableMessage: "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.",
    });
    await caughtUp(pod.metadata!.name!);
    // creationTimestamp has whole seconds: leave a margin on the near side.
    clock.advance(PENDING_TIMEOUT_MS - 5 * SECOND);
    await sweep();
    expect(failer.requests).toEqual([]);
    clock.advance(5 * SECOND);
    await sweep();
    expect(failer.requests).toHaveLength(1);
    expect(failer.requests[0]!.message).toMatch(
      /^The pod has been in Pending state for 15m\d+s without starting\.\n/,
    );
    expect(failer.requests[0]!.message).toContain(
      "\nPod Conditions:\n  - PodScheduled: False (Reason: Unschedulable, Message: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.)\n",
    );
    await eventually("the Job to be deleted", () => !jobExists());
    expect(
      await cluster.metric("buildkite_pod_watcher_jobs_forcefully_deleted_total", {
        delete_reason: "pending_timeout",
      }),
    ).toBe(1);
  });

  test("a pending pod with an image problem is left to the image path", async () => {
    await cluster.createJob(
      expandedJob(uuidOf(2), (job) => {
        job.spec!.template.spec!.containers.push({ name: "helper", image: "helper:1" });
      }),
    );
    const pod = cluster.fake.cluster.runJob(NS, jobNameOf(uuidOf(2)), {
      containers: { helper: containerState.imagePullBackOff("helper:1") },
    });
    await caughtUp(pod.metadata!.name!);
    clock.advance(PENDING_TIMEOUT_MS);
    await sweep();
    expect(failer.requests).toEqual([]);
    expect(source.stateQueries).toEqual([]);
  });
});

describe("our own outages", () => {
  test("Buildkite not answering is retried with back-off, a bounded number of times", async () => {
    source.failures = 100;
    const pod = cluster.fake.cluster.runJob(NS, JOB, {
      containers: { "container-0": containerState.invalidImageName("x y") },
    });
    await caughtUp(pod.metadata!.name!);
    expect(source.stateQueries).toHaveLength(1);
    await sweep();
    expect(source.stateQueries).toHaveLength(1);
    clock.advance(10 * SECOND);
    await sweep();
    expect(source.stateQueries).toHaveLength(2);
    clock.advance(20 * SECOND);
    await sweep();
    expect(source.stateQueries).toHaveLength(3);
    clock.advance(60 * SECOND);
    await sweep();
    expect(source.stateQueries).toHaveLength(3);
    expect(cluster.logs.text()).toContain("failed too many times: giving up on this job");
    expect(failer.requests).toEqual([]);
  });

  test("a pull that succeeds while a retry waits is not failed after all", async () => {
    source.failures = 1;
    const pod = cluster.fake.cluster.runJob(NS, JOB, {
      containers: { "container-0": containerState.imagePullBackOff(IMAGE) },
    });
    await caughtUp(pod.metadata!.name!);
    clock.advance(GRACE_MS);
    await sweep();
    expect(source.stateQueries).toHaveLength(1);
    cluster.fake.cluster.setPodStatus(NS, pod.metadata!.name!, { phase: "Running" });
    await caughtUp(pod.metadata!.name!);
    clock.advance(60 * SECOND);
    await sweep();
    expect(source.stateQueries).toHaveLength(1);
    expect(failer.requests).toEqual([]);
  });

  test("failing that does not go through is retried, and succeeds once Buildkite answers", async () => {
    failer.mode = "error";
    const pod = cluster.fake.cluster.runJob(NS, JOB, {
      containers: { "container-0": containerState.invalidImageName("x y") },
    });
    await caughtUp(pod.metadata!.name!);
    expect(failer.requests).toHaveLength(1);
    failer.mode = "fail";
    clock.advance(10 * SECOND);
    await sweep();
    expect(failer.requests).toHaveLength(2);
    await eventually("the Job to be deleted", () => !jobExists());
    expect(await cluster.metric("buildkite_pod_watcher_job_fail_on_buildkite_errors_total")).toBe(1);
    expect(await cluster.metric("buildkite_pod_watcher_jobs_failed_on_buildkite_total")).toBe(1);
  });
});
