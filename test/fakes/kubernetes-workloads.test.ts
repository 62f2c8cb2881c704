import {
  ApiException,
  BatchV1Api,
  CoreV1Api,
  type KubernetesObject,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  type V1Job,
  type V1Pod,
} from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { Job } from "../../src/generated/k8s-types.ts";
import { renderJob, testJob } from "../support/fixtures.ts";
import { type FakeKubernetes, startFakeKubernetes } from "./kubernetes-api.ts";
import { containerState } from "./kubernetes-kubelet.ts";

let fake: FakeKubernetes;
let batch: BatchV1Api;
let core: CoreV1Api;

beforeEach(async () => {
  fake = await startFakeKubernetes();
  batch = fake.kubeConfig().makeApiClient(BatchV1Api);
  core = fake.kubeConfig().makeApiClient(CoreV1Api);
});

afterEach(async () => {
  await fake.close();
});

const NS = "default";
const UUID = "0195a2b0-0000-4000-8000-000000000001";

/** A Job as the webhook expands it: agent, checkout, command container, copy-agent. */
function expandedJob(uuid = UUID): Job {
  return renderJob(testJob({ uuid }));
}

async function createJob(job: Job = expandedJob()): Promise<V1Job> {
  return batch.createNamespacedJob({ namespace: NS, body: job as V1Job });
}

async function statusOf(call: Promise<unknown>): Promise<{ code: number; reason?: string; message: string }> {
  const error = await call.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (caught: unknown) => caught,
  );
  if (!(error instanceof ApiException)) throw error;
  const body = JSON.parse(error.body as string) as { code: number; reason?: string; message: string };
  return {
    code: body.code,
    ...(body.reason === undefined ? {} : { reason: body.reason }),
    message: body.message,
  };
}

function jobOf(name: string): Record<string, unknown> & { status?: Record<string, unknown> } {
  return fake.get("batch/v1", "Job", NS, name) as Record<string, unknown> & {
    status?: Record<string, unknown>;
  };
}

function conditionTypes(name: string): string[] {
  const conditions = (jobOf(name).status?.conditions ?? []) as Array<{ type: string; reason: string }>;
  return conditions.map((condition) => `${condition.type}:${condition.reason}`);
}

describe("Jobs", () => {
  test("a create is defaulted, gets a selector on its uid and job-name labels on its pod template", async () => {
    const created = await createJob();
    const uid = created.metadata?.uid;
    expect(created.spec?.selector?.matchLabels).toEqual({ "batch.kubernetes.io/controller-uid": uid });
    expect(created.spec?.template.metadata?.labels).toMatchObject({
      "job-name": created.metadata?.name,
      "batch.kubernetes.io/job-name": created.metadata?.name,
      "controller-uid": uid,
    });
    expect(created.spec).toMatchObject({ completions: 1, parallelism: 1, suspend: false, backoffLimit: 0 });
    expect(created.spec?.template.spec?.dnsPolicy).toBe("ClusterFirst");
    expect(created.status).toEqual({});
  });

  test("generateName gives a name with a random suffix", async () => {
    const job = expandedJob();
    job.metadata = { ...job.metadata, name: undefined, generateName: "buildkite-" } as Job["metadata"];
    const created = await createJob(job);
    expect(created.metadata?.name).toMatch(/^buildkite-[0-9a-f]{5}$/);
    expect(created.spec?.template.metadata?.labels?.["job-name"]).toBe(created.metadata?.name);
  });

  test("a Job without containers is 422 Invalid, worded with the group as kube-apiserver words it", async () => {
    const job = expandedJob();
    job.spec!.template.spec!.containers = [];
    expect(await statusOf(createJob(job))).toEqual({
      code: 422,
      reason: "Invalid",
      message: `Job.batch "buildkite-${UUID}" is invalid: spec.template.spec.containers: Required value`,
    });
  });

  test("a second create of the same name is 409 AlreadyExists", async () => {
    await createJob();
    expect(await statusOf(createJob())).toMatchObject({ code: 409, reason: "AlreadyExists" });
  });

  test("dryRun=All validates and answers without storing", async () => {
    const response = await fetch(`${fake.url}/apis/batch/v1/namespaces/${NS}/jobs?dryRun=All`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(expandedJob()),
    });
    expect(response.status).toBe(201);
    expect(jobOf(`buildkite-${UUID}`)).toBeUndefined();
  });

  test("list and watch select on label existence (key) and absence (!key)", async () => {
    await createJob(expandedJob("0195a2b0-0000-4000-8000-00000000000a"));
    const other = expandedJob("0195a2b0-0000-4000-8000-00000000000b");
    other.metadata!.labels = { ...other.metadata?.labels, "buildkite.com/controller-id": "blue" };
    await createJob(other);
    const names = async (labelSelector: string) =>
      (await batch.listNamespacedJob({ namespace: NS, labelSelector })).items.map(
        (job) => job.metadata?.name,
      );
    expect(await names("buildkite.com/job-uuid,!buildkite.com/controller-id")).toEqual([
      "buildkite-0195a2b0-0000-4000-8000-00000000000a",
    ]);
    expect(await names("buildkite.com/job-uuid,buildkite.com/controller-id=blue")).toEqual([
      "buildkite-0195a2b0-0000-4000-8000-00000000000b",
    ]);
    expect(await names("buildkite.com/controller-id")).toEqual([
      "buildkite-0195a2b0-0000-4000-8000-00000000000b",
    ]);
  });

  test("an update keeps the status, and a write to /status changes only the status", async () => {
    const created = await createJob();
    const name = created.metadata!.name!;
    fake.cluster.startJob(NS, name, { withoutPod: true });
    const read = await batch.readNamespacedJob({ namespace: NS, name });
    const replaced = await batch.replaceNamespacedJob({
      namespace: NS,
      name,
      body: {
        ...read,
        metadata: { ...read.metadata, labels: { ...read.metadata?.labels, a: "b" } },
        status: {},
      },
    });
    expect(replaced.status?.startTime).toBeInstanceOf(Date);
    expect(replaced.metadata?.labels?.a).toBe("b");
    await batch.patchNamespacedJobStatus(
      {
        namespace: NS,
        name,
        body: {
          status: { conditions: [{ type: "Custom", status: "True" }] },
          metadata: { labels: { c: "d" } },
        },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    const after = jobOf(name);
    expect(after.status?.conditions).toEqual([{ type: "Custom", status: "True" }]);
    expect((after.metadata as { labels: Record<string, string> }).labels.c).toBeUndefined();
  });

  test("the pod template of a started Job is immutable; activeDeadlineSeconds is not", async () => {
    const created = await createJob();
    const name = created.metadata!.name!;
    const patch = (body: unknown) =>
      batch.patchNamespacedJob(
        { namespace: NS, name, body },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    expect(
      await statusOf(patch({ spec: { template: { spec: { restartPolicy: "OnFailure" } } } })),
    ).toMatchObject({ code: 422, message: expect.stringContaining("spec.template: Invalid value") });
    await patch({ spec: { activeDeadlineSeconds: 60 } });
    expect((jobOf(name).spec as { activeDeadlineSeconds: number }).activeDeadlineSeconds).toBe(60);
  });
});

describe("deletion", () => {
  test("a Job deleted with the default propagation (Orphan, as batch/v1 keeps it) leaves its pods ownerless", async () => {
    const created = await createJob();
    const pod = fake.cluster.startJob(NS, created.metadata!.name!)!;
    await batch.deleteNamespacedJob({ namespace: NS, name: created.metadata!.name! });
    const left = fake.get("v1", "Pod", NS, pod.metadata!.name!) as V1Pod;
    expect(left).toBeDefined();
    expect(left.metadata?.ownerReferences).toBeUndefined();
  });

  test("Background propagation deletes the pods after the Job; a pod on a node goes through deletionTimestamp", async () => {
    const created = await createJob();
    const name = created.metadata!.name!;
    const pod = fake.cluster.runJob(NS, name, { phase: "Running" });
    const events = await watchEvents("/api/v1/namespaces/default/pods", async () => {
      await batch.deleteNamespacedJob({
        namespace: NS,
        name,
        gracePeriodSeconds: 0,
        propagationPolicy: "Background",
      });
    });
    expect(events).toEqual([`MODIFIED ${pod.metadata?.name} deleting`, `DELETED ${pod.metadata?.name}`]);
    expect(jobOf(name)).toBeUndefined();
    expect(fake.get("v1", "Pod", NS, pod.metadata!.name!)).toBeUndefined();
  });

  test("a pod deleted with gracePeriodSeconds 0 is gone at once", async () => {
    const created = await createJob();
    const pod = fake.cluster.runJob(NS, created.metadata!.name!, { phase: "Running" });
    const events = await watchEvents("/api/v1/namespaces/default/pods", async () => {
      await core.deleteNamespacedPod({ namespace: NS, name: pod.metadata!.name!, gracePeriodSeconds: 0 });
    });
    expect(events).toEqual([`DELETED ${pod.metadata?.name}`]);
  });

  test("a uid precondition that does not hold is 409 and deletes nothing", async () => {
    const created = await createJob();
    const name = created.metadata!.name!;
    const result = batch.deleteNamespacedJob({
      namespace: NS,
      name,
      body: { preconditions: { uid: "00000000-0000-0000-0000-000000000000" } },
    });
    expect(await statusOf(result)).toMatchObject({
      code: 409,
      message: expect.stringContaining("Precondition failed: UID in precondition"),
    });
    expect(jobOf(name)).toBeDefined();
  });
});

describe("the simulated Job controller and kubelet", () => {
  test("starting a Job creates its Pending pod with the job-name labels, the template's labels and an owner", async () => {
    const created = await createJob();
    const name = created.metadata!.name!;
    const pod = fake.cluster.startJob(NS, name)!;
    expect(pod.metadata?.name).toMatch(new RegExp(`^${name}-[a-z0-9]{5}$`));
    expect(pod.metadata?.labels).toMatchObject({
      "job-name": name,
      "batch.kubernetes.io/job-name": name,
      "buildkite.com/job-uuid": UUID,
    });
    expect(pod.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "Job", name, controller: true });
    expect(pod.status?.phase).toBe("Pending");
    expect(jobOf(name).status).toMatchObject({ active: 1, ready: 0 });
    expect(typeof jobOf(name).status?.startTime).toBe("string");
  });

  test("an image that cannot be pulled shows as ImagePullBackOff with a message naming it", async () => {
    const created = await createJob();
    const pod = fake.cluster.runJob(NS, created.metadata!.name!, {
      containers: { "container-0": containerState.imagePullBackOff("buildkite/agent:latest") },
    });
    const status = pod.status?.containerStatuses?.find((item) => item.name === "container-0");
    expect(status?.state?.waiting).toEqual({
      reason: "ImagePullBackOff",
      message: 'Back-off pulling image "buildkite/agent:latest"',
    });
    expect(status?.image).toBe("buildkite/agent:latest");
    expect(pod.status?.initContainerStatuses?.[0]?.state?.waiting?.reason).toBe("PodInitializing");
    expect(pod.spec?.nodeName).toBeDefined();
  });

  test("a pod that succeeds completes the Job", async () => {
    const created = await createJob();
    const name = created.metadata!.name!;
    fake.cluster.runJob(NS, name, { phase: "Running" });
    expect(jobOf(name).status).toMatchObject({ active: 1, ready: 1 });
    fake.cluster.runJob(NS, name, { phase: "Succeeded" });
    expect(jobOf(name).status).toMatchObject({ succeeded: 1, ready: 0 });
    expect(conditionTypes(name)).toEqual([
      "SuccessCriteriaMet:CompletionsReached",
      "Complete:CompletionsReached",
    ]);
  });

  test("an OOMKilled pod fails a Job whose backoffLimit is 0", async () => {
    const created = await createJob();
    const name = created.metadata!.name!;
    const pod = fake.cluster.runJob(NS, name, {
      phase: "Failed",
      containers: { agent: containerState.oomKilled() },
    });
    expect(
      pod.status?.containerStatuses?.find((item) => item.name === "agent")?.state?.terminated,
    ).toMatchObject({
      exitCode: 137,
      reason: "OOMKilled",
    });
    expect(jobOf(name).status).toMatchObject({ failed: 1 });
    expect(conditionTypes(name)).toEqual([
      "FailureTarget:BackoffLimitExceeded",
      "Failed:BackoffLimitExceeded",
    ]);
  });

  test("a pod deleted before it finished counts as failed", async () => {
    const created = await createJob();
    const name = created.metadata!.name!;
    const pod = fake.cluster.startJob(NS, name)!;
    await core.deleteNamespacedPod({ namespace: NS, name: pod.metadata!.name! });
    expect(jobOf(name).status).toMatchObject({ failed: 1 });
    expect(conditionTypes(name)).toContain("Failed:BackoffLimitExceeded");
  });

  test("an evicted pod is Failed with reason Evicted, its containers never having run", async () => {
    const created = await createJob();
    const pod = fake.cluster.startJob(NS, created.metadata!.name!)!;
    const evicted = fake.cluster.evictPod(NS, pod.metadata!.name!);
    expect(evicted.status).toMatchObject({ phase: "Failed", reason: "Evicted" });
    expect(evicted.status?.conditions?.map((condition) => condition.type)).toContain("DisruptionTarget");
    const agent = evicted.status?.containerStatuses?.find((item) => item.name === "agent");
    expect(agent?.state?.terminated?.reason).toBe("ContainerStatusUnknown");
    expect(agent?.state?.terminated?.startedAt).toBeUndefined();
  });

  test("lowering activeDeadlineSeconds below the Job's age fails it with DeadlineExceeded and deletes its pods", async () => {
    const created = await createJob();
    const name = created.metadata!.name!;
    const pod = fake.cluster.runJob(NS, name, {
      phase: "Running",
      jobStartTime: new Date(Date.now() - 120_000),
    });
    await batch.patchNamespacedJob(
      { namespace: NS, name, body: { spec: { activeDeadlineSeconds: 60 } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    expect(conditionTypes(name)).toEqual(["FailureTarget:DeadlineExceeded", "Failed:DeadlineExceeded"]);
    expect(fake.get("v1", "Pod", NS, pod.metadata!.name!)).toBeUndefined();
    expect(jobOf(name).status).toMatchObject({ failed: 1 });
  });

  test("the Job controller records events, listed with a field selector on the involved object", async () => {
    const created = await createJob();
    const name = created.metadata!.name!;
    const pod = fake.cluster.startJob(NS, name)!;
    fake.cluster.recordEvent(
      NS,
      { kind: "Pod", name: pod.metadata!.name! },
      { reason: "Scheduled", message: "x" },
    );
    const events = await core.listNamespacedEvent({
      namespace: NS,
      fieldSelector: `involvedObject.kind=Job,involvedObject.name=${name}`,
    });
    expect(events.items.map((event) => `${event.reason}: ${event.message}`)).toEqual([
      `SuccessfulCreate: Created pod: ${pod.metadata?.name}`,
    ]);
    const unsupported = core.listNamespacedEvent({ namespace: NS, fieldSelector: "spec.nothing=x" });
    expect(await statusOf(unsupported)).toMatchObject({
      code: 400,
      message: "field label not supported: spec.nothing",
    });
  });

  test("pod status writes through /status, and a Pod informer sees the phases", async () => {
    const created = await createJob();
    const name = created.metadata!.name!;
    const pod = fake.cluster.startJob(NS, name)!;
    const kubeConfig = fake.kubeConfig();
    const informer = makeInformer<V1Pod>(
      kubeConfig,
      `/api/v1/namespaces/${NS}/pods`,
      () => core.listNamespacedPod({ namespace: NS, labelSelector: "buildkite.com/job-uuid" }),
      "buildkite.com/job-uuid",
    );
    const phases: string[] = [];
    informer.on("add", (object: KubernetesObject) => phases.push(`add ${(object as V1Pod).status?.phase}`));
    informer.on("update", (object: KubernetesObject) =>
      phases.push(`update ${(object as V1Pod).status?.phase}`),
    );
    await informer.start();
    const read = await core.readNamespacedPodStatus({ namespace: NS, name: pod.metadata!.name! });
    await core.replaceNamespacedPodStatus({
      namespace: NS,
      name: pod.metadata!.name!,
      body: { ...read, status: { ...read.status, phase: "Running" } },
    });
    await waitFor(() => phases.length >= 2);
    await informer.stop();
    expect(phases).toEqual(["add Pending", "update Running"]);
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * The events of a watch (`TYPE name`, `deleting` when deletionTimestamp is set) caused by `action`,
 * read until the server has nothing more to say for a moment.
 */
async function watchEvents(path: string, action: () => Promise<void>): Promise<string[]> {
  const list = (await (await fetch(`${fake.url}${path}`)).json()) as {
    metadata: { resourceVersion: string };
  };
  const controller = new AbortController();
  const response = await fetch(
    `${fake.url}${path}?watch=true&resourceVersion=${list.metadata.resourceVersion}`,
    {
      signal: controller.signal,
    },
  );
  await action();
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = "";
  const done = () => text.split("\n").some((line) => line.includes('"DELETED"'));
  while (!done()) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    text += decoder.decode(value, { stream: true });
  }
  controller.abort();
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const event = JSON.parse(line) as {
        type: string;
        object: { metadata: { name: string; deletionTimestamp?: string } };
      };
      const deleting =
        event.type === "MODIFIED" && event.object.metadata.deletionTimestamp ? " deleting" : "";
      return `${event.type} ${event.object.metadata.name}${deleting}`;
    })
    .filter((line) => !line.startsWith("MODIFIED") || line.endsWith("deleting"));
}
