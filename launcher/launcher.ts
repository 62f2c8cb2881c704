/**
 * The launcher, wired in one place:
 *
 *   monitor (poll Buildkite) → tag filter → scheduler (priority, max-in-flight, concurrency, rate limit)
 *     → creator (skeleton Job; the webhook expands it) → outcome (created | exists | fail on Buildkite | retry)
 *   Jobs informer (in flight, dedupe) ─┐
 *   Pods informer → watchers ──────────┴→ fail on Buildkite / delete Jobs
 *
 * Stateless: the cluster's Jobs are the truth about what is in flight, so it can be restarted at any
 * moment and several can run at once. With a source that reserves jobs (the Stacks API), a stopping
 * launcher first creates the Jobs of the jobs it holds (`reservedJobs`, 10 s at most): a reserved job it
 * dropped would wait for its reservation to expire before anyone else could take it.
 */
import type { Registry } from "prom-client";
import type { Logger } from "../runtime/logger.ts";
import { startMetricsServer } from "../runtime/ops-server.ts";
import type { RateLimiter } from "../runtime/rate-limiter.ts";
import type { Config } from "../src/config/types.ts";
import type { StackJobs } from "./kubernetes/cluster-jobs.ts";
import type { KubernetesWatchers } from "./kubernetes/watchers.ts";
import { createLauncherMetrics } from "./metrics.ts";
import { runMonitor, takeable } from "./monitor.ts";
import { Scheduler, type SchedulerClock, SYSTEM_CLOCK } from "./scheduler.ts";
import { controllerTags } from "./tag-filter.ts";
import type { JobCreator, JobFailer, JobSource } from "./types.ts";

export interface LauncherParts {
  readonly source: JobSource & { scheduledAt?(uuid: string): number | undefined };
  readonly failer: JobFailer;
  readonly jobs: StackJobs;
  readonly creator: JobCreator;
  readonly watchers: KubernetesWatchers;
}

export interface LauncherOptions {
  readonly config: Config;
  readonly parts: LauncherParts;
  readonly rateLimiter: RateLimiter;
  readonly logger: Logger;
  readonly registry: Registry;
  /** An error after which polling cannot succeed: the launcher stops and says why. */
  readonly isFatal: (error: unknown) => boolean;
  /** Where `/healthz`, `/readyz` and `/metrics` are served over HTTP; undefined: nowhere. */
  readonly port?: number;
  readonly clock?: SchedulerClock;
  /** Called once the launcher polls (tests wait for it). */
  readonly onStarted?: (info: { port: number | undefined }) => void;
}

const NANOSECONDS_PER_MS = 1_000_000;
/** Upstream never polls more often than once a second. */
const MIN_POLL_INTERVAL_MS = 1_000;
/**
 * How long a stopping launcher goes on creating the Jobs of the jobs it reserved; with the Stacks API's
 * last notes (2 s) and deregistration (5 s), well inside the chart's 30 s of termination grace.
 */
const DRAIN_ON_STOP_MS = 10_000;

/** Runs until the signal aborts (then stops cleanly) or a fatal error (then rejects with it). */
export async function runLauncher(options: LauncherOptions, signal: AbortSignal): Promise<void> {
  const { config, parts, logger, registry } = options;
  const clock = options.clock ?? SYSTEM_CLOCK;
  const stop = new AbortController();
  const onAbort = () => stop.abort(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  let polled = false;
  let scheduler: Scheduler | undefined;
  const metrics = createLauncherMetrics(registry, () => scheduler?.inFlight() ?? 0, config.maxInFlight);
  const ops =
    options.port === undefined
      ? undefined
      : await startMetricsServer({
          port: options.port,
          registry,
          logger,
          readiness: [
            { name: "jobs-informer", ready: () => parts.jobs.ready() },
            { name: "pods-informer", ready: () => parts.watchers.ready() },
            { name: "first-poll", ready: () => polled },
          ],
        });
  parts.jobs.start();
  parts.watchers.start();
  try {
    await parts.jobs.synced(stop.signal);
    scheduler = new Scheduler({
      cluster: parts.jobs,
      creator: parts.creator,
      failer: parts.failer,
      rateLimiter: options.rateLimiter,
      config,
      logger,
      metrics,
      clock,
    });
    const active = scheduler;
    const unsubscribe = parts.jobs.onChange(() => active.clusterChanged());
    logger.info(
      {
        namespace: config.namespace,
        maxInFlight: config.maxInFlight,
        tags: [...controllerTags(config)].map(([k, v]) => `${k}=${v}`),
      },
      "launcher started: polling Buildkite for scheduled jobs",
    );
    options.onStarted?.({ port: ops?.port });
    const scheduling = active.run(stop.signal);
    try {
      await runMonitor(
        {
          source: parts.source,
          offer: (jobs) => active.offer(jobs),
          tags: controllerTags(config),
          intervalMs: Math.max(MIN_POLL_INTERVAL_MS, config.pollInterval / NANOSECONDS_PER_MS),
          isFatal: options.isFatal,
          ...(parts.source.scheduledAt
            ? { scheduledAt: (uuid: string) => parts.source.scheduledAt?.(uuid) }
            : {}),
          logger,
          metrics,
          clock,
          onPolled: () => {
            polled = true;
          },
        },
        stop.signal,
      );
      // The monitor returns once stopped (a fatal error throws): the workers are ending.
      if (parts.source.reservedJobs) {
        await scheduling;
        await createReserved(parts.source, active, { config, logger, clock });
      }
    } finally {
      stop.abort(signal.reason ?? new Error("the launcher stopped"));
      await scheduling;
      unsubscribe();
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  } finally {
    signal.removeEventListener("abort", onAbort);
    await parts.watchers.stop();
    await parts.jobs.stop();
    await ops?.close();
    logger.info("launcher stopped");
  }
}

/**
 * A stopping launcher creates the Jobs of the jobs its source reserved for it, within
 * `DRAIN_ON_STOP_MS`, and says what is left (those wait for their reservation to expire).
 */
async function createReserved(
  source: LauncherParts["source"],
  scheduler: Scheduler,
  context: { config: Config; logger: Logger; clock: SchedulerClock },
): Promise<void> {
  const { config, logger, clock } = context;
  const signal = AbortSignal.timeout(DRAIN_ON_STOP_MS);
  try {
    const reserved = (await source.reservedJobs?.(signal)) ?? [];
    const scheduledAt = source.scheduledAt?.bind(source);
    const from = { tags: controllerTags(config), ...(scheduledAt ? { scheduledAt } : {}) };
    scheduler.offer(takeable(reserved, from, clock.now()));
  } catch (error) {
    logger.warn(
      { err: (error as Error).message },
      "stopping: the reserved jobs' details could not all be fetched; creating those already known",
    );
  }
  const left = await scheduler.drain(signal);
  if (left.length === 0) return;
  logger.warn(
    { jobs: left.length, jobUuids: left.slice(0, 20) },
    "stopping with reserved jobs whose Jobs could not be created now; Buildkite gives them to a launcher again when their reservation expires (reservation-expiry-seconds)",
  );
}
