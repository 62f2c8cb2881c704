/** §2.0: the pod spec the expansion starts from, and the pod user the scripts run as. */

import { AgentStackError } from "../errors.ts";
import type { PodSpec } from "../generated/k8s-types.ts";
import { copyJson } from "../k8s/copy.ts";
import type { Draft, ExpansionInputs } from "./state.ts";

export function chooseBasePodSpec(draft: Draft, inputs: ExpansionInputs): void {
  const { plugin, ownPodSpec } = inputs;
  if (ownPodSpec && (plugin?.podSpec || plugin?.podTemplate)) {
    const field = plugin.podSpec ? "podSpec" : "podTemplate";
    throw new AgentStackError(
      "ASK_BASE_POD_SPEC_CONFLICT",
      `the Job has its own pod template and the kubernetes plugin sets ${field} too: use one of them`,
      { path: `spec.template.spec` },
    );
  }
  draft.podSpec = copyJson(plugin?.podSpec ?? podTemplateSpec(inputs) ?? ownPodSpec ?? { containers: [] });
  draft.podSpec.containers ??= [];
  const securityContext = draft.podSpec.securityContext;
  draft.podUser = { uid: securityContext?.runAsUser ?? 0, gid: securityContext?.runAsGroup ?? 0 };
}

function podTemplateSpec(inputs: ExpansionInputs): PodSpec | undefined {
  const name = inputs.plugin?.podTemplate;
  if (!name) return undefined;
  try {
    return inputs.podTemplates(name);
  } catch (error) {
    throw new AgentStackError(
      "ASK_POD_TEMPLATE_FETCH",
      `Error fetching podTemplate ${JSON.stringify(name)}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
