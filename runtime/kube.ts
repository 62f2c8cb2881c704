/**
 * Calling the Kubernetes API with `@kubernetes/client-node`: every call gets a timeout, transient
 * failures (429, 5xx, timeouts, connection errors) are retried with bounded, jittered exponential
 * back-off, and every failure becomes a `KubeApiError` that says which operation failed and which
 * Kubernetes `Status` reason the server gave, so callers branch on `kind`, not on messages.
 */
import {
  ApiException,
  type ConfigurationOptions,
  Observable,
  type RequestContext,
  type ResponseContext,
} from "@kubernetes/client-node";
import { abortError, sleep } from "./sleep.ts";

export { sleep };

export const KubeErrorKind = {
  NotFound: "NotFound",
  AlreadyExists: "AlreadyExists",
  Conflict: "Conflict",
  Invalid: "Invalid",
  BadRequest: "BadRequest",
  Unauthorized: "Unauthorized",
  Forbidden: "Forbidden",
  TooManyRequests: "TooManyRequests",
  ServerError: "ServerError",
  Timeout: "Timeout",
  Network: "Network",
  Aborted: "Aborted",
  Other: "Other",
} as const;
export type KubeErrorKind = (typeof KubeErrorKind)[keyof typeof KubeErrorKind];

const TRANSIENT: ReadonlySet<KubeErrorKind> = new Set([
  KubeErrorKind.TooManyRequests,
  KubeErrorKind.ServerError,
  KubeErrorKind.Timeout,
  KubeErrorKind.Network,
]);

export class KubeApiError extends Error {
  readonly kind: KubeErrorKind;
  /** The operation, as callers name it: `get Secret buildkite/webhook-tls`. */
  readonly operation: string;
  /** HTTP status, when the server answered. */
  readonly status: number | undefined;
  /** The `reason` of the server's `Status`, when it sent one. */
  readonly reason: string | undefined;
  /** The `message` of the server's `Status` (or what went wrong on the way), never a request body. */
  readonly detail: string;
  /** From `Retry-After`, for 429 and 503. */
  readonly retryAfterMs: number | undefined;
  /** The `details.causes` of the server's `Status`: for 422 Invalid, one per field that failed. */
  readonly causes: readonly StatusCause[];

  constructor(fields: {
    kind: KubeErrorKind;
    operation: string;
    detail: string;
    status?: number | undefined;
    reason?: string | undefined;
    retryAfterMs?: number | undefined;
    causes?: readonly StatusCause[] | undefined;
    cause?: unknown;
  }) {
    const status = fields.status === undefined ? "" : `${fields.status} ${fields.reason ?? fields.kind}: `;
    super(`${fields.operation}: ${status}${fields.detail}`, { cause: fields.cause });
    this.name = "KubeApiError";
    this.kind = fields.kind;
    this.operation = fields.operation;
    this.status = fields.status;
    this.reason = fields.reason;
    this.detail = fields.detail;
    this.retryAfterMs = fields.retryAfterMs;
    this.causes = fields.causes ?? [];
  }

  /** Worth another attempt: the server was overloaded, failed, or did not answer. */
  get transient(): boolean {
    return TRANSIENT.has(this.kind);
  }
}

export interface StatusCause {
  readonly field: string;
  readonly message: string;
}

export function isKubeApiError(error: unknown, kind?: KubeErrorKind): error is KubeApiError {
  return error instanceof KubeApiError && (kind === undefined || error.kind === kind);
}

const STATUS_KINDS: Readonly<Record<number, KubeErrorKind>> = {
  400: KubeErrorKind.BadRequest,
  401: KubeErrorKind.Unauthorized,
  403: KubeErrorKind.Forbidden,
  404: KubeErrorKind.NotFound,
  422: KubeErrorKind.Invalid,
  429: KubeErrorKind.TooManyRequests,
};

/** Any error a client call can throw, as a `KubeApiError` for `operation`. */
export function classifyKubeError(error: unknown, operation: string): KubeApiError {
  if (error instanceof KubeApiError) return error;
  if (error instanceof ApiException) {
    const status = parseStatus(error.body);
    const code = error.code;
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
      retryAfterMs: retryAfterMs(error.headers["retry-after"]),
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

export interface RetryPolicy {
  /** Attempts in all, the first included; at least 1. */
  readonly attempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
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
 * Runs `call` with a per-attempt timeout, passing it the client options that carry the timeout's
 * abort signal (`api.readNamespacedSecret(params, options)`), and retries transient failures within
 * `retry`. Throws the last `KubeApiError`.
 */
export async function callKube<T>(
  operation: string,
  call: (options: ConfigurationOptions) => Promise<T>,
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
      return await call(withSignal(signal));
    } catch (caught) {
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

/**
 * The wait before attempt `attempt + 1`: exponential from `initialDelayMs`, half of it random so that
 * replicas do not retry in step, never above `maxDelayMs`; a server's `Retry-After` is honoured up to
 * that bound.
 */
export function retryDelayMs(
  retry: RetryPolicy,
  attempt: number,
  retryAfter?: number,
  random = Math.random,
): number {
  const exponential = Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** (attempt - 1));
  const jittered = exponential / 2 + (exponential / 2) * random();
  return Math.round(Math.min(retry.maxDelayMs, Math.max(jittered, retryAfter ?? 0)));
}

/** Client options whose requests are cancelled by `signal`. */
export function withSignal(signal: AbortSignal, base: ConfigurationOptions = {}): ConfigurationOptions {
  const middleware = {
    pre: (context: RequestContext) => {
      context.setSignal(signal);
      return new Observable(Promise.resolve(context));
    },
    post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
  };
  return {
    ...base,
    middleware: [...(base.middleware ?? []), middleware],
    middlewareMergeStrategy: "append",
  };
}

/** The client hands the body over as text; a Kubernetes `Status` when the API server sent it. */
function parseStatus(
  body: unknown,
): { reason?: string; message?: string; causes?: StatusCause[] } | undefined {
  let value = body;
  if (typeof body === "string") {
    try {
      value = JSON.parse(body);
    } catch {
      return undefined;
    }
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
