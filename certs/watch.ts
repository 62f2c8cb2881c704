/**
 * `certs --watch`: run a pass, sleep until the renewal time (or the next periodic check, whichever
 * comes first), run again, until stopped. A pass that fails for a reason that may go away (the API
 * server unreachable or overloaded, the webhook configuration not created yet, replicas racing) is
 * retried with back-off and logged once per distinct error; any other failure ends the watch.
 *
 * A nudge (the webhook configuration changed: `helm upgrade --force` or a GitOps tool replaced it and
 * wiped its caBundle) runs a pass at once, though never sooner than a second after the previous one.
 */

import { type RetryPolicy, retryDelayMs } from "../runtime/backoff.ts";
import { isKubeApiError } from "../runtime/kube-api-error.ts";
import type { Logger } from "../runtime/logger.ts";
import { sleep } from "../runtime/sleep.ts";
import { isAgentStackError } from "../src/errors.ts";
import type { Provisioned } from "./provision.ts";

/** setTimeout's largest delay; longer waits are taken in steps. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/** However short the lifetimes, passes are at least this far apart, so the API server is never hammered. */
const MIN_PASS_INTERVAL_MS = 1_000;

export interface WatchOptions {
  readonly signal: AbortSignal;
  /** Longest time between two passes, also when nothing is due (another replica may have renewed). */
  readonly checkIntervalMs: number;
  /** Back-off between failed passes; its `attempts` is not used: the watch never gives up on these. */
  readonly retry: RetryPolicy;
  readonly now: () => Date;
  readonly logger: Logger;
  /** Subscribes to nudges (returns the unsubscribe function): each one runs a pass soon. */
  readonly nudges?: (nudge: () => void) => () => void;
  /** After each pass, whether it succeeded (for readiness and metrics). */
  readonly onPass?: (ok: boolean) => void;
}

/** Resolves when `signal` aborts; rejects with the first failure that is not worth retrying. */
export async function watchCertificates(
  pass: () => Promise<Provisioned>,
  options: WatchOptions,
): Promise<void> {
  const { logger, signal } = options;
  let failures = 0;
  let lastError: string | undefined;
  let nudged = false;
  let wake: (() => void) | undefined;
  const unsubscribe = options.nudges?.(() => {
    nudged = true;
    wake?.();
  });
  try {
    while (!signal.aborted) {
      const startedAt = options.now().getTime();
      const wakeAt = await runPass();
      // A nudge cuts the sleep short, but passes stay at least a second apart.
      const sleeper = new AbortController();
      wake = () => sleeper.abort();
      if (!nudged)
        await sleepUntil(wakeAt, options.now, AbortSignal.any([signal, sleeper.signal])).catch(() => {});
      wake = undefined;
      if (nudged) {
        nudged = false;
        logger.info("the webhook configuration changed: checking its caBundle now");
        await sleepUntil(Math.min(wakeAt, startedAt + MIN_PASS_INTERVAL_MS), options.now, signal).catch(
          () => {},
        );
      }
    }
  } finally {
    unsubscribe?.();
  }

  /** One pass; when the next one is due. Throws a failure that is not worth retrying. */
  async function runPass(): Promise<number> {
    try {
      const result = await pass();
      options.onPass?.(true);
      if (lastError !== undefined) logger.info("certificates in order again");
      failures = 0;
      lastError = undefined;
      const now = options.now().getTime();
      const wakeAt = Math.max(
        now + MIN_PASS_INTERVAL_MS,
        Math.min(result.renewAt.getTime(), now + options.checkIntervalMs),
      );
      logger.debug({ next: new Date(wakeAt).toISOString() }, "next certificate check");
      return wakeAt;
    } catch (error) {
      if (signal.aborted) return options.now().getTime();
      options.onPass?.(false);
      if (!isRetryable(error)) throw error;
      failures += 1;
      const message = (error as Error).message;
      const delayMs = retryDelayMs(options.retry, failures);
      if (message !== lastError) {
        logger.warn({ error: message, retryInMs: delayMs }, "certificate check failed; retrying");
      } else {
        logger.debug({ error: message, retryInMs: delayMs }, "certificate check failed again");
      }
      lastError = message;
      return options.now().getTime() + delayMs;
    }
  }
}

/** Sleeps until `time` by the `now` clock, in steps no longer than a timer can take. */
export async function sleepUntil(time: number, now: () => Date, signal: AbortSignal): Promise<void> {
  for (let remaining = time - now().getTime(); remaining > 0 && !signal.aborted; ) {
    await sleep(Math.min(remaining, MAX_TIMER_MS), signal);
    remaining = time - now().getTime();
  }
}

function isRetryable(error: unknown): boolean {
  if (isAgentStackError(error, "ASK_CERTS_WEBHOOK_CONFIGURATION_NOT_FOUND")) return true;
  if (!isAgentStackError(error, "ASK_CERTS_KUBERNETES_API")) return false;
  // Without a Kubernetes error as the cause, it is replicas racing, which settles.
  return !isKubeApiError(error.cause) || error.cause.transient;
}
