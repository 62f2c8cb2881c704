/**
 * The skeleton Job the launcher creates for a Buildkite job: a name derived from the job's uuid (so a
 * second create is `AlreadyExists`), the contract's labels (the stack's controller id among them, so
 * that only this stack's webhook expands it) and annotation, and a pod template with no containers,
 * which the API server would reject if it ever arrived unexpanded.
 */
import type { BuildkiteJob } from "../buildkite/job.ts";
import type { Config } from "../config/types.ts";
import type { Job } from "../generated/k8s-types.ts";
import { ANNOTATION_JOB, LABEL_CONTROLLER_ID, LABEL_EXPAND, LABEL_JOB_UUID } from "./contract.ts";

export function skeletonJobName(job: BuildkiteJob, config: Pick<Config, "jobPrefix">): string {
  return `${config.jobPrefix}${job.uuid}`;
}

export function buildSkeleton(
  job: BuildkiteJob,
  config: Pick<Config, "jobPrefix" | "namespace" | "id">,
): Job {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: skeletonJobName(job, config),
      namespace: config.namespace,
      labels: {
        [LABEL_EXPAND]: "true",
        [LABEL_JOB_UUID]: job.uuid,
        ...(config.id === "" ? {} : { [LABEL_CONTROLLER_ID]: config.id }),
      },
      annotations: { [ANNOTATION_JOB]: serializeJob(job) },
    },
    spec: { template: { spec: { containers: [] } } },
  };
}

/** The annotation's JSON, with its keys in a fixed order. */
export function serializeJob(job: BuildkiteJob): string {
  return JSON.stringify({
    uuid: job.uuid,
    command: job.command,
    env: job.env,
    agentQueryRules: job.agentQueryRules,
    priority: { number: job.priority.number },
  });
}
