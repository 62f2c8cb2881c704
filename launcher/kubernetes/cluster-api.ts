/**
 * The Kubernetes calls the watchers make, each through `callKube` (a timeout that really aborts,
 * bounded retries of 429/5xx/timeouts), on Jobs and Events of the launcher's namespace. Deletes are
 * upstream HEAD's: grace period 0 and background propagation (batch/v1 Jobs otherwise orphan their
 * pods), with the Job's uid as a precondition when the caller knows it, so a Job replaced under the
 * same name is never deleted by mistake.
 */
import {
  BatchV1Api,
  CoreV1Api,
  type CoreV1Event,
  type KubeConfig,
  type V1Job,
} from "@kubernetes/client-node";
import { callKube, isKubeApiError, KubeErrorKind, type RetryPolicy } from "../../runtime/kube.ts";

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
  const batch = options.kubeConfig.makeApiClient(BatchV1Api);
  const core = options.kubeConfig.makeApiClient(CoreV1Api);
  const callOptions = (signal: AbortSignal) => ({
    signal,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.retry === undefined ? {} : { retry: options.retry }),
  });

  const getJob = async (name: string, signal: AbortSignal): Promise<V1Job | undefined> => {
    try {
      return await callKube(
        `get Job ${namespace}/${name}`,
        (config) => batch.readNamespacedJob({ namespace, name }, config),
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
          (config) =>
            batch.deleteNamespacedJob(
              {
                namespace,
                name,
                gracePeriodSeconds: 0,
                propagationPolicy: "Background",
                ...(uid === undefined || uid === "" ? {} : { body: { preconditions: { uid } } }),
              },
              config,
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
        (config) =>
          core.listNamespacedEvent(
            {
              namespace,
              fieldSelector: `involvedObject.kind=Job,involvedObject.name=${name}`,
              resourceVersion: "0",
            },
            config,
          ),
        callOptions(signal),
      );
      return events.items;
    },
    async setJobDeadline(name, uid, seconds, signal) {
      const job = await getJob(name, signal);
      if (job === undefined || (uid !== undefined && uid !== "" && job.metadata?.uid !== uid)) return "gone";
      const current = job.spec?.activeDeadlineSeconds;
      if (current !== undefined && current <= seconds) return "unchanged";
      try {
        await callKube(
          `set activeDeadlineSeconds of Job ${namespace}/${name}`,
          (config) =>
            batch.patchNamespacedJob(
              {
                namespace,
                name,
                // JSON Patch: the test makes it a no-op on a Job that replaced this one.
                body: [
                  { op: "test", path: "/metadata/uid", value: job.metadata?.uid },
                  { op: "add", path: "/spec/activeDeadlineSeconds", value: seconds },
                ],
              },
              config,
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
