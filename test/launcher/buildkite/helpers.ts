/** Shared by the Buildkite adapter tests: a captured logger and a clock whose sleeps take no time. */
import { PassThrough } from "node:stream";
import type { RetryClock } from "../../../launcher/buildkite/retry.ts";
import { createLogger, type Logger } from "../../../runtime/logger.ts";

export interface CapturedLogger {
  readonly logger: Logger;
  /** Every line so far, raw JSON. */
  text(): string;
  /** Every record so far. */
  records(): Array<Record<string, unknown>>;
}

export function captureLogger(): CapturedLogger {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => {
    text += chunk.toString("utf8");
  });
  const logger = createLogger({
    name: "test",
    config: { logLevel: "debug", logFormat: "json" },
    destination: stream,
  });
  return {
    logger,
    text: () => text,
    records: () =>
      text
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

export interface InstantClock extends RetryClock {
  /** Every sleep asked for, in ms, in order. */
  readonly sleeps: number[];
}

/** Time moves only when the code sleeps, by as much as it asked. */
export function instantClock(options: { start?: number; random?: number } = {}): InstantClock {
  let now = options.start ?? Date.parse("2025-01-02T03:04:05.678Z");
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    random: () => options.random ?? 0.5,
    sleep: async (ms, signal) => {
      sleeps.push(ms);
      now += ms;
      if (signal.aborted) throw signal.reason;
    },
  };
}
