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
 *   HEAD words it, with the skeleton as sent in YAML.
 * - `failed calling webhook` (500), 429, 5xx, timeouts, connection errors, and anything else (RBAC,
 *   a missing namespace): retry. A Buildkite job is never failed for an outage or a misconfiguration of
 *   our own.
 */
import { BatchV1Api, type KubeConfig, type V1Job } from "@kubernetes/client-node";
import type { Registry } from "prom-client";
import { stringify } from "yaml";
import { callKube, KubeApiError, KubeErrorKind } from "../../runtime/kube.ts";
import { buildSkeleton } from "../../src/admission/skeleton.ts";
import type { BuildkiteJob } from "../../src/buildkite/job.ts";
import type { Config } from "../../src/config/types.ts";
import type { CreateOutcome, JobCreator } from "../types.ts";
import { kubernetesMetrics } from "./metrics.ts";

export interface JobCreatorOptions {
  readonly kubeConfig: KubeConfig;
  readonly config: Pick<Config, "namespace" | "jobPrefix">;
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

export function createJobCreator(options: JobCreatorOptions): JobCreator {
  const { namespace } = options.config;
  const api = options.kubeConfig.makeApiClient(BatchV1Api);
  const metrics = options.registry === undefined ? undefined : kubernetesMetrics(options.registry);
  return {
    async create(job: BuildkiteJob, signal: AbortSignal): Promise<CreateOutcome> {
      const skeleton = buildSkeleton(job, options.config);
      const name = skeleton.metadata?.name ?? "";
      try {
        await callKube(
          `create Job ${namespace}/${name}`,
          (config) => api.createNamespacedJob({ namespace, body: skeleton as V1Job }, config),
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
        return classify(error, skeleton);
      }
    },
  };
}

function classify(error: KubeApiError, skeleton: unknown): CreateOutcome {
  if (error.kind === KubeErrorKind.AlreadyExists) return { kind: "exists" };
  const status = error.status ?? 0;
  const denial = DENIED.exec(error.detail);
  // kube-apiserver raises a webhook's code to at least 400; 408 and 429 from a webhook mean try later.
  if (denial !== null && status >= 400 && status < 500 && status !== 408 && status !== 429) {
    return { kind: "denied", message: denial[1] ?? error.detail };
  }
  if (error.kind === KubeErrorKind.Invalid) {
    return {
      kind: "invalid",
      message: `Kubernetes rejected the podSpec built by agent-stack-k8s: failed to create job: ${error.detail}\n\n${stringify(skeleton)}`,
    };
  }
  return {
    kind: "retry",
    message: error.message,
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
  };
}
