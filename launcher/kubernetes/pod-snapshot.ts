/**
 * What the launcher keeps of a pod in its informer cache: identity, the Job it belongs to, timing,
 * phase, conditions, and per container its image and state; nothing of the pod spec beyond that.
 */
import {
  type Fields,
  fields,
  jobUuidOf,
  labelsOf,
  list,
  optionalNumber,
  tagsOf,
  text,
  time,
} from "./object-fields.ts";

export interface PodCondition {
  readonly type: string;
  readonly status: string;
  readonly reason: string;
  readonly message: string;
}

export interface ContainerStatusSnapshot {
  readonly name: string;
  readonly image: string;
  /** `restartPolicy: Always` on an init container: a native sidecar, which never "completes". */
  readonly sidecar: boolean;
  readonly waiting: { readonly reason: string; readonly message: string } | undefined;
  readonly running: boolean;
  readonly terminated:
    | {
        readonly exitCode: number;
        readonly signal: number | undefined;
        readonly reason: string;
        readonly message: string;
      }
    | undefined;
  /**
   * The container ran at some point: it runs, or its (last) termination has a start time. A container
   * that never started is reported terminated *without* one (`ContainerStatusUnknown`) when its pod
   * is stopped.
   */
  readonly everStarted: boolean;
}

export interface PodSnapshot {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly resourceVersion: string;
  readonly uuid: string;
  /** The Job it belongs to (`job-name` label), and that Job's uid (its controller owner reference). */
  readonly jobName: string;
  readonly jobUid: string;
  readonly tags: readonly string[];
  /** Milliseconds since the epoch. */
  readonly createdAt: number | undefined;
  readonly deletingSince: number | undefined;
  readonly phase: string;
  readonly reason: string;
  readonly message: string;
  readonly startTime: number | undefined;
  readonly conditions: readonly PodCondition[];
  /** Every init container and container, statuses where the kubelet reported one, in spec order. */
  readonly initContainers: readonly ContainerStatusSnapshot[];
  readonly containers: readonly ContainerStatusSnapshot[];
}

export function podSnapshot(object: unknown): PodSnapshot | undefined {
  const pod = fields(object);
  const metadata = fields(pod.metadata);
  const spec = fields(pod.spec);
  const status = fields(pod.status);
  const name = text(metadata.name);
  if (name === "") return undefined;
  const labels = labelsOf(metadata);
  const owner = list(metadata.ownerReferences).find(
    (reference) => reference.kind === "Job" && reference.controller === true,
  );
  return {
    name,
    namespace: text(metadata.namespace),
    uid: text(metadata.uid),
    resourceVersion: text(metadata.resourceVersion),
    uuid: jobUuidOf(labels),
    jobName: labels["batch.kubernetes.io/job-name"] ?? labels["job-name"] ?? text(owner?.name),
    jobUid: text(owner?.uid),
    tags: tagsOf(labels),
    createdAt: time(metadata.creationTimestamp),
    deletingSince: time(metadata.deletionTimestamp),
    phase: text(status.phase),
    reason: text(status.reason),
    message: text(status.message),
    startTime: time(status.startTime),
    conditions: list(status.conditions).map((condition) => ({
      type: text(condition.type),
      status: text(condition.status),
      reason: text(condition.reason),
      message: text(condition.message),
    })),
    initContainers: containers(spec.initContainers, status.initContainerStatuses),
    containers: containers(spec.containers, status.containerStatuses),
  };
}

function containers(specs: unknown, statuses: unknown): ContainerStatusSnapshot[] {
  const byName = new Map(list(statuses).map((status) => [text(status.name), status]));
  return list(specs).map((container) => {
    const name = text(container.name);
    return containerSnapshot(
      name,
      text(container.image),
      container.restartPolicy === "Always",
      byName.get(name),
    );
  });
}

function containerSnapshot(
  name: string,
  specImage: string,
  sidecar: boolean,
  status: Fields | undefined,
): ContainerStatusSnapshot {
  const state = fields(status?.state);
  const lastState = fields(status?.lastState);
  const waiting = state.waiting === undefined ? undefined : fields(state.waiting);
  const terminated = state.terminated === undefined ? undefined : fields(state.terminated);
  const lastTerminated = fields(lastState.terminated);
  return {
    name,
    image: text(status?.image) || specImage,
    sidecar,
    waiting:
      waiting === undefined ? undefined : { reason: text(waiting.reason), message: text(waiting.message) },
    running: state.running !== undefined,
    terminated:
      terminated === undefined
        ? undefined
        : {
            exitCode: optionalNumber(terminated.exitCode) ?? 0,
            signal: optionalNumber(terminated.signal),
            reason: text(terminated.reason),
            message: text(terminated.message),
          },
    everStarted:
      state.running !== undefined ||
      status?.started === true ||
      time(terminated?.startedAt) !== undefined ||
      time(lastTerminated.startedAt) !== undefined,
  };
}
