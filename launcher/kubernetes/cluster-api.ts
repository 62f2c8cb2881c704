/**
 * The Kubernetes calls the watchers make, each through `callKube` (a timeout that really aborts,
 * bounded retries of 429/5xx/timeouts), on Jobs and Events of the launcher's namespace. Deletes are
 * upstream HEAD's: grace period 0 and background propagation (batch/v1 Jobs otherwise orphan their
 * pods), with the Job's uid as a precondition when the caller knows it, so a Job replaced under the
 * same name is never deleted by mistake.
 */
import type { CoreV1Event, KubeConfig, V1Job } from "@kubernetes/client-node";
import type { RetryPolicy } from "../../runtime/backoff.ts";
import { callKube, kubeClient } from "../../runtime/kube.ts";
import { isKubeApiError, KubeErrorKind } from "../../runtime/kube-api-error.ts";

export type DeleteResult = "deleted" | "gone" | "replaced";
export type DeadlineResult = "set" | "unchanged" | "gone";

export interface ClusterApi {
  /** Deletes a Job and, in the background, its pods; `gone` when it no longer exists, `replaced` when its uid changed. */
  deleteJob(name: string, uid: string | undefined, signal: AbortSignal): Promise<DeleteResult>;
  /** The Job as the API server has it now (not the cache); undefined when it does not exist. */
  getJob(name: string, signal: AbortSignal): Promise<V1Job | undefined>;
  /** Events whose involved object is the Job, served from the watch cache (`resourceVersion: "0"`). */
  jobEvents(name: string, signal: AbortSignal): Promise<CoreV1Event[]>;
  /**
   * Lowers `spec.activeDeadlineSeconds` to `seconds` (never raises it), on the Job of that uid.
   * Kubernetes counts the deadline from the Job's start, so a short one ends it almost at once.
   */
  setJobDeadline(
    name: string,
    uid: string | undefined,
    seconds: number,
    signal: AbortSignal,
  ): Promise<DeadlineResult>;
}

export interface ClusterApiOptions {
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  /** Per attempt; default 10 s. */
  readonly timeoutMs?: number;
  readonly retry?: RetryPolicy;
}

export function createClusterApi(options: ClusterApiOptions): ClusterApi {
  const { namespace } = options;
  const client = kubeClient(options.kubeConfig);
  const ns = encodeURIComponent(namespace);
  const callOptions = (signal: AbortSignal) => ({
    signal,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.retry === undefined ? {} : { retry: options.retry }),
  });

  const getJob = async (name: string, signal: AbortSignal): Promise<V1Job | undefined> => {
    try {
      return await callKube(
        `get Job ${namespace}/${name}`,
        (call) =>
          client.request<V1Job>(
            { method: "GET", path: `/apis/batch/v1/namespaces/${ns}/jobs/${encodeURIComponent(name)}` },
            call,
          ),
        callOptions(signal),
      );
    } catch (error) {
      if (isKubeApiError(error, KubeErrorKind.NotFound)) return undefined;
      throw error;
    }
  };

  return {
    async deleteJob(name, uid, signal) {
      try {
        await callKube(
          `delete Job ${namespace}/${name}`,
          (call) =>
            client.request(
              {
                method: "DELETE",
                path: `/apis/batch/v1/namespaces/${ns}/jobs/${encodeURIComponent(name)}`,
                query: { gracePeriodSeconds: 0, propagationPolicy: "Background" },
                ...(uid === undefined || uid === "" ? {} : { body: { preconditions: { uid } } }),
                discardBody: true,
              },
              call,
            ),
          callOptions(signal),
        );
        return "deleted";
      } catch (error) {
        if (isKubeApiError(error, KubeErrorKind.NotFound)) return "gone";
        // A failed uid precondition is a 409 Conflict: another Job has the name now.
        if (isKubeApiError(error, KubeErrorKind.Conflict)) return "replaced";
        throw error;
      }
    },
    getJob,
    async jobEvents(name, signal) {
      const events = await callKube(
        `list the Events of Job ${namespace}/${name}`,
        (call) =>
          client.request<{ items?: CoreV1Event[] }>(
            {
              method: "GET",
              path: `/api/v1/namespaces/${ns}/events`,
              query: {
                fieldSelector: `involvedObject.kind=Job,involvedObject.name=${name}`,
                resourceVersion: "0",
              },
            },
            call,
          ),
        callOptions(signal),
      );
      return events?.items ?? [];
    },
    async setJobDeadline(name, uid, seconds, signal) {
      const job = await getJob(name, signal);
      if (job === undefined || (uid !== undefined && uid !== "" && job.metadata?.uid !== uid)) return "gone";
      const current = job.spec?.activeDeadlineSeconds;
      if (current !== undefined && current <= seconds) return "unchanged";
      try {
        await callKube(
          `set activeDeadlineSeconds of Job ${namespace}/${name}`,
          (call) =>
            client.request(
              {
                method: "PATCH",
                path: `/apis/batch/v1/namespaces/${ns}/jobs/${encodeURIComponent(name)}`,
                // JSON Patch: the test makes it a no-op on a Job that replaced this one.
                body: [
                  { op: "test", path: "/metadata/uid", value: job.metadata?.uid },
                  { op: "add", path: "/spec/activeDeadlineSeconds", value: seconds },
                ],
                discardBody: true,
              },
              call,
            ),
          callOptions(signal),
        );
        return "set";
      } catch (error) {
        if (isKubeApiError(error, KubeErrorKind.NotFound)) return "gone";
        // The test operation failed: the name now belongs to another Job.
        if (isKubeApiError(error, KubeErrorKind.Invalid)) return "gone";
        throw error;
      }
    },
  };
}
