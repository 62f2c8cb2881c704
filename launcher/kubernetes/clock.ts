/**
 * The wall clock the watchers compare Kubernetes timestamps with (a pod's `startTime`, a Job's age).
 * Tests pass their own and move it, instead of sleeping through grace periods.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const SYSTEM_CLOCK: Clock = { now: () => Date.now() };
