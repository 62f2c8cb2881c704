/**
 * Stack notifications (controller-runtime.md §8): short notes on a job's page ("K8s Job created
 * successfully, waiting for Agent to start...", an image that cannot be pulled for a job an agent already
 * has). Best effort, as upstream: buffered and sent every 100 ms, at most 1000 per request, never
 * retried; what Buildkite refuses is logged. Two differences, for the user's sake: the buffer holds
 * 10,000 notifications (upstream's 3,000,000 could take gigabytes), and `stop()` sends what is left
 * within 2 s instead of dropping it.
 */
import type { Logger } from "../../runtime/logger.ts";
import type { JobCreator, JobNotifier } from "../types.ts";
import { type RetryClock, SYSTEM_RETRY_CLOCK } from "./retry.ts";
import type { StackSession } from "./stack-session.ts";
import { STACKS_BATCH_SIZE, type StackNotification, type StacksApiClient } from "./stacks-api.ts";

/** Upstream's words after a Job is created. */
export const JOB_CREATED_NOTIFICATION = "K8s Job created successfully, waiting for Agent to start...";

/** A creator that notes on the job's page when its Job has been created (upstream's note). */
export function withCreatedNotes(creator: JobCreator, notifier: JobNotifier | undefined): JobCreator {
  if (notifier === undefined) return creator;
  return {
    async create(job, signal) {
      const outcome = await creator.create(job, signal);
      if (outcome.kind === "created") notifier.notify(job.uuid, JOB_CREATED_NOTIFICATION);
      return outcome;
    },
  };
}

/** Upstream's words for containers that cannot start, when an agent already has the job. */
export function imageFailureNotification(
  containers: ReadonlyArray<{ readonly name: string; readonly reason: string; readonly message: string }>,
): string {
  const each = containers.map((container) => `${container.name}: ${container.reason} (${container.message})`);
  return `Image pull failure; the job will fail once the agent times out. ${each.join("; ")}`;
}

const DEFAULT_INTERVAL_MS = 100;
const DEFAULT_MAX_BUFFERED = 10_000;
/** Upstream's cap on one flush. */
const MAX_PER_FLUSH = 100_000;
const FINAL_FLUSH_BUDGET_MS = 2_000;

export interface StackNotifierOptions {
  readonly client: Pick<StacksApiClient, "createNotifications">;
  readonly session: Pick<StackSession, "key">;
  readonly logger: Logger;
  readonly clock?: Pick<RetryClock, "now">;
  /** Between flushes; 0: only `flush()` and `stop()` send. */
  readonly intervalMs?: number;
  /** Notifications waiting at most; more are dropped (and counted in the log). */
  readonly maxBuffered?: number;
}

export class StackNotifier implements JobNotifier {
  readonly #options: StackNotifierOptions;
  readonly #clock: Pick<RetryClock, "now">;
  readonly #maxBuffered: number;
  #buffer: StackNotification[] = [];
  #dropped = 0;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #stopped = false;
  readonly #stopper = new AbortController();

  constructor(options: StackNotifierOptions) {
    this.#options = options;
    this.#clock = options.clock ?? SYSTEM_RETRY_CLOCK;
    this.#maxBuffered = Math.max(1, options.maxBuffered ?? DEFAULT_MAX_BUFFERED);
  }

  /** Queues a note for the job's page; never throws, never waits. */
  notify(jobUuid: string, detail: string): void {
    if (this.#stopped) return;
    if (this.#buffer.length >= this.#maxBuffered) {
      if (this.#dropped === 0) {
        this.#options.logger.warn(
          { buffered: this.#buffer.length },
          "too many stack notifications waiting: dropping new ones until Buildkite takes them",
        );
      }
      this.#dropped += 1;
      return;
    }
    this.#buffer.push({ jobUuid, detail, at: this.#clock.now() });
  }

  /** Pending notifications, for tests and the gauge. */
  pending(): number {
    return this.#buffer.length;
  }

  start(): void {
    const intervalMs = this.#options.intervalMs ?? DEFAULT_INTERVAL_MS;
    if (this.#timer !== undefined || intervalMs <= 0) return;
    this.#timer = setInterval(() => void this.flush(), intervalMs);
    this.#timer.unref();
  }

  /** Sends what is buffered (up to 100,000); a flush under way is joined, not repeated. */
  flush(): Promise<void> {
    this.#flushing ??= this.#send(this.#stopper.signal).finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  /** Stops the timer and sends what is left; takes 2 s at most, a flush under way included. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    const budget = setTimeout(() => this.#stopper.abort(), FINAL_FLUSH_BUDGET_MS);
    try {
      await this.#flushing;
      if (this.#buffer.length > 0) await this.#send(this.#stopper.signal);
    } finally {
      clearTimeout(budget);
      this.#stopper.abort();
    }
  }

  async #send(signal: AbortSignal): Promise<void> {
    const taken = this.#buffer.splice(0, MAX_PER_FLUSH);
    if (this.#dropped > 0) {
      this.#options.logger.warn(
        { dropped: this.#dropped },
        "stack notifications were dropped while the buffer was full",
      );
      this.#dropped = 0;
    }
    const { client, session, logger } = this.#options;
    for (let start = 0; start < taken.length && !signal.aborted; start += STACKS_BATCH_SIZE) {
      const batch = taken.slice(start, start + STACKS_BATCH_SIZE);
      try {
        const errors = await client.createNotifications(session.key, batch, signal);
        for (const { error, indexes } of errors) {
          logger.warn(
            {
              err: error,
              jobs: indexes.map((index) => batch[index]?.jobUuid).filter((uuid) => uuid !== undefined),
            },
            "Buildkite refused stack notifications",
          );
        }
      } catch (error) {
        logger.warn(
          { err: (error as Error).message, notifications: batch.length },
          "sending stack notifications failed; they are dropped (best effort)",
        );
      }
    }
  }
}
