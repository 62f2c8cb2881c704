/**
 * The job watcher: Jobs that never got a pod (controller-runtime.md §2.6, with HEAD's confirmation).
 *
 * - A Job that **finished without a pod** (a quota, someone else's admission webhook refusing the pod,
 *   a deadline): `The Kubernetes job ended without starting a pod.` and its events.
 * - A started Job still **without a pod after `empty-job-grace-period`**:
 *   `The Kubernetes job spent <duration> without starting a pod.` and its events.
 *
 *   Before failing, as upstream HEAD does, it confirms: Buildkite must not have the job with an agent
 *   (`accepted`, `assigned`, `running`, `canceling`, `timing_out`), and a live GET of the Job (not the
 *   cache) must find the same uid and still no pod. Then it fails the job and **deletes the Job** (grace
 *   0, background propagation, the uid as precondition). Upstream v0.26.0 kept the Job (deadline 1)
 *   because its in-memory deduper would forget a deleted Job's uuid and create it again from a poll
 *   that still listed the job. Here dedupe is the cluster itself, and the job is failed (so no longer
 *   scheduled) before its Job goes; a poll answered before that, arriving after, can at worst create a
 *   Job whose agent Buildkite then refuses to give the job to (acquire is Buildkite's own lock), and that
 *   Job is seen here like any other. A Job of a job that is already over is deleted without failing.
 * - Backstop for HEAD's `failBeforeAgentAcquire`: a Job that **failed with a pod while Buildkite still
 *   has the job scheduled** (the agent crashed before acquiring) is failed a few seconds later, unless
 *   the pod watcher (which sees the pod, and says more) failed it first.
 */
import type { Registry } from "prom-client";
import type { Informer, InformerEvent } from "../../runtime/informer.ts";
import type { Logger } from "../../runtime/logger.ts";
import { isJobUuid } from "../../src/buildkite/job.ts";
import type { Config } from "../../src/config/types.ts";
import type { JobFailer, JobSource, JobState } from "../types.ts";
import { type Clock, SYSTEM_CLOCK } from "./clock.ts";
import type { ClusterApi } from "./cluster-api.ts";
import { jobEventsText } from "./events-text.ts";
import { type FailDependencies, failOnBuildkite } from "./fail-on-buildkite.ts";
import { createFailureLedger, type FailureLedger } from "./failure-ledger.ts";
import { humanDuration } from "./human-duration.ts";
import { type JobSnapshot, jobSnapshot, podCount } from "./job-snapshot.ts";
import { ACQUIRABLE_STATES, ACTIVE_STATES, TERMINAL_STATES } from "./job-states.ts";
import { createKeyedTasks } from "./keyed-tasks.ts";
import { kubernetesMetrics } from "./metrics.ts";
import { createRetrySchedule, type RetryScheduleOptions } from "./retry-schedule.ts";
import { watcherLoop } from "./watcher-loop.ts";

export interface JobWatcherOptions {
  readonly jobs: Informer<JobSnapshot>;
  readonly api: ClusterApi;
  readonly failer: JobFailer;
  readonly source: JobSource;
  readonly ledger?: FailureLedger;
  readonly config: Pick<Config, "emptyJobGracePeriod">;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly clock?: Clock;
  /** How often the grace period is checked; default 1 s; 0: only `sweep()`. */
  readonly sweepIntervalMs?: number;
  /** How long the backstop leaves a failed Job to the pod watcher; default 10 s. */
  readonly backstopDelayMs?: number;
  readonly retry?: RetryScheduleOptions;
}

export interface JobWatcher {
  start(): void;
  sweep(): void;
  settled(): Promise<void>;
  stop(): Promise<void>;
}

type Kind = "finished-without-pod" | "stalled" | "failed-before-acquire";

interface Candidate {
  readonly job: JobSnapshot;
  readonly kind: Kind;
  /** When it was seen (clock ms). */
  readonly since: number;
}

const NANOSECONDS_PER_MS = 1_000_000;
const DEFAULT_BACKSTOP_DELAY_MS = 10_000;

const FAILED_BEFORE_ACQUIRE =
  "The Kubernetes pod failed before the buildkite-agent acquired this Buildkite job. The pod was likely killed by Kubernetes (eviction, OOM, node failure) or terminated externally before the agent could start.\n";

export function createJobWatcher(options: JobWatcherOptions): JobWatcher {
  const { jobs, api, logger, source } = options;
  const clock = options.clock ?? SYSTEM_CLOCK;
  const metrics = kubernetesMetrics(options.registry).jobWatcher;
  const ledger = options.ledger ?? createFailureLedger({ clock });
  const graceMs = options.config.emptyJobGracePeriod / NANOSECONDS_PER_MS;
  const backstopDelayMs = options.backstopDelayMs ?? DEFAULT_BACKSTOP_DELAY_MS;
  const tasks = createKeyedTasks(logger, "job watcher");
  const retries = createRetrySchedule(options.retry);
  const failDeps: FailDependencies = {
    failer: options.failer,
    source,
    ledger,
    logger,
    counters: { failed: metrics.failed, failErrors: metrics.failErrors },
  };

  const ignored = new Set<string>();
  /** Started, unfinished Jobs without a pod, until the grace period has passed. */
  const stalling = new Map<string, JobSnapshot>();
  const candidates = new Map<string, Candidate>();
  const reportedWithoutUuid = new Set<string>();

  const updateGauges = () => {
    metrics.stalling.set(stalling.size);
    metrics.ignored.set(ignored.size);
  };

  function ignore(uuid: string): void {
    ignored.add(uuid);
    stalling.delete(uuid);
    candidates.delete(uuid);
    retries.forget(uuid);
    updateGauges();
  }

  function propose(job: JobSnapshot, kind: Kind): void {
    const existing = candidates.get(job.uuid);
    if (existing?.kind === kind) {
      candidates.set(job.uuid, { ...existing, job });
      return;
    }
    if (kind === "finished-without-pod") metrics.finishedWithoutPod.inc();
    if (kind === "stalled") metrics.stalledWithoutPod.inc();
    candidates.set(job.uuid, { job, kind, since: clock.now() });
  }

  function onEvent(event: InformerEvent<JobSnapshot>): void {
    const job = event.object;
    if (event.type === "add") metrics.onAdd.inc();
    else if (event.type === "update") metrics.onUpdate.inc();
    else metrics.onDelete.inc();
    if (!isJobUuid(job.uuid)) {
      if (event.type === "delete") reportedWithoutUuid.delete(job.name);
      else if (!reportedWithoutUuid.has(job.name)) {
        reportedWithoutUuid.add(job.name);
        logger.error({ job: job.name, label: job.uuid }, "Job UUID label missing or invalid for job");
      }
      return;
    }
    if (event.type === "delete") {
      stalling.delete(job.uuid);
      candidates.delete(job.uuid);
      ignored.delete(job.uuid);
      retries.forget(job.uuid);
      updateGauges();
      return;
    }
    if (ignored.has(job.uuid)) return;
    const pods = podCount(job);
    if (job.finished) {
      stalling.delete(job.uuid);
      if (pods === 0) {
        propose(job, "finished-without-pod");
        act(job.uuid);
      } else if (job.failed > 0 && job.succeeded === 0) {
        propose(job, "failed-before-acquire");
      } else {
        candidates.delete(job.uuid);
      }
    } else if (pods > 0 || job.startTime === undefined) {
      // A pod, or not started yet (suspended, say: the cancel checker watches those).
      stalling.delete(job.uuid);
      if (candidates.get(job.uuid)?.kind === "stalled") candidates.delete(job.uuid);
    } else if (!candidates.has(job.uuid)) {
      stalling.set(job.uuid, job);
    }
    updateGauges();
  }

  function act(uuid: string): void {
    const candidate = candidates.get(uuid);
    if (candidate === undefined || ignored.has(uuid) || tasks.busy(uuid)) return;
    const now = clock.now();
    if (!retries.due(uuid, now)) return;
    if (candidate.kind === "failed-before-acquire" && now - candidate.since < backstopDelayMs) return;
    tasks.run(uuid, (signal) => handle(candidate, signal));
  }

  async function handle(candidate: Candidate, signal: AbortSignal): Promise<void> {
    const { job, kind } = candidate;
    const uuid = job.uuid;
    const log = { jobUuid: uuid, job: job.name, reason: kind };
    if (kind === "failed-before-acquire" && ledger.has(uuid)) {
      ignore(uuid);
      return;
    }
    let state: JobState | undefined;
    try {
      state = await source.jobState(uuid, signal);
    } catch (error) {
      retryLater(uuid, error, "querying the Buildkite job's state");
      return;
    }
    if (state === undefined) {
      logger.warn(log, "Buildkite has no command job with this uuid: leaving the Job alone");
      ignore(uuid);
      return;
    }
    if (ACTIVE_STATES.has(state)) {
      metrics.cleanupSkipped.inc({ reason: "agent_active" });
      logger.info({ ...log, state }, "an agent has the job: leaving its Job alone");
      ignore(uuid);
      return;
    }
    if (kind !== "failed-before-acquire") {
      let live: JobSnapshot | undefined;
      try {
        live = jobSnapshot(await api.getJob(job.name, signal));
      } catch (error) {
        retryLater(uuid, error, "reading the Job");
        return;
      }
      const skip =
        live === undefined
          ? "job_gone"
          : live.uid !== job.uid
            ? "job_replaced"
            : podCount(live) > 0
              ? "pod_exists"
              : undefined;
      if (skip !== undefined) {
        metrics.cleanupSkipped.inc({ reason: skip });
        logger.info({ ...log, skip }, "the Job changed since it was seen: not failing the job");
        if (skip === "pod_exists") {
          candidates.delete(uuid);
          retries.forget(uuid);
        } else ignore(uuid);
        return;
      }
    }
    if (ACQUIRABLE_STATES.has(state)) {
      const events = await jobEventsText(api, job.name, signal);
      try {
        const outcome = await failOnBuildkite(
          failDeps,
          { uuid, jobName: job.name, tags: job.tags, message: `${header(candidate)}${events}`, what: kind },
          "log",
          signal,
        );
        if (outcome === "failed" && kind === "failed-before-acquire") metrics.failedBeforeAgentAcquire.inc();
      } catch (error) {
        retryLater(uuid, error, "failing the Buildkite job");
        return;
      }
    } else if (!TERMINAL_STATES.has(state)) {
      retryLater(uuid, new Error(`the job is ${state}`), "waiting for the Buildkite job to be actionable");
      return;
    }
    ignore(uuid);
    if (kind !== "failed-before-acquire")
      await deleteJob(job, kind === "stalled" ? "stalled_without_pod" : "finished_without_pod", signal);
  }

  function header(candidate: Candidate): string {
    switch (candidate.kind) {
      case "finished-without-pod":
        return "The Kubernetes job ended without starting a pod.\n";
      case "stalled":
        return `The Kubernetes job spent ${humanDuration(clock.now() - (candidate.job.startTime ?? clock.now()))} without starting a pod.\n`;
      case "failed-before-acquire":
        return FAILED_BEFORE_ACQUIRE;
    }
  }

  async function deleteJob(job: JobSnapshot, reason: string, signal: AbortSignal): Promise<void> {
    const log = { jobUuid: job.uuid, job: job.name, reason };
    try {
      const result = await api.deleteJob(job.name, job.uid, signal);
      if (result === "deleted") metrics.deleted.inc({ delete_reason: reason });
      logger.info({ ...log, result }, "deleted the Job that never started a pod");
    } catch (error) {
      const kind = (error as { kind?: unknown }).kind;
      metrics.deleteErrors.inc({
        delete_reason: reason,
        error_reason: typeof kind === "string" ? kind : "Other",
      });
      logger.warn(
        { ...log, err: (error as Error).message },
        "deleting the Job failed: its ttlSecondsAfterFinished or deadline will remove it",
      );
    }
  }

  function retryLater(uuid: string, error: unknown, what: string): void {
    const { attempts, retryInMs, gaveUp } = retries.failed(uuid, clock.now());
    const log = {
      jobUuid: uuid,
      job: candidates.get(uuid)?.job.name,
      err: (error as Error).message,
      attempts,
    };
    if (gaveUp) {
      logger.error(log, `${what} failed too many times: giving up on this Job`);
      ignore(uuid);
    } else {
      logger.warn({ ...log, retryInMs }, `${what} failed: trying again later`);
    }
  }

  function sweep(): void {
    const now = clock.now();
    for (const [uuid, job] of stalling) {
      if (job.startTime !== undefined && now - job.startTime >= graceMs) {
        stalling.delete(uuid);
        propose(job, "stalled");
      }
    }
    for (const uuid of candidates.keys()) act(uuid);
    updateGauges();
  }

  const loop = watcherLoop({ source: jobs, onEvent, sweep, sweepIntervalMs: options.sweepIntervalMs, tasks });
  return {
    start: loop.start,
    sweep,
    settled: () => tasks.settled(),
    stop: loop.stop,
  };
}
