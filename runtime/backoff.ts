/**
 * The back-off of every retry loop: the wait after the n-th failure in a row starts at `initialMs` and
 * doubles with each failure, never above `maxMs`. Callers add their own jitter (so that replicas do not
 * retry in step) and their own bound on attempts.
 */

/** The wait after `failures` failures in a row (1 for the first). */
export function exponentialDelay(initialMs: number, maxMs: number, failures: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.max(0, failures - 1));
}

/** `delayMs` spread evenly over ± `fraction` of itself. */
export function spread(delayMs: number, fraction: number, random: () => number = Math.random): number {
  return delayMs * (1 - fraction + 2 * fraction * random());
}

export interface RetryPolicy {
  /** Attempts in all, the first included; at least 1. */
  readonly attempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

/**
 * The wait before attempt `attempt + 1` of a call retried within `retry`: the back-off, half of it
 * random, never above `maxDelayMs`; a server's `Retry-After` is honoured up to that bound.
 */
export function retryDelayMs(
  retry: RetryPolicy,
  attempt: number,
  retryAfter?: number,
  random = Math.random,
): number {
  const exponential = exponentialDelay(retry.initialDelayMs, retry.maxDelayMs, attempt);
  const jittered = exponential / 2 + (exponential / 2) * random();
  return Math.round(Math.min(retry.maxDelayMs, Math.max(jittered, retryAfter ?? 0)));
}
