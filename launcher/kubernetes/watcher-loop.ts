/**
 * The running part the job and pod watchers share: follow an informer (its cached objects first, as
 * "add" events), sweep on a timer for what time alone decides (grace periods, timeouts), and on stop
 * unsubscribe, stop the timer and wait for the tasks under way.
 */
import type { Informer, InformerListener } from "../../runtime/informer.ts";

export interface WatcherLoopOptions<S> {
  readonly source: Pick<Informer<S>, "subscribe" | "list">;
  readonly onEvent: InformerListener<S>;
  readonly sweep: () => void;
  /** 1 s by default; 0 turns the timer off (tests call `sweep` themselves). */
  readonly sweepIntervalMs: number | undefined;
  readonly tasks: { stop(): Promise<void> };
}

export interface WatcherLoop {
  /** Idempotent. */
  start(): void;
  stop(): Promise<void>;
}

export function watcherLoop<S>(options: WatcherLoopOptions<S>): WatcherLoop {
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  return {
    start() {
      if (unsubscribe !== undefined) return;
      unsubscribe = options.source.subscribe(options.onEvent);
      for (const object of options.source.list()) options.onEvent({ type: "add", object });
      const interval = options.sweepIntervalMs ?? 1_000;
      if (interval > 0) {
        timer = setInterval(options.sweep, interval);
        timer.unref();
      }
    },
    async stop() {
      unsubscribe?.();
      if (timer !== undefined) clearInterval(timer);
      await options.tasks.stop();
    },
  };
}
