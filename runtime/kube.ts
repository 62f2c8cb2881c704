/**
 * Talking to the Kubernetes API with `@kubernetes/client-node`: its `KubeConfig` finds the cluster and
 * authenticates every request (in-cluster service account, kubeconfig files, exec and OIDC plugins,
 * client certificates, proxies) and its `Watch` streams watches. The few REST calls the stack makes
 * (`KubeClient.request`) go out the way the client's own `Watch` sends its request: a `RequestContext`
 * the `KubeConfig` authenticates, then fetch; the answers are plain JSON. Every call gets a timeout,
 * transient failures (429, 5xx, timeouts, connection errors) are retried with bounded, jittered
 * exponential back-off (`callKube`), and every failure becomes a `KubeApiError` (`kube-api-error.ts`).
 *
 * Why not the client's generated API classes: importing any of them (and `KubeConfig`, whose module
 * imports the generated index for two small helpers) loads all 2,742 generated model modules, about
 * 45 MB and a few hundred milliseconds in every process that talks to a cluster; their requests
 * deserialize every answer into model classes; and each of their calls makes a new connection pool.
 * A resolve hook gives `KubeConfig`'s module those two helpers from their own modules instead of the
 * generated index, so nothing else changes for it.
 *
 * This module loads the client: import it only on code paths that talk to a cluster, dynamically where
 * a command may run without one.
 */
import { registerHooks } from "node:module";
import type { KubeConfig as KubeConfigClass } from "@kubernetes/client-node";
import type { Dispatcher } from "undici";
import { type RetryPolicy, retryDelayMs } from "./backoff.ts";
import { KubeApiError, KubeErrorKind, type StatusCause } from "./kube-api-error.ts";
import { abortError, sleep } from "./sleep.ts";

const CLIENT_DIST = "/@kubernetes/client-node/dist/";
const HOOKED = Symbol.for("agent-stack-k8s.client-node-config-hook");

/** What `dist/config.js` imports from `./gen/index.js`, from the two modules that define it. */
function configGenShim(configUrl: string): string {
  const configuration = new URL("./gen/configuration.js", configUrl).href;
  const servers = new URL("./gen/servers.js", configUrl).href;
  const source = `export { createConfiguration } from ${JSON.stringify(configuration)};\nexport { ServerConfiguration } from ${JSON.stringify(servers)};\n`;
  return `data:text/javascript,${encodeURIComponent(source)}`;
}

const state = globalThis as { [HOOKED]?: boolean };
if (!state[HOOKED]) {
  state[HOOKED] = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier === "./gen/index.js" && context.parentURL?.endsWith(`${CLIENT_DIST}config.js`)) {
        return { url: configGenShim(context.parentURL), shortCircuit: true };
      }
      return nextResolve(specifier, context);
    },
  });
}

const [{ KubeConfig }, { Watch }, { RequestContext }, { fetch }] = await Promise.all([
  import("@kubernetes/client-node/dist/config.js"),
  import("@kubernetes/client-node/dist/watch.js"),
  import("@kubernetes/client-node/dist/gen/http/http.js"),
  import("undici"),
]);

export { KubeConfig, Watch };

/**
 * Write a request as one object literal, `method` then `path` as a template literal
 * (`{ method: "GET", path: `/api/v1/namespaces/${ns}/secrets/${name}` }`): that is how
 * test/k8s/permissions.test.ts finds the calls each component makes, to check its RBAC.
 */
export interface KubeRequest {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Under the cluster's server URL: `/apis/batch/v1/namespaces/ci/jobs`. */
  readonly path: string;
  /** Query parameters; undefined values are left out. */
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** PATCH only: a JSON Patch (the default) or a JSON merge patch. */
  readonly patch?: "json" | "merge";
  /** The answer's body is not needed (a create whose result nobody reads): it is not even parsed. */
  readonly discardBody?: boolean;
  /** The answer is text (a container log, a page through the API server's proxy), not JSON. */
  readonly text?: boolean;
  /** Headers besides authentication's (`Impersonate-User`). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface KubeClient {
  /**
   * One request. Resolves with the answer's JSON (undefined for an empty body or `discardBody`; the
   * text for `text`);
   * rejects with a `KubeResponseError` for an answer other than 2xx, or with fetch's own error.
   */
  request<T = unknown>(request: KubeRequest, signal: AbortSignal): Promise<T>;
}

/** An answer other than 2xx, as the API server sent it. */
export class KubeResponseError extends Error {
  readonly status: number;
  /** The body as text: a Kubernetes `Status`, usually. */
  readonly body: string;
  readonly retryAfter: string | undefined;
  constructor(status: number, body: string, retryAfter: string | undefined) {
    super(`HTTP ${status}`);
    this.name = "KubeResponseError";
    this.status = status;
    this.body = body;
    this.retryAfter = retryAfter;
  }
}

/**
 * How long one connection pool serves a cluster. The `KubeConfig` makes a new pool with every request
 * it authenticates (and a new TLS connection with it, a few per second under load, each pool kept
 * alive for a while); the stack keeps one and replaces it this often, so a client certificate renewed
 * on disk is picked up within this time.
 */
const POOL_LIFETIME_MS = 5 * 60_000;

const clients = new WeakMap<KubeConfigClass, KubeClient>();

/** The one client of a cluster configuration in this process: its requests share a connection pool. */
export function kubeClient(kubeConfig: KubeConfigClass): KubeClient {
  let client = clients.get(kubeConfig);
  if (client === undefined) {
    client = createKubeClient(kubeConfig);
    clients.set(kubeConfig, client);
  }
  return client;
}

function createKubeClient(kubeConfig: KubeConfigClass): KubeClient {
  let pool: { readonly dispatcher: Dispatcher | undefined; readonly since: number } | undefined;
  const dispatcherFor = (context: InstanceType<typeof RequestContext>): Dispatcher | undefined => {
    const now = Date.now();
    if (pool === undefined || now - pool.since > POOL_LIFETIME_MS) {
      const retired = pool?.dispatcher;
      pool = { dispatcher: context.getDispatcher(), since: now };
      // Requests under way finish first.
      void retired?.close().catch(() => {});
    }
    return pool.dispatcher;
  };
  return {
    async request<T>(request: KubeRequest, signal: AbortSignal): Promise<T> {
      const server = kubeConfig.getCurrentCluster()?.server;
      if (!server) throw new Error("the Kubernetes configuration has no current cluster");
      const url = `${server.replace(/\/+$/, "")}${request.path}${queryString(request.query)}`;
      const context = new RequestContext(url, request.method);
      await kubeConfig.applySecurityAuthentication(context);
      const headers: Record<string, string> = {
        ...request.headers,
        ...context.getHeaders(),
        accept: request.text ? "*/*" : "application/json",
      };
      if (request.body !== undefined) headers["content-type"] = contentType(request);
      const response = await fetch(url, {
        method: request.method,
        headers,
        ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
        dispatcher: dispatcherFor(context),
        signal,
      });
      if (response.status < 200 || response.status > 299) {
        const retryAfter = response.headers.get("retry-after") ?? undefined;
        throw new KubeResponseError(response.status, await response.text(), retryAfter);
      }
      if (request.discardBody) {
        await response.body?.cancel();
        return undefined as T;
      }
      const text = await response.text();
      if (request.text) return text as T;
      return (text === "" ? undefined : JSON.parse(text)) as T;
    },
  };
}

function queryString(query: KubeRequest["query"]): string {
  if (query === undefined) return "";
  const parameters = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) parameters.set(key, String(value));
  }
  const text = parameters.toString();
  return text === "" ? "" : `?${text}`;
}

function contentType(request: KubeRequest): string {
  if (request.method !== "PATCH") return "application/json";
  return request.patch === "merge" ? "application/merge-patch+json" : "application/json-patch+json";
}

const STATUS_KINDS: Readonly<Record<number, KubeErrorKind>> = {
  400: KubeErrorKind.BadRequest,
  401: KubeErrorKind.Unauthorized,
  403: KubeErrorKind.Forbidden,
  404: KubeErrorKind.NotFound,
  422: KubeErrorKind.Invalid,
  429: KubeErrorKind.TooManyRequests,
};

/** Any error a request can end with, as a `KubeApiError` for `operation`. */
export function classifyKubeError(error: unknown, operation: string): KubeApiError {
  if (error instanceof KubeApiError) return error;
  if (error instanceof KubeResponseError) {
    const http = error;
    const status = parseStatus(http.body);
    const code = http.status;
    const kind =
      code === 409
        ? status?.reason === "AlreadyExists"
          ? KubeErrorKind.AlreadyExists
          : KubeErrorKind.Conflict
        : (STATUS_KINDS[code] ?? (code >= 500 ? KubeErrorKind.ServerError : KubeErrorKind.Other));
    return new KubeApiError({
      kind,
      operation,
      status: code,
      reason: status?.reason,
      detail: status?.message ?? `HTTP ${code} without a Kubernetes Status`,
      retryAfterMs: retryAfterMs(http.retryAfter),
      causes: status?.causes,
      cause: error,
    });
  }
  const name = error instanceof Error ? error.name : "";
  if (name === "TimeoutError") {
    return new KubeApiError({
      kind: KubeErrorKind.Timeout,
      operation,
      detail: "no answer in time",
      cause: error,
    });
  }
  if (name === "AbortError") {
    return new KubeApiError({ kind: KubeErrorKind.Aborted, operation, detail: "cancelled", cause: error });
  }
  if (error instanceof TypeError || hasNetworkCode(error)) {
    return new KubeApiError({
      kind: KubeErrorKind.Network,
      operation,
      detail: `cannot reach the Kubernetes API: ${networkDetail(error)}`,
      cause: error,
    });
  }
  return new KubeApiError({
    kind: KubeErrorKind.Other,
    operation,
    detail: error instanceof Error ? error.message : String(error),
    cause: error,
  });
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, initialDelayMs: 200, maxDelayMs: 10_000 };
export const DEFAULT_TIMEOUT_MS = 10_000;

export interface KubeCallOptions {
  /** Timeout of each attempt; default 10 s. */
  readonly timeoutMs?: number;
  readonly retry?: RetryPolicy;
  /** Stops waiting and retrying (shutdown); the call then fails with kind `Aborted`. */
  readonly signal?: AbortSignal;
  /** Called before each wait for a retry: log it there. */
  readonly onRetry?: (error: KubeApiError, attempt: number, delayMs: number) => void;
}

/**
 * Runs `call` with a per-attempt timeout, passing it the signal that cancels the attempt
 * (`client.request(request, signal)`), and retries transient failures within `retry`. Throws the last
 * `KubeApiError`.
 */
export async function callKube<T>(
  operation: string,
  call: (signal: AbortSignal) => Promise<T>,
  options: KubeCallOptions = {},
): Promise<T> {
  const retry = options.retry ?? DEFAULT_RETRY;
  const attempts = Math.max(1, Math.floor(retry.attempts));
  for (let attempt = 1; ; attempt += 1) {
    if (options.signal?.aborted) {
      throw classifyKubeError(options.signal.reason ?? abortError(), operation);
    }
    const timeout = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]);
    try {
      return await call(signal);
    } catch (caught) {
      // Cut short by the caller, whatever reason it gave: not an answer of the API server.
      if (options.signal?.aborted) throw classifyKubeError(abortError(), operation);
      const error = classifyKubeError(caught, operation);
      if (!error.transient || attempt >= attempts) throw error;
      const delayMs = retryDelayMs(retry, attempt, error.retryAfterMs);
      options.onRetry?.(error, attempt, delayMs);
      await sleep(delayMs, options.signal).catch(() => {
        throw classifyKubeError(abortError(), operation);
      });
    }
  }
}

/** A Kubernetes `Status`, when the API server sent one. */
function parseStatus(
  body: string,
): { reason?: string; message?: string; causes?: StatusCause[] } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (record.kind !== "Status") return undefined;
  const details = record.details as { causes?: unknown } | undefined;
  const causes = Array.isArray(details?.causes)
    ? details.causes.map((cause: { field?: unknown; message?: unknown } | null) => ({
        field: typeof cause?.field === "string" ? cause.field : "",
        message: typeof cause?.message === "string" ? cause.message : "",
      }))
    : [];
  return {
    ...(typeof record.reason === "string" && record.reason !== "" ? { reason: record.reason } : {}),
    ...(typeof record.message === "string" ? { message: record.message } : {}),
    ...(causes.length > 0 ? { causes } : {}),
  };
}

function retryAfterMs(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

function hasNetworkCode(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^E[A-Z]+/.test(code);
}

/** undici reports `fetch failed` and keeps the useful part (`connect ECONNREFUSED …`) in `cause`. */
function networkDetail(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error && cause.message !== "") return cause.message;
  return error instanceof Error ? error.message : String(error);
}
