/**
 * Kubernetes `Status` objects, worded as kube-apiserver words them, so that clients (and their error
 * classification) see exactly what a real cluster would send.
 */
import { type FakeResource, qualifiedKind, qualifiedPlural } from "./kubernetes-resources.ts";

export interface StatusBody {
  readonly kind: "Status";
  readonly apiVersion: "v1";
  readonly metadata: Record<string, never>;
  readonly status: "Failure" | "Success";
  readonly message?: string;
  readonly reason?: string;
  readonly details?: {
    readonly name?: string;
    readonly group?: string;
    readonly kind?: string;
    readonly causes?: ReadonlyArray<{
      readonly field: string;
      readonly message: string;
      readonly reason: string;
    }>;
    readonly retryAfterSeconds?: number;
  };
  readonly code: number;
}

export class StatusError extends Error {
  readonly status: StatusBody;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: StatusBody, headers: Readonly<Record<string, string>> = {}) {
    super(status.message);
    this.status = status;
    this.headers = headers;
  }
}

function failure(code: number, reason: string, message: string, details?: StatusBody["details"]): StatusBody {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    ...(reason === "" ? {} : { reason }),
    ...(details === undefined ? {} : { details }),
    code,
  };
}

function resourceDetails(resource: FakeResource, name: string) {
  return { name, ...(resource.group === "" ? {} : { group: resource.group }), kind: resource.plural };
}

export function notFound(resource: FakeResource, name: string): StatusError {
  return new StatusError(
    failure(
      404,
      "NotFound",
      `${qualifiedPlural(resource)} "${name}" not found`,
      resourceDetails(resource, name),
    ),
  );
}

export function unknownPath(path: string): StatusError {
  return new StatusError(
    failure(404, "NotFound", `the server could not find the requested resource (${path})`, {}),
  );
}

export function alreadyExists(resource: FakeResource, name: string): StatusError {
  return new StatusError(
    failure(
      409,
      "AlreadyExists",
      `${qualifiedPlural(resource)} "${name}" already exists`,
      resourceDetails(resource, name),
    ),
  );
}

export function conflict(resource: FakeResource, name: string): StatusError {
  return new StatusError(
    failure(
      409,
      "Conflict",
      `Operation cannot be fulfilled on ${qualifiedPlural(resource)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      resourceDetails(resource, name),
    ),
  );
}

/** 422 with one cause per `path: problem` line, as field validation reports them. */
export function invalid(resource: FakeResource, name: string, problems: readonly string[]): StatusError {
  const list = problems.length === 1 ? problems[0] : `[${problems.join(", ")}]`;
  return new StatusError(
    failure(422, "Invalid", `${qualifiedKind(resource)} "${name}" is invalid: ${list}`, {
      ...resourceDetails(resource, name),
      kind: resource.kind,
      causes: problems.map((line) => {
        const colon = line.indexOf(": ");
        return {
          reason: "FieldValueInvalid",
          field: colon === -1 ? "" : line.slice(0, colon),
          message: colon === -1 ? line : line.slice(colon + 2),
        };
      }),
    }),
  );
}

/** A JSON patch that cannot be applied (a failed `test`, a missing path): 422, as the API server answers. */
export function patchFailed(message: string): StatusError {
  return new StatusError(failure(422, "Invalid", message));
}

export function badRequest(message: string): StatusError {
  return new StatusError(failure(400, "BadRequest", message));
}

export function methodNotAllowed(method: string, path: string): StatusError {
  return new StatusError(
    failure(
      405,
      "MethodNotAllowed",
      `the server does not allow this method on the requested resource (${method} ${path})`,
    ),
  );
}

export function unsupportedMediaType(contentType: string): StatusError {
  return new StatusError(
    failure(415, "UnsupportedMediaType", `the body of the request was in an unknown format: ${contentType}`),
  );
}

/** An injected failure: 429 with `Retry-After`, 500 or 503. */
export function injectedFailure(code: 429 | 500 | 503, retryAfterSeconds?: number): StatusError {
  const headers: Record<string, string> =
    retryAfterSeconds === undefined ? {} : { "retry-after": String(retryAfterSeconds) };
  const details = retryAfterSeconds === undefined ? {} : { retryAfterSeconds };
  switch (code) {
    case 429:
      return new StatusError(
        failure(
          429,
          "TooManyRequests",
          "the server has received too many requests and has asked us to try again later",
          details,
        ),
        headers,
      );
    case 500:
      return new StatusError(
        failure(
          500,
          "InternalError",
          'an error on the server ("injected by the test") has prevented the request from succeeding',
        ),
        headers,
      );
    case 503:
      return new StatusError(
        failure(503, "ServiceUnavailable", "the server is currently unable to handle the request", details),
        headers,
      );
  }
}

/** What kube-apiserver answers for a failure of its own: 500 `Internal error occurred: …`. */
export function internalError(message: string): StatusError {
  return new StatusError(
    failure(500, "InternalError", `Internal error occurred: ${message}`, {
      causes: [{ field: "", reason: "", message }],
    }),
  );
}

/**
 * A mutating webhook's refusal, as `webhookerrors.ToStatusErr` builds it: the webhook's own status
 * (its code raised to at least 400), the message prefixed with the webhook's name.
 */
export function webhookDenied(
  webhook: string,
  result: { code?: number; reason?: string; message?: string } | undefined,
): StatusError {
  const deniedBy = `admission webhook ${JSON.stringify(webhook)} denied the request`;
  const code = result?.code !== undefined && result.code >= 400 ? result.code : 400;
  const message =
    result?.message !== undefined && result.message !== ""
      ? `${deniedBy}: ${result.message}`
      : result?.reason !== undefined && result.reason !== ""
        ? `${deniedBy}: ${result.reason}`
        : `${deniedBy} without explanation`;
  return new StatusError(failure(code, result?.reason ?? "", message));
}

/** A delete whose `preconditions` do not hold. */
export function preconditionFailed(resource: FakeResource, name: string, message: string): StatusError {
  return new StatusError(
    failure(
      409,
      "Conflict",
      `Operation cannot be fulfilled on ${qualifiedPlural(resource)} "${name}": ${message}`,
      resourceDetails(resource, name),
    ),
  );
}

export function success(resource: FakeResource, name: string): StatusBody {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Success",
    details: resourceDetails(resource, name),
    code: 200,
  };
}

/** A watch `ERROR` event's object when the requested resourceVersion is older than the history kept. */
export function expired(resourceVersion: string): StatusBody {
  return failure(410, "Expired", `too old resource version: ${resourceVersion}`);
}

/** What the authorizer's refusal looks like: 403 Forbidden, worded as kube-apiserver's `forbidden()`. */
export function forbidden(
  user: string,
  request: {
    readonly verb: string;
    readonly group: string;
    readonly resource: string;
    readonly name?: string;
    readonly namespace?: string;
  },
): StatusError {
  const [resource = "", subresource] = request.resource.split("/");
  const qualified = request.group === "" ? resource : `${resource}.${request.group}`;
  const object = request.name === undefined ? qualified : `${qualified} "${request.name}"`;
  const scope =
    request.namespace === undefined ? "at the cluster scope" : `in the namespace "${request.namespace}"`;
  const fullResource = subresource === undefined ? resource : `${resource}/${subresource}`;
  return new StatusError(
    failure(
      403,
      "Forbidden",
      `${object} is forbidden: User "${user}" cannot ${request.verb} resource "${fullResource}" in API group "${request.group}" ${scope}`,
      {
        ...(request.name === undefined ? {} : { name: request.name }),
        ...(request.group === "" ? {} : { group: request.group }),
        kind: resource,
      },
    ),
  );
}

/** The service proxy's answer when it cannot reach a backend (`error trying to reach service: …`). */
export function serviceUnavailable(message: string): StatusError {
  return new StatusError(failure(503, "ServiceUnavailable", message));
}

/** A bearer token the API server does not know. */
export function unauthorized(): StatusError {
  return new StatusError(failure(401, "Unauthorized", "Unauthorized"));
}
