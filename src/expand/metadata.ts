/**
 * §2.2: labels and annotations, one map each, shared by the Job and its pod template. The order of the
 * writes is the rule: user metadata comes before the `buildkite.com/*` keys, so a step can never forge
 * them, and after `safe-to-evict`, so a step may override that one.
 */

import { isLabelValue, isQualifiedName } from "../k8s/names.ts";
import type { Draft, ExpansionInputs } from "./state.ts";

export const LABEL_JOB_UUID = "buildkite.com/job-uuid";
export const LABEL_CONTROLLER_ID = "buildkite.com/controller-id";
export const TAG_LABEL_PREFIX = "tag.buildkite.com/";
export const ANNOTATION_SAFE_TO_EVICT = "cluster-autoscaler.kubernetes.io/safe-to-evict";
export const ANNOTATION_POD_TEMPLATE = "buildkite.com/pod-template-name";

const BUILD_ANNOTATIONS: ReadonlyArray<[string, string]> = [
  ["buildkite.com/build-url", "BUILDKITE_BUILD_URL"],
  ["buildkite.com/build-branch", "BUILDKITE_BRANCH"],
  ["buildkite.com/build-repo", "BUILDKITE_REPO"],
  ["buildkite.com/pipeline-slug", "BUILDKITE_PIPELINE_SLUG"],
  ["buildkite.com/step-key", "BUILDKITE_STEP_KEY"],
];

export function jobMetadata(draft: Draft, inputs: ExpansionInputs): void {
  const { config, plugin, job, env } = inputs;
  const { labels, annotations } = draft;
  annotations[ANNOTATION_SAFE_TO_EVICT] = "false";
  Object.assign(labels, config.defaultMetadata.labels);
  Object.assign(annotations, config.defaultMetadata.annotations);
  Object.assign(labels, plugin?.metadata?.labels);
  Object.assign(annotations, plugin?.metadata?.annotations);
  labels[LABEL_JOB_UUID] = job.uuid;
  if (config.id) labels[LABEL_CONTROLLER_ID] = config.id;
  addTagLabels(draft, job.agentQueryRules);
  for (const [annotation, variable] of BUILD_ANNOTATIONS) annotations[annotation] = env.get(variable) ?? "";
  const jobUrl = jobUrlOf(env.get("BUILDKITE_BUILD_URL") ?? "", job.uuid);
  if (jobUrl !== undefined) annotations["buildkite.com/job-url"] = jobUrl;
  annotations["buildkite.com/job-priority"] = String(job.priority.number);
  if (plugin?.podTemplate && !plugin.podSpec) annotations[ANNOTATION_POD_TEMPLATE] = plugin.podTemplate;
}

function addTagLabels(draft: Draft, rules: readonly string[]): void {
  for (const rule of rules) {
    const equals = rule.indexOf("=");
    if (equals < 0) continue;
    const key = `${TAG_LABEL_PREFIX}${rule.slice(0, equals)}`;
    const value = rule.slice(equals + 1);
    if (!isQualifiedName(key) || !isLabelValue(value)) {
      draft.warnings.push(
        `agent query rule ${JSON.stringify(rule)} gives no label: ${JSON.stringify(key)}=${JSON.stringify(value)} is not a valid Kubernetes label`,
      );
      continue;
    }
    draft.labels[key] = value;
  }
}

/**
 * The build URL with its fragment replaced by the job uuid, as Go's `url.Parse` + `Fragment` would
 * give it; `undefined` where Go's parser would refuse the URL (control characters, bad escapes).
 */
export function jobUrlOf(buildUrl: string, uuid: string): string | undefined {
  const withoutFragment = buildUrl.split("#")[0] ?? "";
  const beforeQuery = withoutFragment.split("?")[0] ?? "";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: Go's url.Parse rejects ASCII control characters.
  if (/[\u0000-\u001f\u007f]/.test(withoutFragment) || /%(?![0-9A-Fa-f]{2})/.test(beforeQuery))
    return undefined;
  return `${withoutFragment}#${uuid}`;
}
