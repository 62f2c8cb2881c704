/**
 * Creates the skeleton Job of a Buildkite job and says what became of it (`CreateOutcome`). One
 * attempt per call, with a timeout that really aborts: the scheduler decides when to try again, and
 * applies the client-side rate limit.
 *
 * How kube-apiserver's answers map onto outcomes:
 * - 201: created. 409 AlreadyExists: exists (the name comes from the job uuid, so another launcher or an
 *   earlier attempt whose answer was lost made it).
 * - `admission webhook "<name>" denied the request: <message>` (a 4xx the webhook chose): denied, with
 *   the webhook's message alone, which is what the Buildkite job's log should say.
 * - 422 Invalid (the expanded Job broke a rule the webhook does not know): invalid, worded as upstream
 *   HEAD words it, with the skeleton as sent in YAML (the Buildkite job's annotation left out: it holds
 *   the job's env).
 * - 422 Invalid because the pod template has no containers: the skeleton reached the API server
 *   unexpanded, so no webhook ran on it (its namespaceSelector or objectSelector missed the Job, or
 *   its configuration is gone). Not the job's fault: retry, saying why.
 * - `failed calling webhook` (500), 429, 5xx, timeouts, connection errors, and anything else (RBAC,
 *   a missing namespace): retry. A Buildkite job is never failed for an outage or a misconfiguration of
 *   our own.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { Registry } from "prom-client";
import { stringify } from "yaml";
import { callKube, kubeClient } from "../../runtime/kube.ts";
import { KubeApiError, KubeErrorKind } from "../../runtime/kube-api-error.ts";
import { ANNOTATION_JOB } from "../../src/admission/contract.ts";
import { buildSkeleton } from "../../src/admission/skeleton.ts";
import type { BuildkiteJob } from "../../src/buildkite/job.ts";
import type { Config } from "../../src/config/types.ts";
import type { Job } from "../../src/generated/k8s-types.ts";
import type { CreateOutcome, JobCreator } from "../types.ts";
import { kubernetesMetrics } from "./metrics.ts";

export interface JobCreatorOptions {
  readonly kubeConfig: KubeConfig;
  readonly config: Pick<Config, "namespace" | "jobPrefix" | "id">;
  /** A registry for `buildkite_scheduler_job_create_errors_total{reason}`; none, no metric. */
  readonly registry?: Registry;
  /**
   * The whole create, webhook included; default 30 s. kube-apiserver gives the webhook its own
   * `timeoutSeconds` (10 s) inside that.
   */
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DENIED = /^admission webhook "[^"]*" denied the request(?:: ([\s\S]*)| without explanation)$/;
/** The cause kube-apiserver gives for a pod template without containers, which every expansion adds. */
const NO_CONTAINERS = "spec.template.spec.containers";

export function createJobCreator(options: JobCreatorOptions): JobCreator {
  const { namespace } = options.config;
  const client = kubeClient(options.kubeConfig);
  const ns = encodeURIComponent(namespace);
  const metrics = options.registry === undefined ? undefined : kubernetesMetrics(options.registry);
  return {
    async create(job: BuildkiteJob, signal: AbortSignal): Promise<CreateOutcome> {
      const skeleton = buildSkeleton(job, options.config);
      const name = skeleton.metadata?.name ?? "";
      try {
        await callKube(
          `create Job ${namespace}/${name}`,
          // The created Job comes back expanded (tens of KB): nothing reads it.
          (signal) =>
            client.request(
              {
                method: "POST",
                path: `/apis/batch/v1/namespaces/${ns}/jobs`,
                body: skeleton,
                discardBody: true,
              },
              signal,
            ),
          {
            signal,
            timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
            retry: { attempts: 1, initialDelayMs: 0, maxDelayMs: 0 },
          },
        );
        return { kind: "created" };
      } catch (error) {
        if (!(error instanceof KubeApiError)) throw error;
        // Shutting down: not an outcome of the create.
        if (error.kind === KubeErrorKind.Aborted) throw error;
        metrics?.creator.createErrors.inc({ reason: error.reason ?? error.kind });
        return classify(error, skeleton, namespace);
      }
    },
  };
}

function classify(error: KubeApiError, skeleton: Job, namespace: string): CreateOutcome {
  if (error.kind === KubeErrorKind.AlreadyExists) return { kind: "exists" };
  const status = error.status ?? 0;
  const denial = DENIED.exec(error.detail);
  // kube-apiserver raises a webhook's code to at least 400; 408 and 429 from a webhook mean try later.
  if (denial !== null && status >= 400 && status < 500 && status !== 408 && status !== 429) {
    return { kind: "denied", message: denial[1] ?? error.detail };
  }
  if (error.kind === KubeErrorKind.Invalid && reachedUnexpanded(error)) {
    return {
      kind: "retry",
      message: `the Job reached the API server unexpanded (${error.detail}): no admission webhook expanded it. Check that the MutatingWebhookConfiguration exists and that its namespaceSelector matches the namespace ${namespace} and its objectSelector the Job's labels; retrying`,
    };
  }
  if (error.kind === KubeErrorKind.Invalid) {
    return {
      kind: "invalid",
      message: `Kubernetes rejected the podSpec built by agent-stack-k8s: failed to create job: ${error.detail}\n\n${stringify(withoutJobData(skeleton))}`,
    };
  }
  return {
    kind: "retry",
    message: error.message,
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
  };
}

function reachedUnexpanded(error: KubeApiError): boolean {
  return error.causes.some((cause) => cause.field === NO_CONTAINERS && /^Required value/.test(cause.message));
}

/** The skeleton for a message: the Buildkite job's annotation carries its env, which is never shown. */
function withoutJobData(skeleton: Job): Job {
  const annotations = { ...skeleton.metadata?.annotations };
  const data = annotations[ANNOTATION_JOB];
  if (data !== undefined)
    annotations[ANNOTATION_JOB] = `(the Buildkite job: ${data.length} characters, not shown)`;
  return { ...skeleton, metadata: { ...skeleton.metadata, annotations } };
}
