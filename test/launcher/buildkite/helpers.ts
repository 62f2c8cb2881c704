/**
 * Shared by the Buildkite adapter tests: a captured logger, a clock whose sleeps take no time, a Stacks
 * API client for the fake, and the error a promise rejects with.
 */
import { PassThrough } from "node:stream";
import type { AgentTokenProvider } from "../../../launcher/buildkite/job-failer.ts";
import type { RetryClock } from "../../../launcher/buildkite/retry.ts";
import { StacksApiClient } from "../../../launcher/buildkite/stacks-api.ts";
import { createLogger, type Logger } from "../../../runtime/logger.ts";
import type { FakeBuildkite } from "../../fakes/buildkite/fake-buildkite.ts";

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

/** A Stacks API client for the fake, with its agent token (as it is at each call) unless told otherwise. */
export function stacksClient(
  fake: FakeBuildkite,
  logger: Logger,
  options: {
    clock?: RetryClock;
    tokenProvider?: AgentTokenProvider;
    timeoutMs?: number;
    fetch?: typeof fetch;
  } = {},
): StacksApiClient {
  return new StacksApiClient({
    endpoint: fake.agentUrl,
    tokenProvider: options.tokenProvider ?? (async () => fake.agentToken),
    version: "1.2.3",
    logger,
    ...options,
  });
}

/** What `promise` rejects with; fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error as Error,
  );
}
