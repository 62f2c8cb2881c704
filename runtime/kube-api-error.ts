/**
 * A failed call to the Kubernetes API, as every caller sees it: which operation failed and which
 * Kubernetes `Status` reason the server gave, so callers branch on `kind`, not on messages. Free of the
 * client itself, so modules that only handle failures load nothing heavy.
 */

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
