/**
 * The poll loop: ask the job source for scheduled jobs every `poll-interval` (with ±10 % jitter, so
 * several launchers do not poll in step), keep the ones this launcher may take, hand them to the
 * scheduler. A failing poll backs off exponentially up to a minute and is logged once per distinct
 * error; a fatal one (an organization that does not exist) ends the loop.
 */
import { exponentialDelay, spread } from "../runtime/backoff.ts";
import { distinctErrorLog } from "../runtime/distinct-error-log.ts";
import type { Logger } from "../runtime/logger.ts";
import type { BuildkiteJob } from "../src/buildkite/job.ts";
import type { LauncherMetrics } from "./metrics.ts";
import type { ScheduledJob, SchedulerClock } from "./scheduler.ts";
import { matchesTags } from "./tag-filter.ts";
import type { JobSource } from "./types.ts";

export interface MonitorOptions {
  readonly source: JobSource;
  readonly offer: (jobs: readonly ScheduledJob[]) => void;
  readonly tags: ReadonlyMap<string, string>;
  /** Milliseconds between polls. */
  readonly intervalMs: number;
  /** An error after which polling cannot succeed (invalid organization, bad token). */
  readonly isFatal: (error: unknown) => boolean;
  /** When a job was scheduled, if the source tells (ms since the epoch). */
  readonly scheduledAt?: (uuid: string) => number | undefined;
  readonly logger: Logger;
  readonly metrics: LauncherMetrics;
  readonly clock: SchedulerClock;
  /** Called after each successful poll (readiness). */
  readonly onPolled?: () => void;
}

const MAX_BACKOFF_MS = 60_000;

export async function runMonitor(options: MonitorOptions, signal: AbortSignal): Promise<void> {
  const { logger, metrics, clock } = options;
  const errors = distinctErrorLog(logger, "polling Buildkite for scheduled jobs");
  let failures = 0;
  metrics.monitorUp.set(1);
  try {
    while (!signal.aborted) {
      try {
        await pollOnce(options, signal);
        failures = 0;
        errors.recovered();
        options.onPolled?.();
      } catch (error) {
        if (signal.aborted) break;
        metrics.queryErrors.inc();
        if (options.isFatal(error)) throw error;
        failures += 1;
        errors.failed(error);
      }
      const delay =
        failures === 0 ? jittered(options.intervalMs, clock) : backoff(options.intervalMs, failures, clock);
      await clock.sleep(delay, signal).catch(() => undefined);
    }
  } finally {
    metrics.monitorUp.set(0);
  }
}

async function pollOnce(options: MonitorOptions, signal: AbortSignal): Promise<void> {
  const { metrics, clock, logger } = options;
  const started = clock.now();
  metrics.queries.inc();
  const stopTimer = metrics.queryDuration.startTimer();
  // What is ready before the poll ends is offered at once; the whole poll's list then replaces it.
  const early = (jobs: readonly BuildkiteJob[]) => options.offer(takeable(jobs, options, started));
  const jobs = await options.source.scheduledJobs(signal, early).finally(stopTimer);
  metrics.jobsReturned.inc(jobs.length);
  const taken = takeable(jobs, options, started, (job) => {
    metrics.jobsFiltered.inc();
    logger.debug(
      { jobUuid: job.uuid, rules: job.agentQueryRules },
      "skipping job: its rules are not all tags of this launcher",
    );
  });
  metrics.jobsHandled.inc(taken.length);
  options.offer(taken);
}

/** The jobs this launcher may take (every rule one of its tags), as the scheduler wants them. */
export function takeable(
  jobs: readonly BuildkiteJob[],
  from: Pick<MonitorOptions, "tags" | "scheduledAt">,
  seenAt: number,
  skipped?: (job: BuildkiteJob) => void,
): ScheduledJob[] {
  const taken: ScheduledJob[] = [];
  for (const job of jobs) {
    if (!matchesTags(job.agentQueryRules, from.tags)) {
      skipped?.(job);
      continue;
    }
    const scheduledAt = from.scheduledAt?.(job.uuid);
    taken.push(scheduledAt === undefined ? { job, seenAt } : { job, seenAt, scheduledAt });
  }
  return taken;
}

function jittered(intervalMs: number, clock: SchedulerClock): number {
  return spread(intervalMs, 0.1, () => clock.random());
}

/** After `failures` failed polls: the interval doubled for each (the first failure waits twice it). */
function backoff(intervalMs: number, failures: number, clock: SchedulerClock): number {
  return jittered(exponentialDelay(intervalMs, MAX_BACKOFF_MS, failures + 1), clock);
}
