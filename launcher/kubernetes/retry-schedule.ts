/**
 * When a watcher may try a job again after a failure of ours (Buildkite or the API server did not
 * answer): back-off from 1 s doubling to 5 minutes, and at most `maxAttempts` tries, after which the job
 * is given up on with an error log. Every retry has a bound.
 */
import { exponentialDelay } from "../../runtime/backoff.ts";

export interface RetrySchedule {
  /** No failure recorded, or its back-off has passed. */
  due(key: string, now: number): boolean;
  /** Records a failure; `gaveUp` when the attempts are spent (the key is then forgotten). */
  failed(key: string, now: number): { attempts: number; retryInMs: number; gaveUp: boolean };
  forget(key: string): void;
}

export interface RetryScheduleOptions {
  readonly initialMs?: number;
  readonly maxMs?: number;
  readonly maxAttempts?: number;
}

export function createRetrySchedule(options: RetryScheduleOptions = {}): RetrySchedule {
  const initialMs = options.initialMs ?? 1_000;
  const maxMs = options.maxMs ?? 5 * 60_000;
  const maxAttempts = options.maxAttempts ?? 10;
  const entries = new Map<string, { attempts: number; notBefore: number }>();
  return {
    due(key, now) {
      const entry = entries.get(key);
      return entry === undefined || entry.notBefore <= now;
    },
    failed(key, now) {
      const attempts = (entries.get(key)?.attempts ?? 0) + 1;
      if (attempts >= maxAttempts) {
        entries.delete(key);
        return { attempts, retryInMs: 0, gaveUp: true };
      }
      const retryInMs = exponentialDelay(initialMs, maxMs, attempts);
      entries.set(key, { attempts, notBefore: now + retryInMs });
      return { attempts, retryInMs, gaveUp: false };
    },
    forget(key) {
      entries.delete(key);
    },
  };
}
