import { expect, test } from "vitest";
import { createRateLimiter } from "../../runtime/rate-limiter.ts";

function fakeClock() {
  let time = 0;
  const timers: Array<{ at: number; callback: () => void; cancelled: boolean }> = [];
  return {
    now: () => time,
    setTimer: (callback: () => void, ms: number) => {
      const timer = { at: time + ms, callback, cancelled: false };
      timers.push(timer);
      return { cancel: () => (timer.cancelled = true) };
    },
    async advance(ms: number) {
      const until = time + ms;
      for (;;) {
        const next = timers.filter((t) => !t.cancelled && t.at <= until).sort((a, b) => a.at - b.at)[0];
        if (!next) break;
        time = next.at;
        next.cancelled = true;
        next.callback();
        await Promise.resolve();
      }
      time = until;
      await Promise.resolve();
    },
  };
}

test("a burst goes at once, then one token per 1/qps seconds", async () => {
  const clock = fakeClock();
  const limiter = createRateLimiter({ qps: 10, burst: 3, ...clock });
  const taken: number[] = [];
  for (let i = 0; i < 5; i++) void limiter.take().then(() => taken.push(clock.now()));
  await clock.advance(0);
  expect(taken).toEqual([0, 0, 0]);
  await clock.advance(100);
  expect(taken).toEqual([0, 0, 0, 100]);
  await clock.advance(100);
  expect(taken).toEqual([0, 0, 0, 100, 200]);
});

test("an aborted waiter leaves the queue and gets the abort reason", async () => {
  const clock = fakeClock();
  const limiter = createRateLimiter({ qps: 1, burst: 1, ...clock });
  await limiter.take();
  const controller = new AbortController();
  const waiting = limiter.take(controller.signal);
  controller.abort(new Error("shutting down"));
  await expect(waiting).rejects.toThrow("shutting down");
  const next = limiter.take();
  await clock.advance(1000);
  await expect(next).resolves.toBeUndefined();
});

test("qps 0 means no limit", async () => {
  const limiter = createRateLimiter({ qps: 0, burst: 0 });
  await Promise.all(Array.from({ length: 100 }, () => limiter.take()));
});
