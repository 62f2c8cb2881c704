/**
 * Which Buildkite jobs the watchers have failed, or are failing right now, shared by all of them: a
 * job is failed at most once. Upstream v0.26.0 forgot after failing on the init-container and
 * podless-Job paths (quirk Q3), so every later informer event tried again and got a 422 from the
 * acquire. Entries expire after `retentionMs` (an hour by default; the Job is long gone by then), so
 * the ledger cannot grow without bound.
 */
import { type Clock, SYSTEM_CLOCK } from "./clock.ts";

export interface FailureLedger {
  /** Takes the job for failing; false when it was failed already or another watcher is failing it. */
  claim(uuid: string): boolean;
  /** Gives a claim back after failing did not work, so a later attempt may fail it. */
  release(uuid: string): void;
  has(uuid: string): boolean;
}

const DEFAULT_RETENTION_MS = 60 * 60_000;

export function createFailureLedger(options: { clock?: Clock; retentionMs?: number } = {}): FailureLedger {
  const clock = options.clock ?? SYSTEM_CLOCK;
  const retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
  const claimedAt = new Map<string, number>();
  const prune = () => {
    const now = clock.now();
    for (const [uuid, at] of claimedAt) {
      if (now - at < retentionMs) break;
      claimedAt.delete(uuid);
    }
  };
  return {
    claim(uuid) {
      prune();
      if (claimedAt.has(uuid)) return false;
      claimedAt.set(uuid, clock.now());
      return true;
    },
    release(uuid) {
      claimedAt.delete(uuid);
    },
    has(uuid) {
      prune();
      return claimedAt.has(uuid);
    },
  };
}
