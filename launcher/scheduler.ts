/**
 * From scheduled jobs to skeleton Jobs: a priority queue that every poll replaces (a job no longer
 * scheduled leaves it), `job-creation-concurrency` workers, room under `max-in-flight` counted from the
 * cluster, the client-side rate limit, and what each create's outcome means for the Buildkite job.
 *
 * In flight = unfinished Jobs in the cluster (whoever created them) + creates under way + Jobs created
 * here that the informer has not shown yet. The last two are sets of uuids that shrink as creates end
 * and the informer catches up (with a bound on how long an entry may wait), so nothing can leak.
 */

import { exponentialDelay, spread } from "../runtime/backoff.ts";
import { type DistinctErrorLog, distinctErrorLog } from "../runtime/distinct-error-log.ts";
import type { Logger } from "../runtime/logger.ts";
import type { RateLimiter } from "../runtime/rate-limiter.ts";
import { sleep } from "../runtime/sleep.ts";
import { skeletonJobName } from "../src/admission/skeleton.ts";
import type { BuildkiteJob } from "../src/buildkite/job.ts";
import type { Config } from "../src/config/types.ts";
import type { LauncherMetrics } from "./metrics.ts";
import {
  type ClusterJobs,
  type CreateOutcome,
  JobAcquisitionRejectedError,
  type JobCreator,
  type JobFailer,
} from "./types.ts";

export interface ScheduledJob {
  readonly job: BuildkiteJob;
  /** When a poll first returned it (ms, the clock below). */
  readonly seenAt: number;
  /** When Buildkite scheduled it, if the source knows (ms since the epoch). */
  readonly scheduledAt?: number;
}

export interface SchedulerClock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Milliseconds since the epoch, for `scheduledAt`. */
  wallNow(): number;
  /** Resolves after `ms`, or rejects when the signal aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  random(): number;
}

export interface SchedulerOptions {
  readonly cluster: ClusterJobs;
  readonly creator: JobCreator;
  readonly failer: JobFailer;
  readonly rateLimiter: RateLimiter;
  readonly config: Pick<Config, "maxInFlight" | "jobCreationConcurrency" | "jobPrefix">;
  readonly logger: Logger;
  readonly metrics: LauncherMetrics;
  readonly clock?: SchedulerClock;
}

/** Back-off of one job after our own outage: 1 s doubling to 1 min, with ±20 % jitter. */
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 60_000;
/** How long a created Job may stay unseen by the informer before it stops counting as in flight. */
const UNSEEN_CREATED_MAX_MS = 60_000;
/** Workers re-check at least this often, so a missed wake-up costs little. */
const IDLE_RECHECK_MS = 1_000;

interface Backoff {
  attempts: number;
  until: number;
}

export const SYSTEM_CLOCK: SchedulerClock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  // Rejects with the signal's own reason, which callers pass on.
  sleep: (ms, signal) =>
    sleep(ms, signal).catch(() => {
      throw signal.reason;
    }),
  random: Math.random,
};

export class Scheduler {
  readonly #options: SchedulerOptions;
  readonly #clock: SchedulerClock;
  /** Waiting jobs, highest priority first; replaced by every poll. */
  #queue: ScheduledJob[] = [];
  readonly #creating = new Set<string>();
  /** uuid → when it was created, until the informer shows it. */
  readonly #createdUnseen = new Map<string, number>();
  readonly #backoff = new Map<string, Backoff>();
  #wake: (() => void) | undefined;
  /** An outage makes every create fail the same way: say it once, and say when it is over. */
  readonly #createErrors: DistinctErrorLog;

  constructor(options: SchedulerOptions) {
    this.#options = options;
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#createErrors = distinctErrorLog(options.logger, "creating Jobs");
  }

  /**
   * The jobs of the latest poll that this launcher may take. Wakes the workers. A job whose Job is
   * being created, exists, or was just created and is not in the informer yet (a poll can answer
   * between a create and the watch event that reports it) is not taken again.
   */
  offer(jobs: readonly ScheduledJob[]): void {
    const current = new Set(jobs.map(({ job }) => job.uuid));
    for (const uuid of this.#backoff.keys()) if (!current.has(uuid)) this.#backoff.delete(uuid);
    this.#forgetLongUnseen();
    const previous = new Map(this.#queue.map((entry) => [entry.job.uuid, entry]));
    const unique = new Map<string, ScheduledJob>();
    for (const entry of jobs) {
      const uuid = entry.job.uuid;
      if (unique.has(uuid) || this.#creating.has(uuid) || this.#createdUnseen.has(uuid)) continue;
      if (this.#options.cluster.has(uuid)) continue;
      // Keep when it was first seen, so latency counts from the first poll that returned it.
      unique.set(uuid, { ...entry, seenAt: previous.get(uuid)?.seenAt ?? entry.seenAt });
    }
    // Higher Buildkite priority first; among equals, the order Buildkite returned (oldest first).
    this.#queue = [...unique.values()].sort((a, b) => b.job.priority.number - a.job.priority.number);
    this.#options.metrics.queueLength.set(this.#queue.length);
    this.#notify();
  }

  /** Call when the cluster changed: capacity may have freed up. */
  clusterChanged(): void {
    for (const uuid of this.#createdUnseen.keys()) {
      if (this.#options.cluster.has(uuid)) this.#createdUnseen.delete(uuid);
    }
    this.#notify();
  }

  /** Runs the workers until the signal aborts; resolves when the last create under way has ended. */
  async run(signal: AbortSignal): Promise<void> {
    await this.#work(signal, () => true);
  }

  /**
   * After `run` has ended: creates the jobs still queued until none is left or `signal` aborts, as
   * `run` would (back-off, `max-in-flight`), with no new polls. For a source that reserves jobs (the
   * Stacks API), whose jobs would otherwise wait for their reservation to expire before another
   * launcher could take them. Resolves with the uuids left.
   */
  async drain(signal: AbortSignal): Promise<string[]> {
    await this.#work(signal, () => this.#queue.length > 0);
    return this.#queue.map((entry) => entry.job.uuid);
  }

  inFlight(): number {
    this.#forgetLongUnseen();
    return this.#options.cluster.inFlight() + this.#creating.size + this.#createdUnseen.size;
  }

  /** `job-creation-concurrency` workers, while `more()` says so and the signal allows. */
  async #work(signal: AbortSignal, more: () => boolean): Promise<void> {
    const workers = Math.max(1, this.#options.config.jobCreationConcurrency);
    await Promise.all(Array.from({ length: workers }, () => this.#worker(signal, more)));
  }

  async #worker(signal: AbortSignal, more: () => boolean): Promise<void> {
    while (!signal.aborted && more()) {
      const next = this.#takeNext();
      if (!next) {
        await this.#waitForChange(signal);
        continue;
      }
      const uuid = next.job.uuid;
      this.#creating.add(uuid);
      try {
        await this.#createOne(next, signal);
      } catch (error) {
        if (!signal.aborted) throw error;
        // Cut short by the stop: queued again, for `drain`.
        this.#requeue(next);
      } finally {
        this.#creating.delete(uuid);
        this.#notify();
      }
    }
  }

  #takeNext(): ScheduledJob | undefined {
    const limit = this.#options.config.maxInFlight;
    const waiting = this.#queue.length > 0;
    if (limit > 0 && this.inFlight() >= limit) {
      this.#options.metrics.waitingForCapacity.set(waiting ? 1 : 0);
      return undefined;
    }
    this.#options.metrics.waitingForCapacity.set(0);
    const now = this.#clock.now();
    const index = this.#queue.findIndex((entry) => (this.#backoff.get(entry.job.uuid)?.until ?? 0) <= now);
    if (index < 0) return undefined;
    const [next] = this.#queue.splice(index, 1);
    this.#options.metrics.queueLength.set(this.#queue.length);
    return next;
  }

  async #createOne(entry: ScheduledJob, signal: AbortSignal): Promise<void> {
    const { job } = entry;
    const { metrics, logger } = this.#options;
    await this.#options.rateLimiter.take(signal);
    metrics.createCalls.inc();
    const outcome = await this.#options.creator.create(job, signal);
    metrics.createOutcomes.inc({ outcome: outcome.kind });
    switch (outcome.kind) {
      case "created":
        this.#backoff.delete(job.uuid);
        this.#rememberUntilSeen(job.uuid);
        this.#createErrors.recovered();
        metrics.endToEnd.observe((this.#clock.now() - entry.seenAt) / 1000);
        if (entry.scheduledAt !== undefined) {
          metrics.scheduledToCreated.observe(Math.max(0, this.#clock.wallNow() - entry.scheduledAt) / 1000);
        }
        logger.info({ jobUuid: job.uuid, job: this.#jobName(job) }, "created Job");
        return;
      case "exists":
        this.#backoff.delete(job.uuid);
        this.#rememberUntilSeen(job.uuid);
        logger.debug(
          { jobUuid: job.uuid },
          "the Job already exists: another launcher or an earlier attempt created it",
        );
        return;
      case "denied":
      case "invalid":
        await this.#failOnBuildkite(job, outcome, signal);
        return;
      case "retry":
        this.#retryLater(job, outcome);
        return;
    }
  }

  async #failOnBuildkite(
    job: BuildkiteJob,
    outcome: Extract<CreateOutcome, { kind: "denied" | "invalid" }>,
    signal: AbortSignal,
  ): Promise<void> {
    const { metrics, logger } = this.#options;
    const fields = { jobUuid: job.uuid, outcome: outcome.kind };
    // The reason is not logged: it quotes the job's plugin configuration. The Buildkite job's log shows
    // it, and the webhook's log has the denial's code and where the problem is.
    logger.warn(fields, "the Job was refused; failing the Buildkite job with the reason in its log");
    try {
      await this.#options.failer.failJob(
        {
          uuid: job.uuid,
          agentName: this.#jobName(job),
          tags: job.agentQueryRules,
          message: outcome.message,
        },
        signal,
      );
      this.#backoff.delete(job.uuid);
      metrics.failedOnBuildkite.inc();
    } catch (error) {
      if (signal.aborted) throw error;
      if (error instanceof JobAcquisitionRejectedError) {
        // Someone else has the job now (cancelled, or another launcher failed it first): nothing to do.
        logger.info(
          { ...fields, err: error.message },
          "Buildkite no longer lets the job be acquired; leaving it",
        );
        return;
      }
      metrics.failOnBuildkiteErrors.inc();
      logger.warn(
        { ...fields, err: (error as Error).message },
        "could not fail the Buildkite job; will try again",
      );
      this.#retryLater(job, { kind: "retry", message: (error as Error).message });
    }
  }

  /** The job stays scheduled on Buildkite; it is tried again once its back-off has passed. */
  #retryLater(job: BuildkiteJob, outcome: Extract<CreateOutcome, { kind: "retry" }>): void {
    const previous = this.#backoff.get(job.uuid)?.attempts ?? 0;
    const attempts = previous + 1;
    const jittered = spread(exponentialDelay(RETRY_BASE_MS, RETRY_MAX_MS, attempts), 0.2, () =>
      this.#clock.random(),
    );
    const delay = Math.max(jittered, outcome.retryAfterMs ?? 0);
    this.#backoff.set(job.uuid, { attempts, until: this.#clock.now() + delay });
    this.#options.metrics.createRetries.inc();
    this.#createErrors.failed(outcome.message, { jobUuid: job.uuid });
    this.#options.logger.debug(
      { jobUuid: job.uuid, attempts, retryInMs: Math.round(delay), err: outcome.message },
      "creating the Job failed on our side; retrying later",
    );
    // Back in the queue at its place: the next poll would bring it back anyway.
    this.#requeue({ job, seenAt: this.#clock.now() });
  }

  #requeue(entry: ScheduledJob): void {
    this.#queue.push(entry);
    this.#queue.sort((a, b) => b.job.priority.number - a.job.priority.number);
  }

  /** Until the informer shows it, a Job just created (here or elsewhere) counts as in flight and is not created again. */
  #rememberUntilSeen(uuid: string): void {
    if (!this.#options.cluster.has(uuid)) this.#createdUnseen.set(uuid, this.#clock.now());
  }

  #forgetLongUnseen(): void {
    const now = this.#clock.now();
    for (const [uuid, createdAt] of this.#createdUnseen) {
      if (now - createdAt > UNSEEN_CREATED_MAX_MS) this.#createdUnseen.delete(uuid);
    }
  }

  #jobName(job: BuildkiteJob): string {
    return skeletonJobName(job, this.#options.config);
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async #waitForChange(signal: AbortSignal): Promise<void> {
    const nextBackoff = Math.min(
      IDLE_RECHECK_MS,
      ...[...this.#backoff.values()].map((backoff) => Math.max(0, backoff.until - this.#clock.now())),
    );
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const woken = new Promise<void>((resolve) => {
      const previous = this.#wake;
      this.#wake = () => {
        previous?.();
        resolve();
      };
    });
    try {
      await Promise.race([woken, this.#clock.sleep(nextBackoff, controller.signal)]);
    } catch {
      // Aborted: the worker loop sees the signal.
    } finally {
      controller.abort();
      signal.removeEventListener("abort", onAbort);
    }
  }
}
