/**
 * What a kubelet would write in a pod's status, for the fake cluster's simulation: container states as
 * kubelet and containerd word them (`ImagePullBackOff` with a message naming the image,
 * `OOMKilled` with exit code 137…), and a whole `PodStatus` from a phase and the states of the
 * containers a test cares about, the others filled in as they would be at that phase.
 */
import { asObject, type JsonObject } from "./kubernetes-rules.ts";

export type PodPhase = "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";

/** A `core/v1` `ContainerState`: exactly one of waiting, running, terminated. */
export type ContainerState =
  | { readonly waiting: { readonly reason: string; readonly message?: string } }
  | { readonly running: { readonly startedAt: string } }
  | {
      readonly terminated: {
        readonly exitCode: number;
        readonly reason?: string;
        readonly message?: string;
        readonly signal?: number;
        readonly startedAt?: string;
        readonly finishedAt?: string;
      };
    };

/** Docker Hub's canonical name for a short reference, as containerd reports it. */
function canonical(image: string): string {
  const withTag = /:[^/]+$/.test(image) || image.includes("@") ? image : `${image}:latest`;
  const first = withTag.split("/")[0] ?? "";
  if (withTag.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost")) {
    return withTag;
  }
  return withTag.includes("/") ? `docker.io/${withTag}` : `docker.io/library/${withTag}`;
}

export const containerState = {
  waiting: (reason: string, message?: string): ContainerState => ({
    waiting: message === undefined ? { reason } : { reason, message },
  }),
  containerCreating: (): ContainerState => ({ waiting: { reason: "ContainerCreating" } }),
  podInitializing: (): ContainerState => ({ waiting: { reason: "PodInitializing" } }),
  errImagePull: (image: string): ContainerState => ({
    waiting: {
      reason: "ErrImagePull",
      message: `failed to pull and unpack image "${canonical(image)}": failed to resolve reference "${canonical(image)}": ${canonical(image)}: not found`,
    },
  }),
  imagePullBackOff: (image: string): ContainerState => ({
    waiting: { reason: "ImagePullBackOff", message: `Back-off pulling image "${image}"` },
  }),
  errImageNeverPull: (image: string): ContainerState => ({
    waiting: {
      reason: "ErrImageNeverPull",
      message: `Container image "${image}" is not present with pull policy of Never`,
    },
  }),
  invalidImageName: (image: string): ContainerState => ({
    waiting: {
      reason: "InvalidImageName",
      message: `Failed to apply default image tag "${image}": couldn't parse image name "${image}": invalid reference format`,
    },
  }),
  createContainerConfigError: (message: string): ContainerState => ({
    waiting: { reason: "CreateContainerConfigError", message },
  }),
  running: (startedAt: Date = new Date()): ContainerState => ({
    running: { startedAt: rfc3339(startedAt) },
  }),
  terminated: (fields: {
    exitCode: number;
    reason?: string;
    message?: string;
    signal?: number;
  }): ContainerState => ({
    terminated: { ...fields, startedAt: rfc3339(new Date()), finishedAt: rfc3339(new Date()) },
  }),
  /** What kubelet reports for a container that never ran when its pod is stopped: no start time. */
  containerStatusUnknown: (): ContainerState => ({
    terminated: {
      exitCode: 137,
      reason: "ContainerStatusUnknown",
      message: "The container could not be located when the pod was terminated",
    },
  }),
  completed: (): ContainerState => containerState.terminated({ exitCode: 0, reason: "Completed" }),
  error: (exitCode = 1): ContainerState => containerState.terminated({ exitCode, reason: "Error" }),
  oomKilled: (): ContainerState => containerState.terminated({ exitCode: 137, reason: "OOMKilled" }),
};

export interface PodStatusOptions {
  /** Default: Pending. */
  readonly phase?: PodPhase;
  /** `status.reason` / `status.message`, as `Evicted` sets them. */
  readonly reason?: string;
  readonly message?: string;
  /**
   * Whether the scheduler bound the pod to a node (default true). An unscheduled pod has a
   * `PodScheduled: False` condition (`unschedulableMessage`), no start time and no container statuses.
   */
  readonly scheduled?: boolean;
  readonly unschedulableMessage?: string;
  /** When the kubelet accepted the pod; default now. */
  readonly startTime?: Date;
  /** States by container name; the others get the state their phase implies. */
  readonly containers?: Readonly<Record<string, ContainerState>>;
  readonly initContainers?: Readonly<Record<string, ContainerState>>;
  /** Extra conditions (`DisruptionTarget`…), after the ones the phase implies. */
  readonly conditions?: readonly JsonObject[];
}

interface ContainerSpec {
  readonly name: string;
  readonly image: string;
  readonly restartPolicy?: string;
}

/** A pod's `status` as the kubelet would report it. */
export function podStatus(pod: JsonObject, options: PodStatusOptions): JsonObject {
  const phase = options.phase ?? "Pending";
  const now = rfc3339(new Date());
  const spec = asObject(pod.spec);
  const containers = (Array.isArray(spec.containers) ? spec.containers : []) as ContainerSpec[];
  const initContainers = (Array.isArray(spec.initContainers) ? spec.initContainers : []) as ContainerSpec[];
  const extra = options.conditions ?? [];
  for (const [given, specs] of [
    [options.containers, containers],
    [options.initContainers, initContainers],
  ] as const) {
    for (const name of Object.keys(given ?? {})) {
      if (!specs.some((container) => container.name === name)) {
        throw new Error(`the pod ${String(asObject(pod.metadata).name)} has no such container: ${name}`);
      }
    }
  }
  const previousStatuses = asObject(pod.status).containerStatuses;
  const previousStates = new Map(
    (Array.isArray(previousStatuses) ? previousStatuses : []).map((status) => [
      String(asObject(status).name),
      asObject(status).state as ContainerState,
    ]),
  );
  const base = {
    phase,
    ...(options.reason === undefined ? {} : { reason: options.reason }),
    ...(options.message === undefined ? {} : { message: options.message }),
  };
  if (options.scheduled === false) {
    const condition = {
      type: "PodScheduled",
      status: "False",
      reason: "Unschedulable",
      message: options.unschedulableMessage ?? "0/1 nodes are available: 1 Insufficient cpu.",
      lastTransitionTime: now,
    };
    return { ...base, conditions: [condition, ...extra] };
  }
  const initDone = phase !== "Pending" && phase !== "Unknown";
  const initStates = initContainers.map((container) => {
    const given = options.initContainers?.[container.name];
    if (given !== undefined) return given;
    if (container.restartPolicy === "Always")
      return initDone ? containerState.running() : containerState.podInitializing();
    return initDone ? containerState.completed() : containerState.podInitializing();
  });
  const mainStates = containers.map((container) => {
    const given = options.containers?.[container.name];
    if (given !== undefined) return given;
    const before = previousStates.get(container.name);
    switch (phase) {
      case "Running":
        return before !== undefined && "running" in before ? before : containerState.running();
      case "Succeeded":
        return containerState.completed();
      case "Failed":
        return before !== undefined && "running" in before
          ? containerState.error()
          : containerState.containerStatusUnknown();
      default:
        return initContainers.length > 0
          ? containerState.podInitializing()
          : containerState.containerCreating();
    }
  });
  const initialized = initStates.every(
    (state, index) =>
      ("terminated" in state && state.terminated.exitCode === 0) ||
      ("running" in state && initContainers[index]?.restartPolicy === "Always"),
  );
  const ready = phase === "Running" && mainStates.every((state) => "running" in state);
  const condition = (type: string, value: boolean) => ({
    type,
    status: value ? "True" : "False",
    lastTransitionTime: now,
  });
  return {
    ...base,
    conditions: [
      condition("PodReadyToStartContainers", true),
      condition("Initialized", initialized),
      condition("Ready", ready),
      condition("ContainersReady", ready),
      condition("PodScheduled", true),
      ...extra,
    ],
    hostIP: "10.0.0.10",
    podIP: "10.244.0.17",
    startTime: rfc3339(options.startTime ?? new Date()),
    ...(initContainers.length === 0
      ? {}
      : { initContainerStatuses: initContainers.map((container, i) => statusOf(container, initStates[i]!)) }),
    containerStatuses: containers.map((container, i) => statusOf(container, mainStates[i]!)),
  };
}

function statusOf(container: ContainerSpec, state: ContainerState): JsonObject {
  const started = "running" in state;
  const ran = started || "terminated" in state;
  return {
    name: container.name,
    image: container.image,
    imageID: ran ? `${canonical(container.image)}@sha256:${"0".repeat(64)}` : "",
    ...(ran ? { containerID: `containerd://${container.name.padEnd(12, "0")}` } : {}),
    ready: started,
    restartCount: 0,
    started,
    state,
  };
}

/** RFC 3339 with whole seconds, as Kubernetes writes its timestamps. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}
