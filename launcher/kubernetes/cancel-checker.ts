/**
 * The cancel checker: a Buildkite job cancelled while its Job waits (a Pending pod, or no pod at all:
 * not started yet, held `suspend: true` by a queueing system such as Kueue, or stalled) has nothing
 * that would ever notice, so its Job would wait until its deadline. Every
 * `job-cancel-checker-poll-interval` the states of all those jobs are fetched in one go (upstream
 * HEAD's batch checker), and the Job of a `CANCELED`/`CANCELING` one is deleted (grace 0, background
 * propagation, its uid as precondition), pod and all. Upstream v0.26.0 only evicted pending pods,
 * which left podless Jobs behind.
 *
 * A job is checked while its pod is Pending, or while its Job is unfinished and has no pod; a pod
 * registration is never replaced by its Job's. Checking stops when the pod runs or ends, when the Job
 * finishes or goes away, or when Buildkite says something other than scheduled (an agent has it, it is
 * over, it does not exist): then it is not checked again while that object exists.
 */
import type { Registry } from "prom-client";
import type { Informer, InformerEvent } from "../../runtime/informer.ts";
import type { Logger } from "../../runtime/logger.ts";
import { isJobUuid } from "../../src/buildkite/job.ts";
import type { Config } from "../../src/config/types.ts";
import type { JobSource, JobState } from "../types.ts";
import type { ClusterApi } from "./cluster-api.ts";
import { type JobSnapshot, podCount } from "./job-snapshot.ts";
import { ACQUIRABLE_STATES, CANCELLED_STATES } from "./job-states.ts";
import { kubernetesMetrics } from "./metrics.ts";
import type { PodSnapshot } from "./pod-snapshot.ts";

/** A job source that can answer for many jobs in one request (HEAD's `get-states`). */
export interface BatchJobStates {
  jobStates(
    uuids: readonly string[],
    signal: AbortSignal,
  ): Promise<ReadonlyMap<string, JobState | undefined>>;
}

export interface CancelCheckerOptions {
  readonly pods: Informer<PodSnapshot>;
  readonly jobs: Informer<JobSnapshot>;
  readonly api: ClusterApi;
  /** `jobStates` is used when the source has it; otherwise `jobState` per job, `concurrency` at a time. */
  readonly source: JobSource & Partial<BatchJobStates>;
  readonly config: Pick<Config, "jobCancelCheckerPollInterval">;
  readonly logger: Logger;
  readonly registry: Registry;
  /** Overrides `job-cancel-checker-poll-interval`; 0: only `poll()`. */
  readonly pollIntervalMs?: number;
  /** Jobs per batch request; default 100. */
  readonly batchSize?: number;
  /** Single-job state queries in flight at once; default 8. */
  readonly concurrency?: number;
}

export interface CancelChecker {
  start(): void;
  /** One round of state checks; overlapping calls share the round under way. */
  poll(): Promise<void>;
  /** The uuids being checked, for tests and the gauge. */
  registered(): ReadonlyMap<string, Registration>;
  stop(): Promise<void>;
}

export interface Registration {
  readonly kind: "pod" | "job";
  readonly jobName: string;
  readonly jobUid: string;
  readonly podName?: string;
}

const NANOSECONDS_PER_MS = 1_000_000;

export function createCancelChecker(options: CancelCheckerOptions): CancelChecker {
  const { pods, jobs, api, source, logger } = options;
  const all = kubernetesMetrics(options.registry);
  const batchSize = Math.max(1, options.batchSize ?? 100);
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const pollIntervalMs =
    options.pollIntervalMs ?? options.config.jobCancelCheckerPollInterval / NANOSECONDS_PER_MS;
  const registrations = new Map<string, Registration>();
  /** Jobs Buildkite said something final about: not checked again while their objects exist. */
  const stopped = new Set<string>();
  const stopper = new AbortController();
  const unsubscribes: Array<() => void> = [];
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> | undefined;

  const gauge = () => all.podWatcher.cancelCheckers.set(registrations.size);

  function register(uuid: string, registration: Registration): void {
    if (stopped.has(uuid)) return;
    registrations.set(uuid, registration);
    gauge();
  }

  function deregister(uuid: string): void {
    if (registrations.delete(uuid)) gauge();
  }

  function onPod(event: InformerEvent<PodSnapshot>): void {
    const pod = event.object;
    if (!isJobUuid(pod.uuid)) return;
    const current = registrations.get(pod.uuid);
    if (event.type === "delete") {
      if (current?.kind === "pod" && current.podName === pod.name) deregister(pod.uuid);
      stopped.delete(pod.uuid);
      return;
    }
    if (pod.phase === "Pending" && pod.deletingSince === undefined) {
      register(pod.uuid, { kind: "pod", jobName: pod.jobName, jobUid: pod.jobUid, podName: pod.name });
    } else {
      // The pod runs (its agent takes it from here) or ends.
      deregister(pod.uuid);
    }
  }

  function onJob(event: InformerEvent<JobSnapshot>): void {
    const job = event.object;
    if (!isJobUuid(job.uuid)) return;
    const current = registrations.get(job.uuid);
    if (event.type === "delete" || job.finished) {
      deregister(job.uuid);
      if (event.type === "delete") stopped.delete(job.uuid);
      return;
    }
    if (podCount(job) === 0) {
      if (current === undefined) register(job.uuid, { kind: "job", jobName: job.name, jobUid: job.uid });
    } else if (current?.kind === "job") {
      deregister(job.uuid);
    }
  }

  async function states(
    uuids: readonly string[],
    signal: AbortSignal,
  ): Promise<Map<string, JobState | undefined>> {
    const result = new Map<string, JobState | undefined>();
    const batch = source.jobStates?.bind(source);
    if (batch !== undefined) {
      for (let start = 0; start < uuids.length; start += batchSize) {
        const chunk = uuids.slice(start, start + batchSize);
        try {
          const answer = await batch(chunk, signal);
          for (const uuid of chunk) if (answer.has(uuid)) result.set(uuid, answer.get(uuid));
        } catch (error) {
          logger.warn(
            { err: (error as Error).message, jobs: chunk.length },
            "checking Buildkite job states failed: trying again at the next poll",
          );
        }
      }
      return result;
    }
    let next = 0;
    const worker = async () => {
      while (next < uuids.length && !signal.aborted) {
        const uuid = uuids[next++] as string;
        try {
          result.set(uuid, await source.jobState(uuid, signal));
        } catch (error) {
          logger.debug(
            { jobUuid: uuid, err: (error as Error).message },
            "checking the Buildkite job state failed: trying again at the next poll",
          );
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, uuids.length) }, worker));
    return result;
  }

  async function checkAll(signal: AbortSignal): Promise<void> {
    const uuids = [...registrations.keys()];
    if (uuids.length === 0) return;
    const answers = await states(uuids, signal);
    for (const [uuid, state] of answers) {
      const registration = registrations.get(uuid);
      if (registration === undefined) continue;
      if (state !== undefined && CANCELLED_STATES.has(state)) {
        await deleteCancelled(uuid, registration, state, signal);
      } else if (state === undefined || !ACQUIRABLE_STATES.has(state)) {
        logger.debug(
          { jobUuid: uuid, job: registration.jobName, state },
          "no longer checking the job for cancellation",
        );
        deregister(uuid);
        stopped.add(uuid);
      }
    }
  }

  async function deleteCancelled(
    uuid: string,
    registration: Registration,
    state: JobState,
    signal: AbortSignal,
  ): Promise<void> {
    const counters = registration.kind === "pod" ? all.podWatcher : all.jobWatcher;
    const log = { jobUuid: uuid, job: registration.jobName, pod: registration.podName, state };
    try {
      const result = await api.deleteJob(registration.jobName, registration.jobUid, signal);
      if (result === "deleted") counters.deleted.inc({ delete_reason: "job_cancelled" });
      logger.info({ ...log, result }, "the Buildkite job was cancelled: deleted its waiting Job");
      deregister(uuid);
      stopped.add(uuid);
    } catch (error) {
      const kind = (error as { kind?: unknown }).kind;
      counters.deleteErrors.inc({
        delete_reason: "job_cancelled",
        error_reason: typeof kind === "string" ? kind : "Other",
      });
      logger.warn(
        { ...log, err: (error as Error).message },
        "deleting the Job of a cancelled job failed: trying again at the next poll",
      );
    }
  }

  const poll = (): Promise<void> => {
    round ??= checkAll(stopper.signal)
      .catch((error: unknown) => {
        if (!stopper.signal.aborted)
          logger.error({ err: error }, "the cancel checker's round failed unexpectedly");
      })
      .finally(() => {
        round = undefined;
      });
    return round;
  };

  return {
    start() {
      if (unsubscribes.length > 0) return;
      unsubscribes.push(jobs.subscribe(onJob), pods.subscribe(onPod));
      for (const job of jobs.list()) onJob({ type: "add", object: job });
      for (const pod of pods.list()) onPod({ type: "add", object: pod });
      if (pollIntervalMs > 0) {
        timer = setInterval(() => void poll(), pollIntervalMs);
        timer.unref();
      }
    },
    poll,
    registered: () => registrations,
    async stop() {
      for (const unsubscribe of unsubscribes.splice(0)) unsubscribe();
      if (timer !== undefined) clearInterval(timer);
      stopper.abort();
      await round;
    },
  };
}
