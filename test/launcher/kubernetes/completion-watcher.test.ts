import { afterEach, beforeEach, describe, expect, test } from "vitest";
import {
  type CompletionWatcher,
  createCompletionWatcher,
} from "../../../launcher/kubernetes/completion-watcher.ts";
import { createPodInformer } from "../../../launcher/kubernetes/pod-informer.ts";
import type { PodSnapshot } from "../../../launcher/kubernetes/pod-snapshot.ts";
import type { Informer } from "../../../runtime/informer.ts";
import { containerState } from "../../fakes/kubernetes-kubelet.ts";
import {
  eventually,
  expandedJob,
  jobNameOf,
  NS,
  startTestCluster,
  type TestCluster,
  uuidOf,
} from "./helpers.ts";

const UUID = uuidOf(1);
const JOB = jobNameOf(UUID);
const AN_HOUR_AGO = () => new Date(Date.now() - 3_600_000);

let cluster: TestCluster;
let pods: Informer<PodSnapshot>;
let watcher: CompletionWatcher;

beforeEach(async () => {
  cluster = await startTestCluster();
  pods = createPodInformer({
    kubeConfig: cluster.fake.kubeConfig(),
    config: { namespace: NS, id: "" },
    logger: cluster.logger,
    registry: cluster.registry,
  });
  pods.start();
  await pods.synced(AbortSignal.timeout(5_000));
  // A sidecar that outlives the agent, as a database or a Docker daemon does.
  await cluster.createJob(
    expandedJob(UUID, (job) => {
      job.spec!.template.spec!.containers.push({ name: "postgres", image: "postgres:17" });
    }),
  );
});

afterEach(async () => {
  await watcher.stop();
  await pods.stop();
  await cluster.close();
});

function startWatcher(enabled = true): void {
  watcher = createCompletionWatcher({
    pods,
    api: cluster.api,
    config: { enableCompletionWatcher: enabled, defaultTerminationGracePeriodSeconds: 60 },
    logger: cluster.logger,
    registry: cluster.registry,
  });
  watcher.start();
}

async function caughtUp(podName: string): Promise<void> {
  await eventually("the informer to catch up", () => {
    const stored = cluster.fake.get("v1", "Pod", NS, podName)?.metadata?.resourceVersion;
    return pods.get(podName)?.resourceVersion === stored;
  });
  await watcher.settled();
}

const job = () =>
  cluster.fake.get("batch/v1", "Job", NS, JOB) as
    | {
        spec: { activeDeadlineSeconds: number };
        status: { conditions?: Array<{ type: string; reason: string }> };
      }
    | undefined;

describe("sidecars left running after the agent exits", () => {
  test("the Job gets activeDeadlineSeconds = default-termination-grace-period-seconds, and Kubernetes ends it", async () => {
    startWatcher();
    const pod = cluster.fake.cluster.runJob(NS, JOB, { phase: "Running", jobStartTime: AN_HOUR_AGO() });
    await caughtUp(pod.metadata!.name!);
    expect(job()?.spec.activeDeadlineSeconds).toBe(21_600);
    cluster.fake.cluster.setPodStatus(NS, pod.metadata!.name!, {
      phase: "Running",
      containers: { agent: containerState.completed(), postgres: containerState.running() },
    });
    await eventually("the deadline", () => job()?.spec.activeDeadlineSeconds === 60);
    await watcher.settled();
    // The deadline counts from the Job's start, an hour ago: the Job controller ends it at once.
    expect(job()?.status.conditions?.map((condition) => `${condition.type}:${condition.reason}`)).toContain(
      "Failed:DeadlineExceeded",
    );
    expect(cluster.fake.get("v1", "Pod", NS, pod.metadata!.name!)).toBeUndefined();
    expect(await cluster.metric("buildkite_completion_watcher_cleanups_total")).toBe(1);
  });

  test("pods that already ended are skipped, as HEAD skips them", async () => {
    startWatcher();
    const pod = cluster.fake.cluster.runJob(NS, JOB, { phase: "Succeeded" });
    await caughtUp(pod.metadata!.name!);
    expect(job()?.spec.activeDeadlineSeconds).toBe(21_600);
  });

  test("a deadline already shorter is never made longer", async () => {
    startWatcher();
    await cluster.batch.patchNamespacedJob({
      namespace: NS,
      name: JOB,
      body: [{ op: "replace", path: "/spec/activeDeadlineSeconds", value: 30 }],
    });
    const pod = cluster.fake.cluster.runJob(NS, JOB, {
      phase: "Running",
      containers: { agent: containerState.completed(), postgres: containerState.running() },
    });
    await caughtUp(pod.metadata!.name!);
    expect(job()?.spec.activeDeadlineSeconds).toBe(30);
    expect(cluster.fake.requests.filter((request) => request.method === "PATCH")).toHaveLength(1);
  });

  test("each pod is handled once; a failed update is tried again at the pod's next change", async () => {
    startWatcher();
    const pod = cluster.fake.cluster.runJob(NS, JOB, { phase: "Running" });
    await caughtUp(pod.metadata!.name!);
    cluster.fake.failNext(2, 500, { match: (method) => method === "PATCH" });
    const agentDone = { agent: containerState.completed(), postgres: containerState.running() };
    cluster.fake.cluster.setPodStatus(NS, pod.metadata!.name!, { phase: "Running", containers: agentDone });
    await caughtUp(pod.metadata!.name!);
    expect(job()?.spec.activeDeadlineSeconds).toBe(21_600);
    expect(
      await cluster.metric("buildkite_completion_watcher_cleanup_errors_total", { reason: "ServerError" }),
    ).toBe(1);
    cluster.fake.cluster.setPodStatus(NS, pod.metadata!.name!, {
      phase: "Running",
      message: "next change",
      containers: agentDone,
    });
    await caughtUp(pod.metadata!.name!);
    expect(job()?.spec.activeDeadlineSeconds).toBe(60);
    cluster.fake.cluster.setPodStatus(NS, pod.metadata!.name!, {
      phase: "Running",
      message: "again",
      containers: agentDone,
    });
    await caughtUp(pod.metadata!.name!);
    expect(cluster.fake.requests.filter((request) => request.method === "PATCH")).toHaveLength(3);
  });

  test("with enable-completion-watcher off nothing is done", async () => {
    startWatcher(false);
    const pod = cluster.fake.cluster.runJob(NS, JOB, {
      phase: "Running",
      containers: { agent: containerState.completed(), postgres: containerState.running() },
    });
    await caughtUp(pod.metadata!.name!);
    expect(job()?.spec.activeDeadlineSeconds).toBe(21_600);
  });
});
