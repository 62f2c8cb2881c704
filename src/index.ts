// The package's public API: the pure core that the webhook, the launcher, `render` and the tests share.
export { type AdmissionContext, type AdmissionResult, admit } from "./admission/admit.ts";
export {
  ANNOTATION_EXPANDED_BY,
  ANNOTATION_JOB,
  LABEL_EXPAND,
  LABEL_JOB_UUID,
} from "./admission/contract.ts";
export { buildSkeleton, serializeJob, skeletonJobName } from "./admission/skeleton.ts";
export { type BuildkiteJob, jobEnv, parseBuildkiteJob } from "./buildkite/job.ts";
export { pipelineToJobs } from "./buildkite/pipeline.ts";
export { loadConfig } from "./config/load.ts";
export type { Config } from "./config/types.ts";
export { AgentStackError, ERRORS, type ErrorCode, failureMessage, isAgentStackError } from "./errors.ts";
export { EXPANSION_STEPS, type Expansion, expandJob, type PodTemplateResolver } from "./expand/index.ts";
export type * from "./generated/k8s-types.ts";
export { renderJob } from "./render/render-job.ts";
export { type StrategicMergePatchOptions, strategicMergePatch } from "./smp/index.ts";
export { VERSION } from "./version.ts";
