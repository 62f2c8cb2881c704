/** §2.3: the Job's scalars and the pod's termination grace period. */
import type { Draft, ExpansionInputs } from "./state.ts";

const NANOSECONDS_PER_SECOND = 1_000_000_000;

export function jobSpecScalars(draft: Draft, inputs: ExpansionInputs): void {
  const { config, plugin } = inputs;
  const pluginDeadline = plugin?.jobActiveDeadlineSeconds ?? 0;
  draft.jobSpec = {
    // The agent acquires its Buildkite job once: a retried pod could never acquire it again.
    backoffLimit: 0,
    ttlSecondsAfterFinished: Math.trunc(config.jobTtl / NANOSECONDS_PER_SECOND),
    activeDeadlineSeconds: pluginDeadline > 0 ? pluginDeadline : config.jobActiveDeadlineSeconds,
  };
  draft.podSpec.terminationGracePeriodSeconds ??= config.defaultTerminationGracePeriodSeconds;
}
