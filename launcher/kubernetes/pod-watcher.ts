/**
 * The pod watcher: pods that will never run their Buildkite job, and the job's log saying why.
 *
 * - **Images** (controller-runtime.md §2.7.1 with HEAD's reasons): a container that cannot be pulled
 *   or created (`ErrImagePull`, `ImagePullBackOff`, `ErrImageNeverPull`, `ImageInspectError`,
 *   `CreateContainerError`, `CreateContainerConfigError`, `PreCreateHookError`, `PreStartHookError`)
 *   past `image-pull-backoff-grace-period` from the pod's start, or `InvalidImageName` at once. The grace
 *   reasons count for init containers and for the stack's own containers (`agent`, `checkout`,
 *   `container-N`), as upstream. If Buildkite still has the job scheduled, it is failed with
 *   `The following images could not be pulled or were unavailable:` and a table, and its Job is deleted
 *   (the pod would otherwise back off until the Job's deadline). If an agent has it, that agent
 *   reports; with the Stacks API, which cannot cancel the job, a stack notification on the job's page
 *   says meanwhile which containers cannot start (upstream HEAD's words). If it is over, nothing is done.
 * - **Init containers** that exit non-zero (native sidecars excluded): failed with
 *   `The following init containers failed:` and a table.
 * - **A pod that fails or is deleted before its `agent` container started** (eviction, an OOM-killed
 *   init container, a node going away, `kubectl delete`): failed at once with what the pod and its
 *   containers say, unless Buildkite no longer has the job scheduled (the agent, or someone, has it).
 * - **Pending timeout** (HEAD's `pod-pending-timeout`): a pod Pending for that long, without an image
 *   problem, is failed with HEAD's message and its conditions, and its Job deleted.
 *
 * Every path asks Buildkite for the job's state first, so a job is only failed while it can be
 * acquired, and records it in the shared ledger, so it is failed once (upstream's quirk Q3 retried on
 * every event). Failures of our own (Buildkite or the API server not answering) are retried with
 * back-off, a bounded number of times.
 */
import type { Registry } from "prom-client";
import type { Informer, InformerEvent } from "../../runtime/informer.ts";
import type { Logger } from "../../runtime/logger.ts";
import { isJobUuid } from "../../src/buildkite/job.ts";
import type { Config } from "../../src/config/types.ts";
import { imageFailureNotification } from "../buildkite/stack-notifier.ts";
import type { JobFailer, JobNotifier, JobSource } from "../types.ts";
import { type Clock, SYSTEM_CLOCK } from "./clock.ts";
import type { ClusterApi } from "./cluster-api.ts";
import { type FailDependencies, failOnBuildkite, reportAgentOwned } from "./fail-on-buildkite.ts";
import { createFailureLedger, type FailureLedger } from "./failure-ledger.ts";
import { goDurationSeconds } from "./human-duration.ts";
import {
  ACQUIRABLE_STATES,
  ACTIVE_STATES,
  CANCELLED_STATES,
  RUNNING_STATES,
  TERMINAL_STATES,
} from "./job-states.ts";
import { createKeyedTasks } from "./keyed-tasks.ts";
import { kubernetesMetrics } from "./metrics.ts";
import type { ContainerStatusSnapshot, PodSnapshot } from "./pod-snapshot.ts";
import { createRetrySchedule, type RetryScheduleOptions } from "./retry-schedule.ts";
import { roundedTable } from "./text-table.ts";
import { watcherLoop } from "./watcher-loop.ts";

export interface PodWatcherOptions {
  readonly pods: Informer<PodSnapshot>;
  readonly api: ClusterApi;
  readonly failer: JobFailer;
  readonly source: JobSource;
  /** Stack notifications (Stacks API): image failures of jobs an agent already has. */
  readonly notifier?: JobNotifier;
  /** Shared with the job watcher, so that a job is failed once whoever sees its trouble first. */
  readonly ledger?: FailureLedger;
  readonly config: Pick<Config, "imagePullBackoffGracePeriod" | "podPendingTimeout">;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly clock?: Clock;
  /** How often grace periods and the pending timeout are checked; default 1 s; 0: only `sweep()`. */
  readonly sweepIntervalMs?: number;
  readonly retry?: RetryScheduleOptions;
}

export interface PodWatcher {
  start(): void;
  /** One pass of the periodic check: image grace periods, pending timeouts, retries that are due. */
  sweep(): void;
  /** Resolves when the work started so far has ended. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/** Reasons that count after the grace period (HEAD's list, which adds `ErrImagePull` and the create errors). */
const GRACE_REASONS = new Set([
  "ErrImagePull",
  "ImagePullBackOff",
  "ErrImageNeverPull",
  "ImageInspectError",
  "CreateContainerError",
  "CreateContainerConfigError",
  "PreCreateHookError",
  "PreStartHookError",
]);
/** An image reference that cannot even be parsed will never be pulled: no grace. */
const IMMEDIATE_REASONS = new Set(["InvalidImageName"]);
/** The stack's own containers; upstream's regex is unanchored, so `container-12` and `my-container-1` both match. */
const SYSTEM_CONTAINER = /^(agent|copy-agent|checkout)$|container-\d+/;
const AGENT_CONTAINER = "agent";
const NANOSECONDS_PER_MS = 1_000_000;

type Problem =
  | {
      readonly kind: "image";
      readonly message: string;
      readonly containers: readonly ContainerStatusSnapshot[];
    }
  | { readonly kind: "init"; readonly message: string }
  | { readonly kind: "before-agent"; readonly message: string }
  | { readonly kind: "pending-timeout"; readonly message: string };

const PROBLEM_NAMES: Readonly<Record<Problem["kind"], string>> = {
  image: "image pull failure",
  init: "init container failure",
  "before-agent": "pod ended before the agent started",
  "pending-timeout": "pod pending timeout",
};

const DELETE_REASONS: Partial<Record<Problem["kind"], string>> = {
  image: "image_pull_failure",
  "pending-timeout": "pending_timeout",
};

export function createPodWatcher(options: PodWatcherOptions): PodWatcher {
  const { pods, api, logger, source } = options;
  const clock = options.clock ?? SYSTEM_CLOCK;
  const metrics = kubernetesMetrics(options.registry).podWatcher;
  const ledger = options.ledger ?? createFailureLedger({ clock });
  const graceMs = options.config.imagePullBackoffGracePeriod / NANOSECONDS_PER_MS;
  const pendingTimeoutMs = options.config.podPendingTimeout / NANOSECONDS_PER_MS;
  const tasks = createKeyedTasks(logger, "pod watcher");
  const retries = createRetrySchedule(options.retry);
  const failDeps: FailDependencies = {
    failer: options.failer,
    source,
    ledger,
    logger,
    ...(options.notifier === undefined ? {} : { notifier: options.notifier }),
    counters: {
      failed: metrics.failed,
      failErrors: metrics.failErrors,
      cancelled: metrics.cancelled,
      cancelErrors: metrics.cancelErrors,
    },
  };

  /** Jobs this watcher is done with (failed, or left to an agent); forgotten once their pods are gone. */
  const ignored = new Set<string>();
  /** Pending and Running pods, by job uuid, checked for image failures and the pending timeout. */
  const watching = new Map<string, PodSnapshot>();
  /** What is wrong with a job's pod, until it has been acted on. */
  const problems = new Map<string, { pod: PodSnapshot; problem: Problem }>();
  /** Pods whose agent container was seen running at some point. */
  const agentStarted = new Set<string>();
  const reportedWithoutUuid = new Set<string>();

  const updateGauges = () => {
    metrics.ignored.set(ignored.size);
    metrics.watchingForImageFailure.set(watching.size);
  };

  function ignore(uuid: string): void {
    ignored.add(uuid);
    watching.delete(uuid);
    problems.delete(uuid);
    retries.forget(uuid);
    updateGauges();
  }

  function onEvent(event: InformerEvent<PodSnapshot>): void {
    const pod = event.object;
    if (event.type === "add") metrics.onAdd.inc();
    else if (event.type === "update") metrics.onUpdate.inc();
    else metrics.onDelete.inc();
    if (!isJobUuid(pod.uuid)) {
      if (event.type === "delete") reportedWithoutUuid.delete(pod.name);
      else if (!reportedWithoutUuid.has(pod.name)) {
        reportedWithoutUuid.add(pod.name);
        logger.error({ pod: pod.name, label: pod.uuid }, "Job UUID label missing or invalid for pod");
      }
      return;
    }
    if (agentContainer(pod)?.everStarted) agentStarted.add(pod.uid);
    const started = agentStarted.has(pod.uid);
    if (event.type === "delete") {
      agentStarted.delete(pod.uid);
      watching.delete(pod.uuid);
      dropTransientProblem(pod.uuid);
      if (
        !ignored.has(pod.uuid) &&
        !started &&
        pod.phase !== "Succeeded" &&
        problems.get(pod.uuid) === undefined
      ) {
        report(pod, { kind: "before-agent", message: beforeAgentMessage(pod, true) });
      }
      updateGauges();
      return;
    }
    const ending = pod.phase === "Succeeded" || pod.phase === "Failed" || pod.phase === "Unknown";
    if (ending || pod.deletingSince !== undefined) watching.delete(pod.uuid);
    // An image problem or a pending timeout is re-judged on every change: the pull may have succeeded.
    dropTransientProblem(pod.uuid);
    if (ignored.has(pod.uuid)) {
      updateGauges();
      return;
    }
    const initFailures = failedInitContainers(pod);
    if (initFailures.length > 0) {
      report(pod, { kind: "init", message: initFailureMessage(initFailures) });
    } else if (
      (pod.phase === "Failed" || pod.deletingSince !== undefined) &&
      pod.phase !== "Succeeded" &&
      !started
    ) {
      report(pod, { kind: "before-agent", message: beforeAgentMessage(pod, pod.phase !== "Failed") });
    } else if (
      !ending &&
      pod.deletingSince === undefined &&
      (pod.phase === "Pending" || pod.phase === "Running")
    ) {
      watching.set(pod.uuid, pod);
      check(pod);
    }
    updateGauges();
  }

  function dropTransientProblem(uuid: string): void {
    const kind = problems.get(uuid)?.problem.kind;
    if (kind === "image" || kind === "pending-timeout") problems.delete(uuid);
  }

  /** Image failures and the pending timeout of a watched pod, as of now. */
  function check(pod: PodSnapshot): void {
    dropTransientProblem(pod.uuid);
    const now = clock.now();
    const failing = failingContainers(pod, now);
    if (failing.length > 0) {
      report(pod, { kind: "image", message: imageFailureMessage(failing), containers: failing });
      return;
    }
    if (
      pendingTimeoutMs > 0 &&
      pod.phase === "Pending" &&
      pod.createdAt !== undefined &&
      now - pod.createdAt >= pendingTimeoutMs &&
      !hasImageProblem(pod)
    ) {
      report(pod, { kind: "pending-timeout", message: pendingTimeoutMessage(pod, now - pod.createdAt) });
    }
  }

  function failingContainers(pod: PodSnapshot, now: number): ContainerStatusSnapshot[] {
    const all = [...pod.initContainers, ...pod.containers];
    const reasonOf = (container: ContainerStatusSnapshot) => container.waiting?.reason ?? "";
    // A reference that cannot be parsed fails for good: report it, and every other pull problem, now.
    if (all.some((container) => IMMEDIATE_REASONS.has(reasonOf(container)))) {
      return all.filter(
        (container) => IMMEDIATE_REASONS.has(reasonOf(container)) || GRACE_REASONS.has(reasonOf(container)),
      );
    }
    if (pod.startTime === undefined || now - pod.startTime < graceMs) return [];
    return [
      ...pod.initContainers.filter((container) => GRACE_REASONS.has(reasonOf(container))),
      ...pod.containers.filter(
        (container) => GRACE_REASONS.has(reasonOf(container)) && SYSTEM_CONTAINER.test(container.name),
      ),
    ];
  }

  function report(pod: PodSnapshot, problem: Problem): void {
    problems.set(pod.uuid, { pod, problem });
    act(pod.uuid);
  }

  function act(uuid: string): void {
    const entry = problems.get(uuid);
    if (entry === undefined || ignored.has(uuid) || tasks.busy(uuid) || !retries.due(uuid, clock.now()))
      return;
    tasks.run(uuid, (signal) => handle(entry.pod, entry.problem, signal));
  }

  async function handle(pod: PodSnapshot, problem: Problem, signal: AbortSignal): Promise<void> {
    const uuid = pod.uuid;
    const log = { jobUuid: uuid, job: pod.jobName, pod: pod.name, reason: PROBLEM_NAMES[problem.kind] };
    const agentNote = problem.kind === "image" ? agentImageNote(problem.containers) : undefined;
    let state: Awaited<ReturnType<JobSource["jobState"]>>;
    try {
      state = await source.jobState(uuid, signal);
    } catch (error) {
      retryLater(uuid, error, "querying the Buildkite job's state");
      return;
    }
    // The pod may have moved on while Buildkite answered (the image was pulled after all).
    if (problems.get(uuid)?.problem.kind !== problem.kind) return;
    if (state === undefined) {
      logger.warn(log, "Buildkite has no command job with this uuid: leaving the pod alone");
      ignore(uuid);
      return;
    }
    if (ACQUIRABLE_STATES.has(state)) {
      let outcome: Awaited<ReturnType<typeof failOnBuildkite>>;
      try {
        outcome = await failOnBuildkite(
          failDeps,
          {
            uuid,
            jobName: pod.jobName,
            tags: pod.tags,
            message: problem.message,
            what: PROBLEM_NAMES[problem.kind],
            ...(agentNote === undefined ? {} : { agentNote }),
          },
          problem.kind === "image" ? "cancel-if-running" : "log",
          signal,
        );
      } catch (error) {
        retryLater(uuid, error, "failing the Buildkite job");
        return;
      }
      ignore(uuid);
      const deleteReason = DELETE_REASONS[problem.kind];
      if (deleteReason !== undefined && (outcome === "failed" || outcome === "already-failed")) {
        await deleteJob(pod, deleteReason, signal);
      }
      return;
    }
    if (TERMINAL_STATES.has(state) || CANCELLED_STATES.has(state)) {
      logger.debug({ ...log, state }, "the Buildkite job is over or being cancelled: nothing to report");
      ignore(uuid);
      return;
    }
    if (ACTIVE_STATES.has(state)) {
      if (problem.kind !== "image") {
        logger.info({ ...log, state }, "an agent has the job already (not this pod's): leaving it alone");
      } else {
        // Upstream HEAD notes accepted, assigned and running jobs; a job being cancelled or timing out
        // is ending anyway.
        const note = RUNNING_STATES.has(state) ? agentNote : undefined;
        reportAgentOwned(
          failDeps,
          { uuid, jobName: pod.jobName, ...(note ? { agentNote: note } : {}) },
          state,
        );
      }
      ignore(uuid);
      return;
    }
    retryLater(uuid, new Error(`the job is ${state}`), "waiting for the Buildkite job to be actionable");
  }

  function retryLater(uuid: string, error: unknown, what: string): void {
    const entry = problems.get(uuid);
    const { attempts, retryInMs, gaveUp } = retries.failed(uuid, clock.now());
    const log = { jobUuid: uuid, job: entry?.pod.jobName, err: (error as Error).message, attempts };
    if (gaveUp) {
      logger.error(log, `${what} failed too many times: giving up on this job`);
      ignore(uuid);
    } else {
      logger.warn({ ...log, retryInMs }, `${what} failed: trying again later`);
    }
  }

  async function deleteJob(pod: PodSnapshot, reason: string, signal: AbortSignal): Promise<void> {
    const log = { jobUuid: pod.uuid, job: pod.jobName, reason };
    try {
      const result = await api.deleteJob(pod.jobName, pod.jobUid, signal);
      if (result === "deleted") metrics.deleted.inc({ delete_reason: reason });
      logger.info({ ...log, result }, "deleted the Job of the failed Buildkite job");
    } catch (error) {
      metrics.deleteErrors.inc({ delete_reason: reason, error_reason: errorReason(error) });
      logger.warn(
        { ...log, err: (error as Error).message },
        "deleting the Job failed: its activeDeadlineSeconds and ttlSecondsAfterFinished will remove it",
      );
    }
  }

  function sweep(): void {
    const live = new Set(pods.list().map((pod) => pod.uuid));
    for (const uuid of ignored) if (!live.has(uuid) && !tasks.busy(uuid)) ignored.delete(uuid);
    for (const pod of watching.values()) check(pod);
    for (const uuid of problems.keys()) act(uuid);
    updateGauges();
  }

  const loop = watcherLoop({ source: pods, onEvent, sweep, sweepIntervalMs: options.sweepIntervalMs, tasks });
  return {
    start: loop.start,
    sweep,
    settled: () => tasks.settled(),
    stop: loop.stop,
  };
}

function agentContainer(pod: PodSnapshot): ContainerStatusSnapshot | undefined {
  return pod.containers.find((container) => container.name === AGENT_CONTAINER);
}

function hasImageProblem(pod: PodSnapshot): boolean {
  return [...pod.initContainers, ...pod.containers].some((container) => {
    const reason = container.waiting?.reason ?? "";
    return GRACE_REASONS.has(reason) || IMMEDIATE_REASONS.has(reason);
  });
}

function failedInitContainers(pod: PodSnapshot): ContainerStatusSnapshot[] {
  return pod.initContainers.filter(
    (container) =>
      !container.sidecar && container.terminated !== undefined && container.terminated.exitCode !== 0,
  );
}

const byName = (a: ContainerStatusSnapshot, b: ContainerStatusSnapshot) =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

function imageFailureMessage(containers: readonly ContainerStatusSnapshot[]): string {
  const rows = [...containers]
    .sort(byName)
    .map((container) => [
      container.name,
      JSON.stringify(container.image),
      container.waiting?.reason ?? "",
      container.waiting?.message ?? "",
    ]);
  return `The following images could not be pulled or were unavailable:\n\n${roundedTable(["CONTAINER", "IMAGE REF", "REASON", "MESSAGE"], rows)}`;
}

/** Upstream HEAD's stack notification for an agent's pod whose containers cannot start. */
function agentImageNote(containers: readonly ContainerStatusSnapshot[]): string {
  return imageFailureNotification(
    [...containers].sort(byName).map((container) => ({
      name: container.name,
      reason: container.waiting?.reason ?? "",
      message: container.waiting?.message ?? "",
    })),
  );
}

function initFailureMessage(containers: readonly ContainerStatusSnapshot[]): string {
  const rows = [...containers]
    .sort(byName)
    .map((container) => [
      container.name,
      String(container.terminated?.exitCode ?? ""),
      String(container.terminated?.signal ?? 0),
      container.terminated?.reason ?? "",
      container.terminated?.message ?? "",
    ]);
  return `The following init containers failed:\n\n${roundedTable(["CONTAINER", "EXIT CODE", "SIGNAL", "REASON", "MESSAGE"], rows)}`;
}

/** What the pod and its containers say about why it ended; the reasons users look for come first. */
function beforeAgentMessage(pod: PodSnapshot, deleted: boolean): string {
  const what = deleted ? "was deleted" : "failed";
  const lines = [
    `The Kubernetes pod ${pod.name} ${what} before its buildkite-agent container started, so no agent acquired this job.`,
  ];
  const status = [pod.reason, pod.message].filter((part) => part !== "").join(": ");
  if (status !== "") lines.push(`Pod status: ${status}`);
  for (const condition of pod.conditions) {
    if (condition.type === "DisruptionTarget" && condition.status === "True") {
      lines.push(
        `${condition.type}: ${[condition.reason, condition.message].filter((part) => part !== "").join(": ")}`,
      );
    }
  }
  const rows = [...pod.initContainers, ...pod.containers]
    .filter(
      (container) =>
        container.terminated !== undefined ||
        (container.waiting !== undefined &&
          container.waiting.reason !== "PodInitializing" &&
          container.waiting.reason !== "ContainerCreating"),
    )
    .map((container) =>
      container.terminated !== undefined
        ? [
            container.name,
            "terminated",
            String(container.terminated.exitCode),
            container.terminated.reason,
            container.terminated.message,
          ]
        : [container.name, "waiting", "", container.waiting?.reason ?? "", container.waiting?.message ?? ""],
    );
  const text = lines.join("\n");
  if (rows.length === 0) return `${text}\n`;
  return `${text}\n\n${roundedTable(["CONTAINER", "STATE", "EXIT CODE", "REASON", "MESSAGE"], rows)}`;
}

/** Upstream HEAD's wording. */
function pendingTimeoutMessage(pod: PodSnapshot, pendingMs: number): string {
  let message = `The pod has been in Pending state for ${goDurationSeconds(pendingMs)} without starting.\n`;
  if (pod.conditions.length > 0) {
    message += "\nPod Conditions:\n";
    for (const condition of pod.conditions) {
      message += `  - ${condition.type}: ${condition.status} (Reason: ${condition.reason}, Message: ${condition.message})\n`;
    }
  }
  return message;
}

function errorReason(error: unknown): string {
  const kind = (error as { kind?: unknown }).kind;
  return typeof kind === "string" ? kind : "Other";
}
