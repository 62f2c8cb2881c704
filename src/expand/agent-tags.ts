/**
 * §2.9: the agent's tags and the resource class they select. Upstream builds the tags as a Go map, so
 * their order in `BUILDKITE_AGENT_TAGS` is random there; here it is `k8s:agent-stack-version` first,
 * then the agent query rules in their order.
 */
import { AgentStackError } from "../errors.ts";
import type { ResourceClass } from "../params/types.ts";
import { hasEnv } from "./env.ts";
import type { Draft, ExpansionInputs } from "./state.ts";

export const VERSION_TAG = "k8s:agent-stack-version";
const RESOURCE_CLASS_TAG = "resource_class";

export function agentTags(draft: Draft, inputs: ExpansionInputs): void {
  const tags = new Map<string, string>([[VERSION_TAG, inputs.version]]);
  for (const rule of inputs.job.agentQueryRules) {
    const equals = rule.indexOf("=");
    if (equals >= 0) tags.set(rule.slice(0, equals), rule.slice(equals + 1));
  }
  draft.agentTags = [...tags];
}

export function agentTagsText(draft: Draft): string {
  return draft.agentTags.map(([key, value]) => `${key}=${value}`).join(",");
}

export function resourceClass(draft: Draft, inputs: ExpansionInputs): void {
  const chosen = chooseResourceClass(draft, inputs);
  if (chosen) applyResourceClass(draft, chosen);
}

function chooseResourceClass(draft: Draft, inputs: ExpansionInputs): ResourceClass | undefined {
  const { resourceClasses, defaultResourceClassName } = inputs.config;
  const tag = draft.agentTags.find(([key]) => key === RESOURCE_CLASS_TAG);
  if (tag) {
    if (!resourceClasses) fail("resource classes not configured but resource_class tag specified");
    const found = resourceClasses[tag[1]];
    if (!found) fail(`resource class not found: ${tag[1]}`);
    return found;
  }
  if (!defaultResourceClassName) return undefined;
  if (!resourceClasses) fail("resource classes not configured but default-resource-class-name is set");
  const found = resourceClasses[defaultResourceClassName];
  if (!found) fail(`default resource class not found: ${defaultResourceClassName}`);
  return found;
}

function fail(message: string): never {
  throw new AgentStackError("ASK_RESOURCE_CLASS", message);
}

/**
 * Only the command containers get `resource` (agent and checkout do not exist yet, and the env test
 * is upstream's way of telling command containers apart); `podResource` is the pod-level budget.
 */
function applyResourceClass(draft: Draft, resourceClass: ResourceClass): void {
  const spec = draft.podSpec;
  if (resourceClass.nodeSelector) spec.nodeSelector = { ...spec.nodeSelector, ...resourceClass.nodeSelector };
  const { resource, podResource } = resourceClass;
  if (resource) {
    for (const container of spec.containers) {
      if (!hasEnv(container, "BUILDKITE_COMMAND")) continue;
      const resources = container.resources ?? {};
      resources.requests = { ...resources.requests, ...resource.requests };
      resources.limits = { ...resources.limits, ...resource.limits };
      container.resources = resources;
    }
  }
  if (podResource) {
    const resources = spec.resources ?? {};
    resources.requests = { ...resources.requests, ...podResource.requests };
    resources.limits = { ...resources.limits, ...podResource.limits };
    spec.resources = resources;
  }
}
