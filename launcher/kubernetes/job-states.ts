/**
 * What a Buildkite job's state means for the watchers: whether a throw-away agent may still acquire
 * it (so the launcher can fail it with a message), whether an agent already has it (so that agent
 * reports), or whether it is over.
 */
import type { JobState } from "../types.ts";

/** The job waits for an agent: acquiring it (to fail it) will work. */
export const ACQUIRABLE_STATES: ReadonlySet<JobState> = new Set(["SCHEDULED", "RESERVED"]);

/** An agent has the job (upstream HEAD's "agent active" states): never fail it from the outside. */
export const ACTIVE_STATES: ReadonlySet<JobState> = new Set([
  "ACCEPTED",
  "ASSIGNED",
  "RUNNING",
  "CANCELING",
  "TIMING_OUT",
]);

/** An agent runs the job: what upstream v0.26.0 cancels when failing it is refused (§2.7.1). */
export const RUNNING_STATES: ReadonlySet<JobState> = new Set(["ACCEPTED", "ASSIGNED", "RUNNING"]);

/** Cancelled in Buildkite, or being cancelled: its Job should go. */
export const CANCELLED_STATES: ReadonlySet<JobState> = new Set(["CANCELED", "CANCELING"]);

/** Over, one way or another: nothing left to report. */
export const TERMINAL_STATES: ReadonlySet<JobState> = new Set([
  "CANCELED",
  "EXPIRED",
  "FINISHED",
  "SKIPPED",
  "TIMED_OUT",
  "BROKEN",
  "BLOCKED_FAILED",
  "UNBLOCKED_FAILED",
  "WAITING_FAILED",
]);
