/**
 * Logs a repeating failure once per distinct message instead of once per attempt, and says when it
 * recovered: a Buildkite or webhook outage then costs a handful of log lines, not one per poll.
 */
import type { Logger } from "./logger.ts";

export interface DistinctErrorLog {
  failed(error: unknown, fields?: Record<string, unknown>): void;
  recovered(fields?: Record<string, unknown>): void;
}

export function distinctErrorLog(logger: Logger, what: string): DistinctErrorLog {
  let lastMessage: string | undefined;
  let failures = 0;
  return {
    failed(error, fields = {}) {
      failures += 1;
      const message = error instanceof Error ? error.message : String(error);
      if (message === lastMessage) return;
      lastMessage = message;
      logger.warn(
        { ...fields, err: message, failures },
        `${what} failed; retrying with back-off (logged again only if the error changes)`,
      );
    },
    recovered(fields = {}) {
      if (failures === 0) return;
      logger.info({ ...fields, failures }, `${what} recovered`);
      failures = 0;
      lastMessage = undefined;
    },
  };
}
