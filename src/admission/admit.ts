/**
 * The admission decision, as a pure function: an AdmissionReview (`admission.k8s.io/v1` or `v1beta1`)
 * for the CREATE of a Job gives the AdmissionReview to answer with — a JSON Patch that expands the
 * Job, no patch, or a denial whose message says what is wrong and where.
 */

import { type BuildkiteJob, parseBuildkiteJob } from "../buildkite/job.ts";
import type { Config } from "../config/types.ts";
import { AgentStackError, failureMessage, isAgentStackError } from "../errors.ts";
import { type Expansion, expandJob, type PodTemplateResolver } from "../expand/index.ts";
import type { Job, PodSpec } from "../generated/k8s-types.ts";
import { parseJsonText } from "../json-text.ts";
import { copyJson } from "../k8s/copy.ts";
import { isPlainObject } from "../k8s/decode.ts";
import { VERSION } from "../version.ts";
import {
  ANNOTATION_EXPANDED_BY,
  ANNOTATION_JOB,
  expandedBy,
  LABEL_CONTROLLER_ID,
  LABEL_EXPAND,
} from "./contract.ts";
import { jsonPatchDiff } from "./json-patch-diff.ts";

const API_VERSIONS = ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"] as const;
type AdmissionApiVersion = (typeof API_VERSIONS)[number];

export interface AdmissionContext {
  readonly config: Config;
  readonly podTemplates?: PodTemplateResolver;
  readonly version?: string;
}

export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  readonly patchType?: "JSONPatch";
  /** base64 of the JSON Patch document. */
  readonly patch?: string;
  readonly status?: { readonly code: number; readonly reason: string; readonly message: string };
  readonly warnings?: readonly string[];
}

export interface AdmissionReviewResponse {
  readonly apiVersion: AdmissionApiVersion;
  readonly kind: "AdmissionReview";
  readonly response: AdmissionResponse;
}

/** What happened, for logs and metrics; the review is what goes back to the API server. */
export type AdmissionOutcome = "expanded" | "unchanged" | "denied";

export interface AdmissionResult {
  readonly review: AdmissionReviewResponse;
  readonly outcome: AdmissionOutcome;
  /** Why it was unchanged, or the denial's error code. */
  readonly reason: string;
  /** Where in the Job or the Buildkite job a denial's problem is, when the error says. */
  readonly path?: string;
  /** The Job as it will be created (the patch applied), when expanded. */
  readonly job?: Job;
  /** Why it was denied, with the place in the job's data (`render` and `lint` point at it). */
  readonly error?: AgentStackError;
}

interface AdmissionRequest {
  readonly uid: string;
  readonly kind: { group?: string; version?: string; kind?: string };
  readonly operation: string;
  readonly object: unknown;
}

/**
 * Throws `ASK_ADMISSION_INVALID_REVIEW` when the body is not an AdmissionReview at all (the webhook
 * answers 400); every problem with the Job itself is a denial inside a valid answer.
 */
export function admit(review: unknown, context: AdmissionContext): AdmissionResult {
  const { apiVersion, request } = readReview(review);
  const answer = (
    outcome: AdmissionOutcome,
    reason: string,
    response: Omit<AdmissionResponse, "uid">,
    job?: Job,
    error?: AgentStackError,
  ) => ({
    review: { apiVersion, kind: "AdmissionReview" as const, response: { uid: request.uid, ...response } },
    outcome,
    reason,
    ...(job ? { job } : {}),
    ...(error ? { error } : {}),
  });
  const skip = selectionMiss(request, context.config);
  if (skip) return answer("unchanged", skip, { allowed: true });
  const job = request.object as Job;
  try {
    const expanded = expandedJob(job, context);
    const operations = jsonPatchDiff(job, expanded.job);
    return answer(
      "expanded",
      "expanded",
      {
        allowed: true,
        patchType: "JSONPatch",
        patch: Buffer.from(JSON.stringify(operations)).toString("base64"),
        ...(expanded.warnings.length > 0 ? { warnings: expanded.warnings } : {}),
      },
      expanded.job,
    );
  } catch (error) {
    if (!isAgentStackError(error)) throw error;
    const denied = answer(
      "denied",
      error.code,
      { allowed: false, status: { code: 400, reason: "BadRequest", message: failureMessage(error) } },
      undefined,
      error,
    );
    return error.path === undefined ? denied : { ...denied, path: error.path };
  }
}

function readReview(review: unknown): { apiVersion: AdmissionApiVersion; request: AdmissionRequest } {
  if (!isPlainObject(review)) invalid("the body is not a JSON object");
  const { apiVersion, kind, request } = review;
  if (kind !== "AdmissionReview") invalid(`kind is ${JSON.stringify(kind)}, expected "AdmissionReview"`);
  if (!API_VERSIONS.includes(apiVersion as AdmissionApiVersion)) {
    invalid(`apiVersion is ${JSON.stringify(apiVersion)}, expected one of ${API_VERSIONS.join(", ")}`);
  }
  if (!isPlainObject(request)) invalid("request is missing");
  if (typeof request.uid !== "string" || request.uid === "") invalid("request.uid is missing");
  if (!isPlainObject(request.kind)) invalid("request.kind is missing");
  if (typeof request.operation !== "string") invalid("request.operation is missing");
  if (request.operation === "CREATE" && !isPlainObject(request.object)) invalid("request.object is missing");
  return { apiVersion: apiVersion as AdmissionApiVersion, request: request as unknown as AdmissionRequest };
}

function invalid(message: string): never {
  throw new AgentStackError("ASK_ADMISSION_INVALID_REVIEW", `invalid AdmissionReview: ${message}`);
}

/**
 * Anything but the CREATE of a labelled, unexpanded batch/v1 Job passes through untouched, and so does
 * a Job labelled for another stack's controller id: where two releases' namespaces overlap, each
 * webhook expands only its own launcher's Jobs (and, as before, unlabelled ones from other tools).
 */
function selectionMiss(request: AdmissionRequest, config: Pick<Config, "id">): string | undefined {
  const { group, version, kind } = request.kind;
  if (group !== "batch" || version !== "v1" || kind !== "Job") return "not a batch/v1 Job";
  if (request.operation !== "CREATE") return `operation ${request.operation}`;
  const metadata = (request.object as Job).metadata ?? {};
  if (metadata.labels?.[LABEL_EXPAND] !== "true") return `no ${LABEL_EXPAND}=true label`;
  const controller = metadata.labels?.[LABEL_CONTROLLER_ID];
  if (controller !== undefined && controller !== config.id) return `labelled for controller id ${controller}`;
  if (metadata.annotations?.[ANNOTATION_EXPANDED_BY] !== undefined) return "already expanded";
  return undefined;
}

function expandedJob(job: Job, context: AdmissionContext): { job: Job; warnings: readonly string[] } {
  const version = context.version ?? VERSION;
  const buildkiteJob = jobFromAnnotation(job);
  const expansion = expandJob({
    job: buildkiteJob,
    config: context.config,
    ...(context.podTemplates ? { podTemplates: context.podTemplates } : {}),
    ...(ownPodSpecOf(job) ? { ownPodSpec: ownPodSpecOf(job) as PodSpec } : {}),
    version,
  });
  return { job: applyExpansion(job, expansion, version), warnings: expansion.warnings };
}

function jobFromAnnotation(job: Job): BuildkiteJob {
  const text = job.metadata?.annotations?.[ANNOTATION_JOB];
  const where = `metadata.annotations["${ANNOTATION_JOB}"]`;
  if (text === undefined) {
    throw new AgentStackError(
      "ASK_ADMISSION_JOB_ANNOTATION",
      `the Job has the ${LABEL_EXPAND}=true label but no ${ANNOTATION_JOB} annotation (${where}) with the Buildkite job to run`,
      { path: where },
    );
  }
  const parsed = parseJsonText(text);
  if (!parsed.ok) {
    throw new AgentStackError(
      "ASK_ADMISSION_JOB_ANNOTATION",
      `${where} is not valid JSON: ${parsed.problem}`,
      {
        path: where,
      },
    );
  }
  return parseBuildkiteJob(parsed.value, where);
}

/**
 * The launcher's skeleton has no containers (whatever the API server defaulted into its pod spec);
 * a Job made by another tool brings its own pod template, which is the starting pod spec.
 */
function ownPodSpecOf(job: Job): PodSpec | undefined {
  const spec = job.spec?.template?.spec;
  return spec && spec.containers?.length > 0 ? spec : undefined;
}

function applyExpansion(job: Job, expansion: Expansion, version: string): Job {
  const copy = copyJson(job);
  const { metadata: _metadata, spec: _spec, ...rest } = copy;
  // A JSON null is an absent field, as Go decodes it (kube-apiserver writes `creationTimestamp: null`).
  const metadata = copy.metadata ?? {};
  const spec = copy.spec ?? { template: {} };
  const template = spec.template ?? {};
  const annotations: Record<string, string> = { ...metadata.annotations, ...expansion.annotations };
  delete annotations[ANNOTATION_JOB];
  annotations[ANNOTATION_EXPANDED_BY] = expandedBy(version);
  const templateMetadata = template.metadata ?? {};
  return {
    ...rest,
    metadata: { ...metadata, labels: { ...metadata.labels, ...expansion.labels }, annotations },
    spec: {
      ...spec,
      ...expansion.spec,
      template: {
        ...template,
        metadata: {
          ...templateMetadata,
          labels: { ...templateMetadata.labels, ...expansion.labels },
          annotations: { ...templateMetadata.annotations, ...expansion.annotations },
        },
        spec: expansion.podSpec,
      },
    },
  };
}
