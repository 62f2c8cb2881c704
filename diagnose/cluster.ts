/**
 * The reads `diagnose` makes, each through `callKube`: a timeout on every attempt, a few retries of
 * 429/5xx/timeouts, and a `KubeApiError` naming the operation when it fails. Lists are paged and
 * bounded. Access reviews are made as a service account (`Impersonate-User`, as `kubectl auth can-i
 * --as` does). What diagnose may call is listed in src/k8s/permissions.ts (`diagnosePermissions`).
 */
import type {
  CoreV1Event,
  KubeConfig,
  V1ConfigMap,
  V1Deployment,
  V1Job,
  V1MutatingWebhookConfiguration,
  V1Pod,
  V1Secret,
  V1SelfSubjectAccessReview,
} from "@kubernetes/client-node";
import type { RetryPolicy } from "../runtime/backoff.ts";
import {
  callKube,
  classifyKubeError,
  type KubeRequest,
  KubeResponseError,
  kubeClient,
} from "../runtime/kube.ts";
import { describePermission, type Permission } from "../src/k8s/permissions.ts";

export interface CallLimits {
  /** Per attempt of an ordinary call. */
  readonly timeoutMs: number;
  /** Per attempt of a log read, which may be megabytes. */
  readonly logTimeoutMs: number;
  readonly retry: RetryPolicy;
}

export const DEFAULT_LIMITS: CallLimits = {
  timeoutMs: 10_000,
  logTimeoutMs: 60_000,
  retry: { attempts: 3, initialDelayMs: 250, maxDelayMs: 2_000 },
};

/** Pages of 500: a namespace with more than 20,000 objects of a kind is cut there (and says so). */
const PAGE_SIZE = 500;
const MAX_PAGES = 40;
/** A container log is cut after this many bytes (kubelet rotates logs at 10 MiB by default). */
export const LOG_LIMIT_BYTES = 16 * 1024 * 1024;

export interface Listed<T> {
  readonly items: T[];
  /** More objects exist than were read. */
  readonly truncated: boolean;
}

export interface LogRequest {
  readonly sinceSeconds?: number;
  readonly previous?: boolean;
}

export interface ProxyAnswer {
  readonly status: number;
  readonly body: string;
}

export interface AccessDecision {
  readonly allowed: boolean;
  /** The authorizer's reason or evaluation error, when it gave one. */
  readonly reason?: string;
}

export interface DiagnoseCluster {
  listDeployments(namespace: string, labelSelector: string): Promise<Listed<V1Deployment>>;
  listPods(namespace: string, labelSelector: string): Promise<Listed<V1Pod>>;
  listJobs(namespace: string, labelSelector: string): Promise<Listed<V1Job>>;
  listEvents(namespace: string): Promise<Listed<CoreV1Event>>;
  listWebhookConfigurations(labelSelector: string): Promise<Listed<V1MutatingWebhookConfiguration>>;
  getConfigMap(namespace: string, name: string): Promise<V1ConfigMap>;
  /** The Secret's data, decoded. */
  getSecretData(namespace: string, name: string): Promise<Record<string, string>>;
  podLog(namespace: string, pod: string, container: string, request: LogRequest): Promise<string>;
  /**
   * GET `path` of a Service through the API server's proxy (`https:NAME:PORT`). The backend's answer,
   * whatever its status; throws when the API server could not get one (a `Status`: no endpoints,
   * unreachable, forbidden).
   */
  serviceGet(namespace: string, service: string, path: string): Promise<ProxyAnswer>;
  /** A SelfSubjectAccessReview made as `user` (impersonated). */
  canI(user: string, permission: Permission, namespace: string): Promise<AccessDecision>;
}

export function createDiagnoseCluster(
  kubeConfig: KubeConfig,
  limits: CallLimits = DEFAULT_LIMITS,
): DiagnoseCluster {
  const client = kubeClient(kubeConfig);
  const call = <T>(operation: string, request: KubeRequest, timeoutMs = limits.timeoutMs) =>
    callKube(operation, (signal) => client.request<T>(request, signal), { timeoutMs, retry: limits.retry });

  /** Every page of a list, up to the bound. */
  async function list<T>(operation: string, request: KubeRequest): Promise<Listed<T>> {
    const items: T[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < MAX_PAGES; pages += 1) {
      const result = await call<{ items?: T[]; metadata?: { continue?: string } }>(operation, {
        ...request,
        query: { ...request.query, limit: PAGE_SIZE, continue: cursor },
      });
      items.push(...(result?.items ?? []));
      cursor = result?.metadata?.continue;
      if (cursor === undefined || cursor === "") return { items, truncated: false };
    }
    return { items, truncated: true };
  }

  return {
    listDeployments: (namespace, labelSelector) =>
      list(`list Deployments in ${namespace} (${labelSelector})`, {
        method: "GET",
        path: `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/deployments`,
        query: { labelSelector },
      }),
    listPods: (namespace, labelSelector) =>
      list(`list Pods in ${namespace} (${labelSelector})`, {
        method: "GET",
        path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
        query: { labelSelector },
      }),
    listJobs: (namespace, labelSelector) =>
      list(`list Jobs in ${namespace} (${labelSelector})`, {
        method: "GET",
        path: `/apis/batch/v1/namespaces/${encodeURIComponent(namespace)}/jobs`,
        query: { labelSelector },
      }),
    listEvents: (namespace) =>
      list(`list Events in ${namespace}`, {
        method: "GET",
        path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`,
      }),
    listWebhookConfigurations: (labelSelector) =>
      list(`list MutatingWebhookConfigurations (${labelSelector})`, {
        method: "GET",
        path: `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations`,
        query: { labelSelector },
      }),
    getConfigMap: (namespace, name) =>
      call<V1ConfigMap>(`get ConfigMap ${namespace}/${name}`, {
        method: "GET",
        path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps/${encodeURIComponent(name)}`,
      }),
    async getSecretData(namespace, name) {
      const secret = await call<V1Secret>(`get Secret ${namespace}/${name}`, {
        method: "GET",
        path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`,
      });
      return Object.fromEntries(
        Object.entries(secret?.data ?? {}).map(([key, value]) => [
          key,
          Buffer.from(value, "base64").toString("utf8"),
        ]),
      );
    },
    podLog: (namespace, pod, container, request) =>
      call<string>(
        `get the ${request.previous ? "previous " : ""}log of container ${container} of Pod ${namespace}/${pod}`,
        {
          method: "GET",
          path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log`,
          query: {
            container,
            timestamps: true,
            limitBytes: LOG_LIMIT_BYTES,
            previous: request.previous ? true : undefined,
            sinceSeconds: request.sinceSeconds,
          },
          text: true,
        },
        limits.logTimeoutMs,
      ),
    async serviceGet(namespace, service, path) {
      const operation = `GET ${path} of Service ${namespace}/${service} through the API server's proxy`;
      try {
        // One attempt: a webhook that is not ready answers 503 itself, and that is the answer we want.
        const body = await callKube(
          operation,
          (signal) =>
            client.request<string>(
              {
                method: "GET",
                path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(service)}/proxy/${proxiedPath(path)}`,
                text: true,
              },
              signal,
            ),
          { timeoutMs: limits.timeoutMs, retry: { ...limits.retry, attempts: 1 } },
        );
        return { status: 200, body };
      } catch (error) {
        const answer = (error as { cause?: unknown }).cause;
        if (answer instanceof KubeResponseError && !isStatus(answer.body)) {
          return { status: answer.status, body: answer.body };
        }
        throw classifyKubeError(error, operation);
      }
    },
    async canI(user, permission, namespace) {
      const [resource = "", subresource] = permission.resource.split("/");
      const body: V1SelfSubjectAccessReview = {
        spec: {
          resourceAttributes: {
            verb: permission.verb,
            group: permission.group,
            resource,
            ...(subresource === undefined ? {} : { subresource }),
            ...(permission.name === undefined ? {} : { name: permission.name }),
            ...(permission.namespaced ? { namespace } : {}),
          },
        },
      };
      const review = await call<V1SelfSubjectAccessReview>(
        `SelfSubjectAccessReview as ${user}: ${describePermission(permission)}`,
        {
          method: "POST",
          path: `/apis/authorization.k8s.io/v1/selfsubjectaccessreviews`,
          body,
          // As `kubectl auth can-i --as` asks.
          headers: { "Impersonate-User": user },
        },
      );
      const status = review?.status;
      const reason = status?.evaluationError || status?.reason;
      return { allowed: status?.allowed === true, ...(reason ? { reason } : {}) };
    },
  };
}

/** The path behind the proxy, each segment escaped: `/readyz` → `readyz`. */
function proxiedPath(path: string): string {
  return path.replace(/^\//, "").split("/").map(encodeURIComponent).join("/");
}

/** A Kubernetes `Status` body: the API server's own answer, not the backend's. */
function isStatus(body: string): boolean {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "Status";
  } catch {
    return false;
  }
}
