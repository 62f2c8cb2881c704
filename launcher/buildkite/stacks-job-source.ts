/**
 * Scheduled jobs from Buildkite's Stacks API, as upstream HEAD takes them (controller-runtime.md §8):
 *
 *   list (`scheduled-jobs`, up to `pagination-depth-limit` pages of `pagination-page-size`)
 *     → rules normalised, tag filter → reserve (`batch-reserve`; only `reserved` jobs go on)
 *     → details (`GET jobs/{uuid}`: env and command) → the jobs, shaped as the GraphQL source shapes them
 *
 * A reserved job no longer appears in the list, but the scheduler's queue is replaced by every poll, so
 * the source holds the jobs it reserved and returns them on every poll until they are no longer
 * reserved for it: each poll asks for the states of the jobs held from earlier polls (`get-states`) and
 * lets go of those an agent took, that ended, or whose reservation expired; a Job in the cluster
 * (`clusterHas`) or the end of the reservation's time lets go too.
 *
 * Where this differs from upstream HEAD, for the user's sake:
 * - with `reserveLimit`, only as many jobs are reserved as the launcher can start (upstream reserves
 *   every job it may take, so one of several launchers would hold jobs the others could run);
 * - the `after` cursor carries over between polls and is reset after `query-reset-interval` or when a
 *   page left jobs behind for want of room (upstream resets it on every poll, quirk H1), so a queue
 *   full of jobs for other stacks is walked through instead of re-read from its first page;
 * - `enable-queue-pause` is honoured: nothing is reserved while the cluster queue is paused.
 */
import { distinctErrorLog } from "../../runtime/distinct-error-log.ts";
import type { Logger } from "../../runtime/logger.ts";
import { type BuildkiteJob, isJobUuid, parseBuildkiteJob } from "../../src/buildkite/job.ts";
import type { Config } from "../../src/config/types.ts";
import { AgentStackError, isAgentStackError } from "../../src/errors.ts";
import { controllerTags, matchesTags } from "../tag-filter.ts";
import { JOB_STATES, type JobSource, type JobState } from "../types.ts";
import {
  exponentialSubsecondBackoff,
  type RetryClock,
  type RetryPolicy,
  retry,
  SYSTEM_RETRY_CLOCK,
  withJitter,
} from "./retry.ts";
import { normaliseJobRules } from "./stack-rules.ts";
import type { StackSession } from "./stack-session.ts";
import {
  isStacksApiError,
  STACKS_BATCH_SIZE,
  type StackScheduledJob,
  type StacksApiClient,
} from "./stacks-api.ts";

/** Upstream's budget for a job's details: 5 attempts, ExponentialSubsecond(1 s), jitter ±1 s. */
export const JOB_DETAILS_RETRY: RetryPolicy = {
  attempts: 5,
  backoff: withJitter(exponentialSubsecondBackoff(1_000), -1_000, 1_000),
};
/** The server's reservation time when `reservation-expiry-seconds` is 0. */
const SERVER_RESERVATION_EXPIRY_SECONDS = 900;
/** A held job is let go this long before its reservation ends, so it is not created on a lapsed one. */
const HOLD_MARGIN_MS = 5_000;
/** How often, at most, the jobs ready so far are handed on while details are fetched… */
const EARLY_INTERVAL_MS = 100;
/** …and, for a long list, this long per job whose details are due (10,000 jobs: every second). */
const EARLY_INTERVAL_MS_PER_JOB = 0.1;
/** `get-states` requests in flight at once. */
const STATES_CONCURRENCY = 4;
const NANOSECONDS_PER_MS = 1_000_000;
const KNOWN_STATES: ReadonlySet<string> = new Set(JOB_STATES);

export type StacksJobSourceConfig = Pick<
  Config,
  | "tags"
  | "queue"
  | "paginationPageSize"
  | "paginationDepthLimit"
  | "queryResetInterval"
  | "reservationExpirySeconds"
  | "enableQueuePause"
  | "jobCreationConcurrency"
  | "workQueueLimit"
>;

export interface StacksJobSourceOptions {
  readonly client: Pick<StacksApiClient, "listScheduledJobs" | "batchReserve" | "getJob" | "getJobStates">;
  readonly session: StackSession;
  readonly config: StacksJobSourceConfig;
  readonly logger: Logger;
  readonly clock?: RetryClock;
  /**
   * How many more Jobs the launcher could start now (`max-in-flight` minus what is in flight);
   * the jobs held already count against it. Absent: no limit, as upstream.
   */
  readonly reserveLimit?: () => number;
  /** The cluster has a Job for this Buildkite job (`ClusterJobs.has`): its reservation has done its work. */
  readonly clusterHas?: (uuid: string) => boolean;
  /** Details fetched at once; default `job-creation-concurrency`. */
  readonly detailsConcurrency?: number;
}

interface Held {
  readonly listed: StackScheduledJob;
  /** The job's rules, normalised. */
  readonly rules: readonly string[];
  /** When Buildkite scheduled it (ms since the epoch), if it said. */
  readonly scheduledAt: number | undefined;
  /** Clock ms after which the job is let go. */
  readonly until: number;
  /** The poll that reserved it. */
  readonly poll: number;
  job?: BuildkiteJob;
}

interface Listing {
  readonly jobs: StackScheduledJob[];
  readonly paused: boolean;
  readonly hasNextPage: boolean;
  readonly endCursor: string | undefined;
}

export class StacksJobSource implements JobSource {
  readonly #options: StacksJobSourceOptions;
  readonly #clock: RetryClock;
  readonly #tags: ReadonlyMap<string, string>;
  readonly #held = new Map<string, Held>();
  readonly #reserveErrors: ReturnType<typeof distinctErrorLog>;
  readonly #reportedStates = new Set<string>();
  #poll = 0;
  #cursor: { after: string; since: number } | undefined;
  /** Clock ms before which the list is not asked again (`Retry-After`). */
  #notBefore = 0;

  constructor(options: StacksJobSourceOptions) {
    this.#options = options;
    this.#clock = options.clock ?? SYSTEM_RETRY_CLOCK;
    this.#tags = controllerTags(options.config);
    this.#reserveErrors = distinctErrorLog(options.logger, "reserving scheduled jobs");
  }

  /**
   * One poll: the jobs reserved for this launcher, with their details, highest priority first. While
   * details are fetched, `early` gets the jobs ready so far (every 100 ms at most, less often for a long
   * list), so Jobs are created while the last details are still on their way.
   */
  async scheduledJobs(signal: AbortSignal, early?: (jobs: BuildkiteJob[]) => void): Promise<BuildkiteJob[]> {
    this.#poll += 1;
    const wait = this.#notBefore - this.#clock.now();
    if (wait > 0) await this.#clock.sleep(wait, signal);
    this.#letGoOfDone();
    await this.#checkHeld(signal);
    const listing = await this.#list(signal);
    if (listing.paused && this.#options.config.enableQueuePause) {
      this.#options.logger.debug(
        { queue: this.#options.session.clusterQueueKey },
        "the cluster queue is paused: reserving nothing",
      );
    } else {
      const left = await this.#reserve(this.#candidates(listing.jobs), signal);
      this.#moveCursor(listing, left);
    }
    await this.#fetchDetails(signal, early);
    return this.#ready();
  }

  /** The jobs held for this launcher, with their details: what a stopping launcher creates. */
  async reservedJobs(signal: AbortSignal): Promise<BuildkiteJob[]> {
    this.#letGoOfDone();
    await this.#fetchDetails(signal);
    return this.#ready();
  }

  /** When Buildkite scheduled a job the source holds (ms since the epoch), if it said. */
  scheduledAt(uuid: string): number | undefined {
    return this.#held.get(uuid)?.scheduledAt;
  }

  /** The jobs held for this launcher (reserved, not yet seen in the cluster). */
  held(): readonly string[] {
    return [...this.#held.keys()];
  }

  async jobState(uuid: string, signal: AbortSignal): Promise<JobState | undefined> {
    const states = await this.jobStates([uuid], signal);
    if (!states.has(uuid)) {
      throw new AgentStackError(
        "ASK_BUILDKITE_STACKS_RESPONSE",
        `get job states: job ${uuid} has a state the launcher does not know`,
      );
    }
    return states.get(uuid);
  }

  /**
   * The states of many jobs, 1000 per `get-states` request, a few requests at once. A uuid Buildkite does
   * not know maps to undefined; one whose state this launcher does not know is left out (no answer).
   */
  async jobStates(
    uuids: readonly string[],
    signal: AbortSignal,
  ): Promise<ReadonlyMap<string, JobState | undefined>> {
    const batches: string[][] = [];
    for (let start = 0; start < uuids.length; start += STACKS_BATCH_SIZE) {
      batches.push(uuids.slice(start, start + STACKS_BATCH_SIZE));
    }
    const result = new Map<string, JobState | undefined>();
    let next = 0;
    const worker = async () => {
      while (next < batches.length) {
        const batch = batches[next++] as string[];
        const states = await this.#options.client.getJobStates(this.#options.session.key, batch, signal);
        for (const uuid of batch) {
          const state = states.get(uuid);
          if (state === undefined) result.set(uuid, undefined);
          else if (KNOWN_STATES.has(state.toUpperCase())) result.set(uuid, state.toUpperCase() as JobState);
          else this.#reportUnknownState(uuid, state);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(STATES_CONCURRENCY, batches.length) }, worker));
    return result;
  }

  #letGoOfDone(): void {
    const now = this.#clock.now();
    for (const [uuid, held] of this.#held) {
      if (now >= held.until || this.#options.clusterHas?.(uuid)) this.#held.delete(uuid);
    }
  }

  /** Lets go of the jobs held from earlier polls that are no longer reserved. */
  async #checkHeld(signal: AbortSignal): Promise<void> {
    const earlier = [...this.#held.values()]
      .filter((held) => held.poll < this.#poll)
      .map((held) => held.listed.id);
    if (earlier.length === 0) return;
    let states: ReadonlyMap<string, JobState | undefined>;
    try {
      states = await this.jobStates(earlier, signal);
    } catch (error) {
      if (signal.aborted) throw error;
      this.#options.logger.debug(
        { err: (error as Error).message, held: earlier.length },
        "checking the held jobs' states failed: holding them until the next poll",
      );
      return;
    }
    for (const uuid of earlier) {
      if (!states.has(uuid)) continue;
      const state = states.get(uuid);
      if (state === "RESERVED") continue;
      this.#options.logger.debug(
        { jobUuid: uuid, state },
        "the job is no longer reserved for this stack: letting go of it",
      );
      this.#held.delete(uuid);
    }
  }

  async #list(signal: AbortSignal): Promise<Listing> {
    const { client, session, config } = this.#options;
    const resetMs = config.queryResetInterval / NANOSECONDS_PER_MS;
    if (this.#cursor !== undefined && this.#clock.now() - this.#cursor.since >= resetMs)
      this.#cursor = undefined;
    let after = this.#cursor?.after;
    const jobs = new Map<string, StackScheduledJob>();
    let paused = false;
    let hasNextPage = false;
    let endCursor: string | undefined;
    for (let page = 1; page <= Math.max(1, config.paginationDepthLimit); page++) {
      let answer: Awaited<ReturnType<typeof client.listScheduledJobs>>;
      try {
        answer = await client.listScheduledJobs(
          session.key,
          {
            queueKey: session.clusterQueueKey,
            limit: config.paginationPageSize,
            ...(after === undefined ? {} : { after }),
          },
          signal,
        );
      } catch (error) {
        if (isStacksApiError(error) && error.retryAfterMs !== undefined)
          this.#delayNextPoll(error.retryAfterMs);
        // A cursor Buildkite no longer accepts is dropped, so the next poll starts over.
        if (isStacksApiError(error) && error.permanent && after !== undefined) this.#cursor = undefined;
        throw error;
      }
      if (answer.retryAfterMs !== undefined) this.#delayNextPoll(answer.retryAfterMs);
      for (const job of answer.jobs) if (!jobs.has(job.id)) jobs.set(job.id, job);
      paused = answer.clusterQueue.paused;
      hasNextPage = answer.hasNextPage;
      endCursor = answer.endCursor;
      if (!hasNextPage || endCursor === undefined) break;
      after = endCursor;
    }
    return { jobs: [...jobs.values()], paused, hasNextPage, endCursor };
  }

  #delayNextPoll(ms: number): void {
    this.#notBefore = Math.max(this.#notBefore, this.#clock.now() + ms);
  }

  /** The listed jobs this launcher may take and does not hold yet, in the list's order. */
  #candidates(jobs: readonly StackScheduledJob[]): Held[] {
    const { logger, session } = this.#options;
    const candidates: Held[] = [];
    for (const listed of jobs) {
      if (this.#held.has(listed.id)) continue;
      if (!isJobUuid(listed.id)) {
        logger.warn({ jobUuid: listed.id }, "skipping a scheduled job whose id is not a job uuid");
        continue;
      }
      const rules = normaliseJobRules(listed.agentQueryRules, session.queueKey);
      if (!matchesTags(rules, this.#tags)) {
        logger.debug(
          { jobUuid: listed.id, rules },
          "skipping job: its rules are not all tags of this launcher",
        );
        continue;
      }
      const scheduledAt = Date.parse(listed.scheduledAt ?? "");
      candidates.push({
        listed,
        rules,
        scheduledAt: Number.isFinite(scheduledAt) ? scheduledAt : undefined,
        until: 0,
        poll: this.#poll,
      });
    }
    return candidates;
  }

  /** Reserves as many candidates as there is room for; returns how many were left for want of room. */
  async #reserve(candidates: readonly Held[], signal: AbortSignal): Promise<number> {
    const { client, session, config, logger } = this.#options;
    // `work-queue-limit` bounds what waits here; `reserveLimit`, what the launcher could start now.
    const limit = Math.min(config.workQueueLimit, this.#options.reserveLimit?.() ?? Number.POSITIVE_INFINITY);
    const room = Math.max(0, Math.floor(limit) - this.#held.size);
    const chosen = candidates.slice(0, room);
    const expirySeconds =
      config.reservationExpirySeconds > 0
        ? config.reservationExpirySeconds
        : SERVER_RESERVATION_EXPIRY_SECONDS;
    for (let start = 0; start < chosen.length; start += STACKS_BATCH_SIZE) {
      const batch = chosen.slice(start, start + STACKS_BATCH_SIZE);
      const reservedAt = this.#clock.now();
      let answer: Awaited<ReturnType<typeof client.batchReserve>>;
      try {
        answer = await client.batchReserve(
          session.key,
          batch.map((held) => held.listed.id),
          config.reservationExpirySeconds,
          signal,
        );
      } catch (error) {
        if (signal.aborted) throw error;
        // Upstream drops the batch; its jobs stay scheduled and come back with the next poll.
        this.#reserveErrors.failed(error, { jobs: chosen.length - start });
        return candidates.length - start;
      }
      this.#reserveErrors.recovered();
      const reserved = new Set(answer.reserved);
      for (const held of batch) {
        if (!reserved.has(held.listed.id)) continue;
        this.#held.set(held.listed.id, {
          ...held,
          until: reservedAt + expirySeconds * 1000 - HOLD_MARGIN_MS,
        });
      }
      if (answer.notReserved.length > 0) {
        logger.debug(
          { jobs: answer.notReserved },
          "Buildkite did not reserve these jobs (another stack has them, or they moved on)",
        );
      }
    }
    return candidates.length - chosen.length;
  }

  /** The cursor moves on only when nothing this launcher could take was left behind on the pages read. */
  #moveCursor(listing: Listing, left: number): void {
    if (left > 0 || !listing.hasNextPage || listing.endCursor === undefined) {
      this.#cursor = undefined;
      return;
    }
    this.#cursor = { after: listing.endCursor, since: this.#cursor?.since ?? this.#clock.now() };
  }

  async #fetchDetails(signal: AbortSignal, early?: (jobs: BuildkiteJob[]) => void): Promise<void> {
    const pending = [...this.#held.values()].filter((held) => held.job === undefined);
    const concurrency = Math.max(
      1,
      this.#options.detailsConcurrency ?? this.#options.config.jobCreationConcurrency,
    );
    let next = 0;
    let reported = Number.NEGATIVE_INFINITY;
    // Handing on costs a sort of everything ready: less often the more there is.
    const intervalMs = Math.max(EARLY_INTERVAL_MS, pending.length * EARLY_INTERVAL_MS_PER_JOB);
    const report = () => {
      const now = this.#clock.now();
      if (early === undefined || next >= pending.length || now - reported < intervalMs) return;
      reported = now;
      early(this.#ready());
    };
    const worker = async () => {
      while (next < pending.length && !signal.aborted) {
        await this.#fetchOne(pending[next++] as Held, signal);
        report();
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, pending.length) }, worker));
    if (signal.aborted) throw signal.reason;
  }

  async #fetchOne(held: Held, signal: AbortSignal): Promise<void> {
    const { client, session, logger } = this.#options;
    const uuid = held.listed.id;
    try {
      const details = await retry(JOB_DETAILS_RETRY, this.#clock, signal, async (attempt) => {
        try {
          return await client.getJob(session.key, uuid, signal);
        } catch (error) {
          if (!isStacksApiError(error) || !error.retryable) attempt.stop();
          else if (error.retryAfterMs !== undefined) attempt.retryAfter(error.retryAfterMs);
          throw error;
        }
      });
      held.job = parseBuildkiteJob(
        {
          uuid,
          command: details.command,
          env: Object.entries(details.env).map(([name, value]) => `${name}=${value}`),
          agentQueryRules: held.rules,
          priority: { number: held.listed.priority },
        },
        `Buildkite job ${uuid}`,
      );
    } catch (error) {
      if (signal.aborted) return;
      if (!isUnusable(error)) {
        logger.warn(
          { jobUuid: uuid, err: (error as Error).message },
          "fetching the job's details failed: trying again at the next poll",
        );
        return;
      }
      logger.warn(
        { jobUuid: uuid, err: (error as Error).message },
        "cannot use the reserved job's details: letting go of it (its reservation lapses)",
      );
      this.#held.delete(uuid);
    }
  }

  #ready(): BuildkiteJob[] {
    const ready = [...this.#held.values()].filter(
      (held): held is Held & { job: BuildkiteJob } => held.job !== undefined,
    );
    // Higher priority first; among equals, the longest waiting (the order the scheduler keeps).
    ready.sort(
      (a, b) => b.listed.priority - a.listed.priority || (a.scheduledAt ?? 0) - (b.scheduledAt ?? 0),
    );
    return ready.map((held) => held.job);
  }

  #reportUnknownState(uuid: string, state: string): void {
    if (this.#reportedStates.has(state)) return;
    this.#reportedStates.add(state);
    this.#options.logger.warn(
      { jobUuid: uuid, state },
      "Buildkite answered with a job state this launcher does not know",
    );
  }
}

/** Asking again cannot help: Buildkite refused for good (no such job), or what it sent cannot be a job. */
function isUnusable(error: unknown): boolean {
  return (
    (isStacksApiError(error) && error.permanent) ||
    isAgentStackError(error, "ASK_JOB_INVALID") ||
    isAgentStackError(error, "ASK_BUILDKITE_STACKS_RESPONSE")
  );
}

/** For the monitor's `isFatal`: a permanent refusal of the list (bad token, unknown stack) stops the launcher. */
export function isFatalStacksError(error: unknown): boolean {
  return isStacksApiError(error) && error.call === "list scheduled jobs" && error.permanent;
}
