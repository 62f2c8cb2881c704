/**
 * A small simulation of what runs behind the API server for Jobs, so tests see the events a real
 * cluster would send: the Job controller (it starts a Job and creates its pod from the template with
 * the `job-name` labels and an owner reference, keeps `status.active/ready/terminating/failed/
 * succeeded` in step with the pods, and ends the Job with `Complete` or `Failed` conditions:
 * `BackoffLimitExceeded`, `DeadlineExceeded`), and the kubelet (pod phases and container states, see
 * `kubernetes-kubelet.ts`).
 *
 * The Job controller reacts to every change of a Job or a pod, whoever made it (an API call, a test
 * helper): a pod that fails or is deleted counts as a failure, a Job whose `activeDeadlineSeconds` has
 * passed is failed when it changes. What it does not do by itself is *start* a Job: tests call
 * `startJob` / `runJob`, so a Job can stay without a pod for as long as a test needs it to.
 */
import { randomBytes } from "node:crypto";
import type { CoreV1Event, V1Job, V1Pod } from "@kubernetes/client-node";
import { type PodStatusOptions, podStatus, rfc3339 } from "./kubernetes-kubelet.ts";
import { FAKE_RESOURCES, type FakeResource, resourceByKind } from "./kubernetes-resources.ts";
import { asObject, type JsonObject } from "./kubernetes-rules.ts";

export interface DeleteOptions {
  readonly gracePeriodSeconds?: number;
  readonly propagationPolicy?: "Orphan" | "Background" | "Foreground";
}

/** What the simulation needs from the fake's storage. */
export interface ObjectStore {
  find(resource: FakeResource, namespace: string, name: string): JsonObject | undefined;
  all(resource: FakeResource): JsonObject[];
  /** Creates without admission: validated, given a uid and timestamps, an ADDED event. */
  create(resource: FakeResource, object: JsonObject): JsonObject;
  /** Stores a changed object (status included), validated, a MODIFIED event; no change, no event. */
  replace(resource: FakeResource, object: JsonObject): JsonObject;
  delete(resource: FakeResource, namespace: string, name: string, options?: DeleteOptions): void;
}

export interface JobCondition {
  readonly type: "Complete" | "Failed";
  readonly reason: string;
  readonly message?: string;
}

export interface InvolvedObject {
  readonly kind: string;
  readonly name: string;
  readonly uid?: string;
  readonly apiVersion?: string;
}

export interface EventFields {
  readonly type?: "Normal" | "Warning";
  readonly reason: string;
  readonly message: string;
  /** Old-style counting (`count`, `firstTimestamp`, `lastTimestamp`), as most components still write it. */
  readonly count?: number;
  readonly firstTimestamp?: Date;
  readonly lastTimestamp?: Date;
  /** New-style (`events.k8s.io`) timing: `eventTime` and a `series`. */
  readonly eventTime?: Date;
  readonly series?: { readonly count: number; readonly lastObservedTime: Date };
}

/**
 * The helpers tests drive the simulated cluster with. Namespaces first, as in `FakeKubernetes`. They
 * return the stored objects as the API sends them (plain JSON: times are RFC 3339 strings).
 */
export interface SimulatedCluster {
  /**
   * The Job controller starts the Job: `status.startTime` (now, or `startTime`), then, unless
   * `withoutPod`, a Pending pod from its template. Returns the pod.
   */
  startJob(
    namespace: string,
    name: string,
    options?: { startTime?: Date; withoutPod?: boolean; podName?: string },
  ): V1Pod | undefined;
  /** The kubelet reports a pod's status (see `PodStatusOptions`); the Job follows. */
  setPodStatus(namespace: string, podName: string, options: PodStatusOptions): V1Pod;
  /** `startJob` when the Job has no pod yet, then `setPodStatus` on its newest pod. */
  runJob(
    namespace: string,
    name: string,
    options?: PodStatusOptions & { jobStartTime?: Date; podName?: string },
  ): V1Pod;
  /** The kubelet evicts a pod under node pressure: Failed, reason `Evicted`, a `DisruptionTarget` condition. */
  evictPod(namespace: string, podName: string, options?: PodStatusOptions): V1Pod;
  /** The Job controller ends a Job (a podless Job past its deadline, say); a Failed Job's pods are deleted. */
  finishJob(namespace: string, name: string, condition: JobCondition): V1Job;
  /** A `core/v1` Event about an object, as a controller records it. */
  recordEvent(namespace: string, involved: InvolvedObject, fields: EventFields): CoreV1Event;
  /** The pods the Job controller made for a Job, oldest first. */
  podsOf(namespace: string, jobName: string): V1Pod[];
}

export interface JobController {
  readonly cluster: SimulatedCluster;
  /** Called by the store after every committed change. */
  observe(resource: FakeResource, type: "ADDED" | "MODIFIED" | "DELETED", object: JsonObject): void;
}

interface Tally {
  readonly succeeded: Set<string>;
  readonly failed: Set<string>;
}

const NODE_NAME = "fake-node-1";

export function createJobController(store: ObjectStore): JobController {
  const jobs = resourceByKind(FAKE_RESOURCES, "batch/v1", "Job");
  const pods = resourceByKind(FAKE_RESOURCES, "v1", "Pod");
  const events = resourceByKind(FAKE_RESOURCES, "v1", "Event");
  /** Finished pods counted per Job uid, as the Job controller tracks them with its finalizers. */
  const tallies = new Map<string, Tally>();
  /** Pods by the uid of the Job that owns them (then by name): the Job controller's own index. */
  const podsByOwner = new Map<string, Map<string, JsonObject>>();
  const queue: string[] = [];
  let draining = false;

  const metadataOf = (object: JsonObject) => asObject(object.metadata);
  const tallyOf = (uid: string): Tally => {
    let tally = tallies.get(uid);
    if (tally === undefined) {
      tally = { succeeded: new Set(), failed: new Set() };
      tallies.set(uid, tally);
    }
    return tally;
  };

  function ownerJob(pod: JsonObject): { namespace: string; name: string; uid: string } | undefined {
    const references = metadataOf(pod).ownerReferences;
    const owner = (Array.isArray(references) ? references : [])
      .map(asObject)
      .find((reference) => reference.kind === "Job" && reference.controller === true);
    if (owner === undefined) return undefined;
    return { namespace: String(metadataOf(pod).namespace), name: String(owner.name), uid: String(owner.uid) };
  }

  function ownedPods(job: JsonObject): JsonObject[] {
    const owned = podsByOwner.get(String(metadataOf(job).uid));
    return [...(owned?.values() ?? [])].sort((a, b) =>
      String(metadataOf(a).creationTimestamp).localeCompare(String(metadataOf(b).creationTimestamp)),
    );
  }

  function index(ownerUid: string, type: "ADDED" | "MODIFIED" | "DELETED", pod: JsonObject): void {
    const name = String(metadataOf(pod).name);
    let owned = podsByOwner.get(ownerUid);
    if (type === "DELETED") {
      owned?.delete(name);
      if (owned?.size === 0) podsByOwner.delete(ownerUid);
      return;
    }
    if (owned === undefined) {
      owned = new Map();
      podsByOwner.set(ownerUid, owned);
    }
    owned.set(name, pod);
  }

  function enqueue(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    if (!queue.includes(key)) queue.push(key);
    if (draining) return;
    draining = true;
    try {
      for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
        const [namespace, name] = key.split("/") as [string, string];
        const job = store.find(jobs, namespace, name);
        if (job !== undefined) sync(job);
      }
    } finally {
      draining = false;
    }
  }

  /** One pass of the Job controller over a Job: counts, then the end of the Job if it has come. */
  function sync(job: JsonObject): void {
    const spec = asObject(job.spec);
    const status = asObject(job.status);
    if (isFinished(status)) return;
    const tally = tallyOf(String(metadataOf(job).uid));
    const owned = ownedPods(job);
    for (const pod of owned) {
      const phase = asObject(pod.status).phase;
      if (phase === "Succeeded") tally.succeeded.add(String(metadataOf(pod).uid));
      if (phase === "Failed") tally.failed.add(String(metadataOf(pod).uid));
    }
    const running = owned.filter((pod) => !isTerminal(pod));
    let active = running.filter((pod) => metadataOf(pod).deletionTimestamp === undefined);
    const startTime = typeof status.startTime === "string" ? Date.parse(status.startTime) : undefined;
    const deadline = typeof spec.activeDeadlineSeconds === "number" ? spec.activeDeadlineSeconds : undefined;
    const completions = typeof spec.completions === "number" ? spec.completions : 1;
    const backoffLimit = typeof spec.backoffLimit === "number" ? spec.backoffLimit : 6;
    let ending: JsonObject[] = [];
    let event: EventFields | undefined;
    if (startTime !== undefined && deadline !== undefined && Date.now() >= startTime + deadline * 1000) {
      ending = failureConditions("DeadlineExceeded", "Job was active longer than specified deadline");
    } else if (tally.succeeded.size >= completions) {
      ending = [
        condition("SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded pods"),
        condition("Complete", "CompletionsReached", "Reached expected number of succeeded pods"),
      ];
      event = { reason: "Completed", message: "Job completed" };
    } else if (tally.failed.size > backoffLimit) {
      ending = failureConditions("BackoffLimitExceeded", "Job has reached the specified backoff limit");
    } else if (
      startTime !== undefined &&
      running.length === 0 &&
      tally.failed.size > 0 &&
      spec.suspend !== true
    ) {
      // A failed pod within the back-off limit is replaced.
      createPod(job);
      return;
    }
    const failing = ending.some((item) => item.type === "Failed");
    // The pods of a failed Job are deleted, and count as failed.
    const deleting = failing ? active : [];
    for (const pod of deleting) tally.failed.add(String(metadataOf(pod).uid));
    if (failing) active = [];
    const { active: _active, succeeded: _succeeded, failed: _failed, ...rest } = status;
    const next: JsonObject = {
      ...rest,
      ...(active.length > 0 ? { active: active.length } : {}),
      ...(tally.succeeded.size > 0 ? { succeeded: tally.succeeded.size } : {}),
      ...(tally.failed.size > 0 ? { failed: tally.failed.size } : {}),
      ready: active.filter((pod) => hasCondition(asObject(pod.status), "Ready")).length,
      terminating: running.length - active.length - deleting.length,
      uncountedTerminatedPods: {},
      ...(ending.length === 0 ? {} : { conditions: [...conditionsOf(status), ...ending] }),
      ...(ending.length > 0 && !failing ? { completionTime: rfc3339(new Date()) } : {}),
    };
    store.replace(jobs, { ...job, status: next });
    for (const pod of deleting)
      store.delete(pods, String(metadataOf(pod).namespace), String(metadataOf(pod).name));
    const failed = ending.find((item) => item.type === "Failed");
    if (failed !== undefined)
      event = { type: "Warning", reason: String(failed.reason), message: String(failed.message) };
    if (event !== undefined) recordEventFor(job, event);
  }

  function createPod(job: JsonObject, podName?: string): JsonObject {
    const metadata = metadataOf(job);
    const name = String(metadata.name);
    const namespace = String(metadata.namespace);
    const uid = String(metadata.uid);
    const template = asObject(asObject(job.spec).template);
    const templateMetadata = asObject(template.metadata);
    const pod = store.create(pods, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: podName ?? `${name}-${randomSuffix()}`,
        generateName: `${name}-`,
        namespace,
        labels: {
          ...asObject(templateMetadata.labels),
          "batch.kubernetes.io/controller-uid": uid,
          "batch.kubernetes.io/job-name": name,
          "controller-uid": uid,
          "job-name": name,
        },
        ...(templateMetadata.annotations === undefined ? {} : { annotations: templateMetadata.annotations }),
        ownerReferences: [
          { apiVersion: "batch/v1", kind: "Job", name, uid, controller: true, blockOwnerDeletion: true },
        ],
      },
      spec: asObject(template.spec),
      status: { phase: "Pending" },
    });
    recordEventFor(job, {
      reason: "SuccessfulCreate",
      message: `Created pod: ${String(metadataOf(pod).name)}`,
    });
    return pod;
  }

  function recordEventFor(job: JsonObject, fields: EventFields): void {
    const metadata = metadataOf(job);
    cluster.recordEvent(
      String(metadata.namespace),
      { kind: "Job", name: String(metadata.name), uid: String(metadata.uid), apiVersion: "batch/v1" },
      fields,
    );
  }

  function requireJob(namespace: string, name: string): JsonObject {
    const job = store.find(jobs, namespace, name);
    if (job === undefined) throw new Error(`the fake cluster has no Job ${namespace}/${name}`);
    return job;
  }

  function requirePod(namespace: string, name: string): JsonObject {
    const pod = store.find(pods, namespace, name);
    if (pod === undefined) throw new Error(`the fake cluster has no Pod ${namespace}/${name}`);
    return pod;
  }

  const cluster: SimulatedCluster = {
    startJob(namespace, name, options = {}) {
      const job = requireJob(namespace, name);
      const spec = asObject(job.spec);
      const status = asObject(job.status);
      if (spec.suspend === true) throw new Error(`startJob: the Job ${namespace}/${name} is suspended`);
      if (isFinished(status)) throw new Error(`startJob: the Job ${namespace}/${name} has finished`);
      const startTime = status.startTime ?? rfc3339(options.startTime ?? new Date());
      const started = store.replace(jobs, { ...job, status: { ...status, startTime } });
      if (options.withoutPod === true) return undefined;
      return createPod(started, options.podName) as V1Pod;
    },
    setPodStatus(namespace, podName, options) {
      const pod = requirePod(namespace, podName);
      const spec = asObject(pod.spec);
      const scheduled = options.scheduled !== false;
      return store.replace(pods, {
        ...pod,
        spec: scheduled ? { ...spec, nodeName: spec.nodeName ?? NODE_NAME } : spec,
        status: podStatus(pod, options),
      }) as V1Pod;
    },
    runJob(namespace, name, options = {}) {
      const { jobStartTime, podName, ...statusOptions } = options;
      let pod = cluster.podsOf(namespace, name).at(-1);
      if (pod === undefined) {
        pod = cluster.startJob(namespace, name, {
          ...(jobStartTime === undefined ? {} : { startTime: jobStartTime }),
          ...(podName === undefined ? {} : { podName }),
        });
      }
      return cluster.setPodStatus(namespace, String(pod?.metadata?.name), statusOptions);
    },
    evictPod(namespace, podName, options = {}) {
      const message = "The node was low on resource: memory. Threshold quantity: 100Mi, available: 42Mi.";
      return cluster.setPodStatus(namespace, podName, {
        phase: "Failed",
        reason: "Evicted",
        message,
        ...options,
        conditions: [
          {
            type: "DisruptionTarget",
            status: "True",
            reason: "TerminationByKubelet",
            message,
            lastTransitionTime: rfc3339(new Date()),
          },
          ...(options.conditions ?? []),
        ],
      });
    },
    finishJob(namespace, name, { type, reason, message = "" }) {
      const job = requireJob(namespace, name);
      const status = asObject(job.status);
      const { active: _active, ...rest } = status;
      const next =
        type === "Failed"
          ? { ...rest, conditions: [...conditionsOf(status), ...failureConditions(reason, message)] }
          : {
              ...rest,
              completionTime: rfc3339(new Date()),
              conditions: [
                ...conditionsOf(status),
                condition("SuccessCriteriaMet", reason, message),
                condition("Complete", reason, message),
              ],
            };
      const finished = store.replace(jobs, { ...job, status: next });
      for (const pod of ownedPods(finished).filter((item) => !isTerminal(item))) {
        store.delete(pods, namespace, String(metadataOf(pod).name));
      }
      return store.find(jobs, namespace, name) as V1Job;
    },
    recordEvent(namespace, involved, fields) {
      const now = new Date();
      const name = `${involved.name}.${randomBytes(8).toString("hex")}`;
      const series = fields.series;
      const oldStyle = series === undefined && fields.eventTime === undefined;
      return store.create(events, {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name, namespace },
        involvedObject: {
          kind: involved.kind,
          namespace,
          name: involved.name,
          ...(involved.uid === undefined ? {} : { uid: involved.uid }),
          ...(involved.apiVersion === undefined ? {} : { apiVersion: involved.apiVersion }),
        },
        type: fields.type ?? "Normal",
        reason: fields.reason,
        message: fields.message,
        source: { component: involved.kind === "Job" ? "job-controller" : "kubelet" },
        reportingComponent: involved.kind === "Job" ? "job-controller" : "kubelet",
        reportingInstance: "",
        ...(oldStyle
          ? {
              count: fields.count ?? 1,
              firstTimestamp: rfc3339(fields.firstTimestamp ?? now),
              lastTimestamp: rfc3339(fields.lastTimestamp ?? fields.firstTimestamp ?? now),
            }
          : {
              eventTime: (fields.eventTime ?? now).toISOString().replace("Z", "000Z"),
              ...(series === undefined
                ? {}
                : {
                    series: {
                      count: series.count,
                      lastObservedTime: series.lastObservedTime.toISOString().replace("Z", "000Z"),
                    },
                  }),
            }),
      }) as unknown as CoreV1Event;
    },
    podsOf(namespace, jobName) {
      const job = store.find(jobs, namespace, jobName);
      return job === undefined ? [] : (ownedPods(job) as V1Pod[]);
    },
  };

  return {
    cluster,
    observe(resource, type, object) {
      if (resource === pods) {
        const owner = ownerJob(object);
        if (owner !== undefined) index(owner.uid, type, object);
        if (owner === undefined || store.find(jobs, owner.namespace, owner.name) === undefined) return;
        if (type === "DELETED" && !isTerminal(object))
          tallyOf(owner.uid).failed.add(String(metadataOf(object).uid));
        enqueue(owner.namespace, owner.name);
      } else if (resource === jobs) {
        if (type === "DELETED") tallies.delete(String(metadataOf(object).uid));
        else enqueue(String(metadataOf(object).namespace), String(metadataOf(object).name));
      }
    },
  };
}

function isFinished(status: JsonObject): boolean {
  return conditionsOf(status).some(
    (item) => (item.type === "Complete" || item.type === "Failed") && item.status === "True",
  );
}

function isTerminal(pod: JsonObject): boolean {
  const phase = asObject(pod.status).phase;
  return phase === "Succeeded" || phase === "Failed";
}

function hasCondition(status: JsonObject, type: string): boolean {
  return conditionsOf(status).some((item) => item.type === type && item.status === "True");
}

function conditionsOf(status: JsonObject): JsonObject[] {
  return (Array.isArray(status.conditions) ? status.conditions : []).map(asObject);
}

function failureConditions(reason: string, message: string): JsonObject[] {
  return [condition("FailureTarget", reason, message), condition("Failed", reason, message)];
}

function condition(type: string, reason: string, message: string): JsonObject {
  const now = rfc3339(new Date());
  return { type, status: "True", reason, message, lastProbeTime: now, lastTransitionTime: now };
}

function randomSuffix(): string {
  const alphabet = "bcdfghjklmnpqrstvwxz2456789";
  return Array.from(randomBytes(5), (byte) => alphabet[byte % alphabet.length]).join("");
}
