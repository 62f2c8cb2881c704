/** §2.14: init containers in their final order, and the pod's restart policy. */
import type { Draft } from "./state.ts";

export function assembleInitContainers(draft: Draft): void {
  draft.podSpec.initContainers = [...draft.stackInitContainers, ...(draft.podSpec.initContainers ?? [])];
  // A failed pod is a failed Buildkite job: the agent has already reported it, a restart cannot help.
  draft.podSpec.restartPolicy = "Never";
}
