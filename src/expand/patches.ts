/**
 * §2.15: the controller's patch, then the step's `image` attribute, then the step's own patch, so a
 * step's patch has the last word. Afterwards the pod must still have what the job cannot run without.
 */
import { AgentStackError } from "../errors.ts";
import { interposerOf } from "./command-params.ts";
import { hasEnv } from "./env.ts";
import { AGENT_CONTAINER, COPY_AGENT_CONTAINER } from "./names.ts";
import { type PatchedPodSpec, type PatchRules, patchPodSpec } from "./pod-spec-patch.ts";
import type { Draft, ExpansionInputs } from "./state.ts";

export function podSpecPatches(draft: Draft, inputs: ExpansionInputs): void {
  const { config, plugin } = inputs;
  const rules: PatchRules = {
    interposer: interposerOf(inputs),
    allowUnsafeCommandModification: config.allowPodSpecPatchUnsafeCommandModification,
  };
  if (config.podSpecPatch)
    applyPatch(draft, patchPodSpec(draft.podSpec, config.podSpecPatch, "controller", rules));
  imageAttribute(draft, inputs);
  if (plugin?.podSpecPatch)
    applyPatch(draft, patchPodSpec(draft.podSpec, plugin.podSpecPatch, "k8s plugin", rules));
  requireStackContainers(draft);
}

function applyPatch(draft: Draft, patched: PatchedPodSpec): void {
  draft.podSpec = patched.podSpec;
  draft.warnings.push(...patched.warnings);
}

/** The step's `image:` (Buildkite sets `BUILDKITE_IMAGE`) is the image of every command container. */
function imageAttribute(draft: Draft, inputs: ExpansionInputs): void {
  const image = inputs.env.get("BUILDKITE_IMAGE");
  if (!image) return;
  for (const container of draft.podSpec.containers ?? []) {
    if (hasEnv(container, "BUILDKITE_COMMAND")) container.image = image;
  }
}

/**
 * Our patches keep `$patch: delete`/`replace`, which upstream's typed round trip dropped: a patch could
 * now remove the agent or copy-agent, and the pod would run without ever acquiring its job.
 */
function requireStackContainers(draft: Draft): void {
  // A patch may have removed the whole list (`containers: null`).
  const { containers = [], initContainers } = draft.podSpec;
  const missing = [
    containers.some((container) => container.name === AGENT_CONTAINER)
      ? undefined
      : `container ${AGENT_CONTAINER}`,
    initContainers?.some((container) => container.name === COPY_AGENT_CONTAINER)
      ? undefined
      : `init container ${COPY_AGENT_CONTAINER}`,
  ].filter((item) => item !== undefined);
  if (missing.length > 0) {
    throw new AgentStackError(
      "ASK_PATCH_REMOVES_AGENT",
      `the pod spec patches remove the ${missing.join(" and the ")}, without which the job cannot run`,
    );
  }
}
