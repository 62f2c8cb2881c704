/**
 * The reads `diagnose` makes, each through `callKube`: a timeout on every attempt, a few retries of
 * 429/5xx/timeouts, and a `KubeApiError` naming the operation when it fails. Lists are paged and
 * bounded. Access reviews are made as a service account (`Impersonate-User`, as `kubectl auth can-i
 * --as` does). What diagnose may call is listed in src/k8s/permissions.ts (`diagnosePermissions`).
 */
import {
  AdmissionregistrationV1Api,
  ApiException,
  AppsV1Api,
  AuthorizationV1Api,
  BatchV1Api,
  type ConfigurationOptions,
  CoreV1Api,
  type CoreV1Event,
  type KubeConfig,
  Observable,
  type RequestContext,
  type ResponseContext,
  type V1ConfigMap,
  type V1Deployment,
  type V1Job,
  type V1MutatingWebhookConfiguration,
  type V1Pod,
} from "@kubernetes/client-node";
import type { RetryPolicy } from "../runtime/backoff.ts";
import { callKube, classifyKubeError, withSignal } from "../runtime/kube.ts";
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
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const batch = kubeConfig.makeApiClient(BatchV1Api);
  const admission = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const authorization = kubeConfig.makeApiClient(AuthorizationV1Api);
  const call = <T>(
    operation: string,
    run: (options: ConfigurationOptions) => Promise<T>,
    timeoutMs = limits.timeoutMs,
  ) => callKube(operation, (signal) => run(withSignal(signal)), { timeoutMs, retry: limits.retry });

  /** Every page of a list, up to the bound. */
  async function list<T>(
    operation: string,
    page: (
      cursor: string | undefined,
      options: ConfigurationOptions,
    ) => Promise<{ items: T[]; metadata?: { _continue?: string } }>,
  ): Promise<Listed<T>> {
    const items: T[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < MAX_PAGES; pages += 1) {
      const result = await call(operation, (options) => page(cursor, options));
      items.push(...result.items);
      cursor = result.metadata?._continue;
      if (cursor === undefined || cursor === "") return { items, truncated: false };
    }
    return { items, truncated: true };
  }

  return {
    listDeployments: (namespace, labelSelector) =>
      list(`list Deployments in ${namespace} (${labelSelector})`, (cursor, options) =>
        apps.listNamespacedDeployment(
          { namespace, labelSelector, limit: PAGE_SIZE, _continue: cursor },
          options,
        ),
      ),
    listPods: (namespace, labelSelector) =>
      list(`list Pods in ${namespace} (${labelSelector})`, (cursor, options) =>
        core.listNamespacedPod({ namespace, labelSelector, limit: PAGE_SIZE, _continue: cursor }, options),
      ),
    listJobs: (namespace, labelSelector) =>
      list(`list Jobs in ${namespace} (${labelSelector})`, (cursor, options) =>
        batch.listNamespacedJob({ namespace, labelSelector, limit: PAGE_SIZE, _continue: cursor }, options),
      ),
    listEvents: (namespace) =>
      list(`list Events in ${namespace}`, (cursor, options) =>
        core.listNamespacedEvent({ namespace, limit: PAGE_SIZE, _continue: cursor }, options),
      ),
    listWebhookConfigurations: (labelSelector) =>
      list(`list MutatingWebhookConfigurations (${labelSelector})`, (cursor, options) =>
        admission.listMutatingWebhookConfiguration(
          { labelSelector, limit: PAGE_SIZE, _continue: cursor },
          options,
        ),
      ),
    getConfigMap: (namespace, name) =>
      call(`get ConfigMap ${namespace}/${name}`, (options) =>
        core.readNamespacedConfigMap({ namespace, name }, options),
      ),
    async getSecretData(namespace, name) {
      const secret = await call(`get Secret ${namespace}/${name}`, (options) =>
        core.readNamespacedSecret({ namespace, name }, options),
      );
      return Object.fromEntries(
        Object.entries(secret.data ?? {}).map(([key, value]) => [
          key,
          Buffer.from(value, "base64").toString("utf8"),
        ]),
      );
    },
    podLog: (namespace, pod, container, request) =>
      call(
        `get the ${request.previous ? "previous " : ""}log of container ${container} of Pod ${namespace}/${pod}`,
        (options) =>
          core.readNamespacedPodLog(
            {
              namespace,
              name: pod,
              container,
              timestamps: true,
              limitBytes: LOG_LIMIT_BYTES,
              ...(request.previous ? { previous: true } : {}),
              ...(request.sinceSeconds === undefined ? {} : { sinceSeconds: request.sinceSeconds }),
            },
            options,
          ),
        limits.logTimeoutMs,
      ),
    async serviceGet(namespace, service, path) {
      const operation = `GET ${path} of Service ${namespace}/${service} through the API server's proxy`;
      try {
        // One attempt: a webhook that is not ready answers 503 itself, and that is the answer we want.
        const body = await callKube(
          operation,
          (signal) =>
            core.connectGetNamespacedServiceProxyWithPath(
              { namespace, name: service, path: path.replace(/^\//, "") },
              withSignal(signal),
            ),
          { timeoutMs: limits.timeoutMs, retry: { ...limits.retry, attempts: 1 } },
        );
        return { status: 200, body };
      } catch (error) {
        const exception = (error as { cause?: unknown }).cause;
        if (exception instanceof ApiException && !isStatus(exception.body)) {
          return { status: exception.code, body: String(exception.body ?? "") };
        }
        throw classifyKubeError(error, operation);
      }
    },
    async canI(user, permission, namespace) {
      const [resource = "", subresource] = permission.resource.split("/");
      const review = await call(
        `SelfSubjectAccessReview as ${user}: ${describePermission(permission)}`,
        (options) =>
          authorization.createSelfSubjectAccessReview(
            {
              body: {
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
              },
            },
            impersonating(user, options),
          ),
      );
      const status = review.status;
      const reason = status?.evaluationError || status?.reason;
      return { allowed: status?.allowed === true, ...(reason ? { reason } : {}) };
    },
  };
}

/** Client options that send every request as `user`. */
function impersonating(user: string, options: ConfigurationOptions): ConfigurationOptions {
  const middleware = {
    pre: (context: RequestContext) => {
      context.setHeaderParam("Impersonate-User", user);
      return new Observable(Promise.resolve(context));
    },
    post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
  };
  return {
    ...options,
    middleware: [...(options.middleware ?? []), middleware],
    middlewareMergeStrategy: "append",
  };
}

/** A Kubernetes `Status` body: the API server's own answer, not the backend's. */
function isStatus(body: unknown): boolean {
  try {
    const value = typeof body === "string" ? JSON.parse(body) : body;
    return typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "Status";
  } catch {
    return false;
  }
}
