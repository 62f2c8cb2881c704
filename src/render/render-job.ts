/**
 * `render`'s core: a Buildkite job goes exactly the way it goes in the cluster — skeleton Job,
 * AdmissionReview, admission decision, JSON Patch applied — so what `render` prints is what the
 * webhook would make of it.
 */

import jsonpatch, { type Operation } from "fast-json-patch";
import { admit } from "../admission/admit.ts";
import { buildSkeleton } from "../admission/skeleton.ts";
import type { BuildkiteJob } from "../buildkite/job.ts";
import type { Config } from "../config/types.ts";
import type { AgentStackError, ErrorCode } from "../errors.ts";
import type { PodTemplateResolver } from "../expand/index.ts";
import type { Job } from "../generated/k8s-types.ts";
import { copyJson } from "../k8s/copy.ts";

export type RenderResult =
  | { readonly ok: true; readonly job: Job; readonly warnings: readonly string[] }
  | {
      readonly ok: false;
      readonly uuid: string;
      /** The message the Buildkite job would be failed with. */
      readonly message: string;
      readonly code: ErrorCode;
      /** The error itself: its `path` is the place in the job's data (`plugins[0].kubernetes…`). */
      readonly error: AgentStackError;
    };

export interface RenderContext {
  readonly config: Config;
  readonly podTemplates?: PodTemplateResolver;
  readonly version?: string;
}

export function renderJob(job: BuildkiteJob, context: RenderContext): RenderResult {
  const skeleton = buildSkeleton(job, context.config);
  const { review, error } = admit(createReview(skeleton, job.uuid), context);
  const { response } = review;
  if (!response.allowed) {
    // A denial always comes from an AgentStackError; anything else is thrown by `admit`.
    const denial = error as AgentStackError;
    return {
      ok: false,
      uuid: job.uuid,
      message: response.status?.message ?? denial.message,
      code: denial.code,
      error: denial,
    };
  }
  const operations = JSON.parse(
    Buffer.from(response.patch ?? "", "base64").toString("utf8") || "[]",
  ) as Operation[];
  const expanded = jsonpatch.applyPatch(copyJson(skeleton), operations, true, false).newDocument;
  return { ok: true, job: expanded, warnings: response.warnings ?? [] };
}

/** The review kube-apiserver would send for the create of this Job. */
export function createReview(job: Job, uid: string) {
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid,
      kind: { group: "batch", version: "v1", kind: "Job" },
      resource: { group: "batch", version: "v1", resource: "jobs" },
      requestKind: { group: "batch", version: "v1", kind: "Job" },
      requestResource: { group: "batch", version: "v1", resource: "jobs" },
      name: job.metadata?.name,
      namespace: job.metadata?.namespace,
      operation: "CREATE",
      userInfo: { username: "agent-stack-k8s-render" },
      object: job,
      dryRun: true,
    },
  };
}
