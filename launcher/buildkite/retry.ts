/**
 * Bounded retries as the Buildkite agent library makes them (its `roko` retrier): try, and on an error
 * either stop (the attempt said so, the attempts are used up, the deadline passed) or sleep the
 * strategy's interval and try again. The interval is computed from the number of attempts made before
 * the failed one (0 for the first), so an exponential strategy waits 1, 2, 4… seconds. A server's
 * `Retry-After` replaces the next interval once. Clock, sleep and randomness are injectable, so tests
 * run a whole retry budget at once.
 */
import { exponentialDelay } from "../../runtime/backoff.ts";
import { sleep } from "../../runtime/sleep.ts";

export interface RetryClock {
  /** Milliseconds since the epoch: deadlines, and the timestamps sent to Buildkite. */
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason when it aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** In [0, 1). */
  random(): number;
}

export const SYSTEM_RETRY_CLOCK: RetryClock = {
  now: () => Date.now(),
  // Rejects with the signal's own reason, which callers pass on.
  sleep: (ms, signal) =>
    sleep(ms, signal).catch(() => {
      throw signal.reason;
    }),
  random: Math.random,
};

/** Milliseconds to wait after the failure of attempt `attempt` (0-based). */
export type Backoff = (attempt: number, random: () => number) => number;

export function constantBackoff(ms: number): Backoff {
  return () => ms;
}

/** roko `Exponential(2s, 0)`: 2^attempt seconds. */
export function exponentialBackoff(): Backoff {
  return (attempt) => exponentialDelay(1000, Number.POSITIVE_INFINITY, attempt + 1);
}

/** roko `ExponentialSubsecond(initial)`: initial^(attempt/16 + 1) milliseconds, truncated. */
export function exponentialSubsecondBackoff(initialMs: number): Backoff {
  return (attempt) => Math.trunc(initialMs ** (attempt / 16 + 1));
}

/** Adds a random jitter in [minMs, maxMs) to a strategy. */
export function withJitter(backoff: Backoff, minMs: number, maxMs: number): Backoff {
  return (attempt, random) => backoff(attempt, random) + minMs + random() * (maxMs - minMs);
}

export interface RetryPolicy {
  readonly attempts: number;
  readonly backoff: Backoff;
  /** The whole call's budget from its first attempt, in ms; no deadline when absent. */
  readonly deadlineMs?: number;
}

/** What an attempt may tell the retrier about its error. */
export interface Attempt {
  /** 0-based. */
  readonly index: number;
  /** When the call's budget ends (ms since the epoch), if it has one. */
  readonly deadline: number | undefined;
  /** Do not retry this error. */
  stop(): void;
  /** Wait this long before the next attempt instead of the strategy's interval (`Retry-After`). */
  retryAfter(ms: number): void;
}

/**
 * Runs `attempt` until it resolves; rethrows its last error once the policy gives up. An abort of
 * `signal` ends the retries at once with the signal's reason. When the deadline passes during a sleep,
 * the last error is thrown: it says more than "deadline exceeded".
 */
export async function retry<T>(
  policy: RetryPolicy,
  clock: RetryClock,
  signal: AbortSignal,
  attempt: (control: Attempt) => Promise<T>,
): Promise<T> {
  const deadline = policy.deadlineMs === undefined ? undefined : clock.now() + policy.deadlineMs;
  for (let index = 0; ; index++) {
    let stopped = false;
    let manualInterval: number | undefined;
    const control: Attempt = {
      index,
      deadline,
      stop: () => {
        stopped = true;
      },
      retryAfter: (ms) => {
        manualInterval = ms;
      },
    };
    try {
      return await attempt(control);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      const interval = Math.max(0, manualInterval ?? policy.backoff(index, clock.random));
      if (stopped || index + 1 >= policy.attempts) throw error;
      if (deadline !== undefined && clock.now() + interval >= deadline) throw error;
      await clock.sleep(interval, signal);
    }
  }
}
