/**
 * The background work of a watcher, at most one task per key (a Buildkite job uuid) at a time: an
 * informer event that arrives while its job is being handled does not start a second, racing, attempt.
 * Tasks get one signal that `stop()` aborts; a task that throws is logged, never crashes the process.
 */
import type { Logger } from "../../runtime/logger.ts";

export interface KeyedTasks {
  /** Starts `task` for `key` unless one runs for it already; says whether it started. */
  run(key: string, task: (signal: AbortSignal) => Promise<void>): boolean;
  busy(key: string): boolean;
  /** Resolves once no task runs (including tasks started meanwhile). */
  settled(): Promise<void>;
  /** Aborts the tasks' signal and waits for them to end. */
  stop(): Promise<void>;
}

export function createKeyedTasks(logger: Logger, what: string): KeyedTasks {
  const running = new Map<string, Promise<void>>();
  const stopper = new AbortController();
  return {
    run(key, task) {
      if (running.has(key) || stopper.signal.aborted) return false;
      const promise = Promise.resolve()
        .then(() => task(stopper.signal))
        .catch((error: unknown) => {
          if (!stopper.signal.aborted)
            logger.error({ jobUuid: key, err: error }, `${what} failed unexpectedly`);
        })
        .finally(() => running.delete(key));
      running.set(key, promise);
      return true;
    },
    busy: (key) => running.has(key),
    async settled() {
      while (running.size > 0) await Promise.all([...running.values()]);
    },
    async stop() {
      stopper.abort();
      await Promise.all([...running.values()]);
    },
  };
}
