/**
 * A token bucket for calls to the Kubernetes API: `qps` tokens a second, up to `burst` at once, as
 * client-go's rate limiter (the `k8s-client-rate-limiter-qps` / `-burst` keys). Waiters are served in
 * arrival order; an aborted waiter leaves the queue.
 */
export interface RateLimiter {
  /** Resolves when a token is taken; rejects with the signal's reason if aborted first. */
  take(signal?: AbortSignal): Promise<void>;
}

export interface RateLimiterOptions {
  readonly qps: number;
  readonly burst: number;
  /** Milliseconds; tests pass a fake clock. */
  readonly now?: () => number;
  readonly setTimer?: (callback: () => void, ms: number) => { cancel(): void };
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (reason: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const now = options.now ?? (() => performance.now());
  const setTimer =
    options.setTimer ??
    ((callback: () => void, ms: number) => {
      const timer = setTimeout(callback, ms);
      return { cancel: () => clearTimeout(timer) };
    });
  // qps ≤ 0 means no limit, as in client-go.
  if (options.qps <= 0)
    return { take: (signal) => (signal?.aborted ? Promise.reject(signal.reason) : Promise.resolve()) };
  const burst = Math.max(1, options.burst);
  const msPerToken = 1000 / options.qps;
  let tokens = burst;
  let updatedAt = now();
  const waiters: Waiter[] = [];
  let timer: { cancel(): void } | undefined;

  const refill = (): void => {
    const current = now();
    tokens = Math.min(burst, tokens + (current - updatedAt) / msPerToken);
    updatedAt = current;
  };

  const serve = (): void => {
    timer = undefined;
    refill();
    while (waiters.length > 0 && tokens >= 1) {
      tokens -= 1;
      const waiter = waiters.shift()!;
      waiter.signal?.removeEventListener("abort", waiter.onAbort);
      waiter.resolve();
    }
    if (waiters.length > 0) timer = setTimer(serve, Math.ceil((1 - tokens) * msPerToken));
  };

  return {
    take(signal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      return new Promise<void>((resolve, reject) => {
        const waiter: Waiter = {
          resolve,
          reject,
          signal,
          onAbort: () => {
            const index = waiters.indexOf(waiter);
            if (index >= 0) waiters.splice(index, 1);
            reject(signal?.reason);
          },
        };
        signal?.addEventListener("abort", waiter.onAbort, { once: true });
        waiters.push(waiter);
        if (!timer) serve();
      });
    },
  };
}
