/**
 * The public contract between whoever creates a Job (the launcher, or any other tool) and the
 * admission webhook that expands it (design.md, "The contract between launcher and webhook").
 */

/** The webhook's objectSelector matches this label: only labelled Jobs are expanded. */
export const LABEL_EXPAND = "buildkite.com/expand";
/** The Buildkite job as JSON, in the shape of GraphQL's `JobTypeCommand`; removed after expansion. */
export const ANNOTATION_JOB = "buildkite.com/job";
/** Set on expansion: `agent-stack-k8s/<version>`. A Job that has it is never expanded again. */
export const ANNOTATION_EXPANDED_BY = "buildkite.com/expanded-by";

/**
 * The stack the Job belongs to (config `id`): the launcher labels its skeletons with it, and a webhook
 * leaves a Job labelled for another id to that stack's webhook.
 */
export { LABEL_CONTROLLER_ID, LABEL_JOB_UUID } from "../expand/metadata.ts";

export function expandedBy(version: string): string {
  return `agent-stack-k8s/${version}`;
}
