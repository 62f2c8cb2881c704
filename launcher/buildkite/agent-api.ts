/**
 * Buildkite's Agent REST API, with the HTTP conventions of the agent library upstream v0.26.0 links
 * (v3.93.1, controller-runtime.md §3.1): URLs joined and path parameters "rails-escaped", the
 * `Authorization: Token …` and `User-Agent` headers, JSON bodies as Go's encoder writes them, a timeout on
 * every request, and errors that say which call failed and whether it is worth retrying.
 *
 * HTTP/2: upstream passes `agent-config.no-http2` to its throw-away agent inverted (quirk Q6). Node's
 * fetch speaks HTTP/1.1 only, so no HTTP/2 is ever negotiated and nothing is inverted here.
 */
import { STATUS_CODES } from "node:http";
import { AgentStackError } from "../../src/errors.ts";
import { type RetryClock, SYSTEM_RETRY_CLOCK } from "./retry.ts";

export const DEFAULT_AGENT_ENDPOINT = "https://agent.buildkite.com/v3";
/** The agent library's HTTP client timeout. */
export const AGENT_HTTP_TIMEOUT_MS = 60_000;

/** Statuses the agent library retries (`IsRetryableStatus`). */
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);

/**
 * Node's names for the transport errors the agent library retries: connection refused or reset, timed
 * out, no such host, the other side closing early (Go's `EOF` / `unexpected EOF`).
 */
const RETRYABLE_TRANSPORT_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

/** A failed Agent API call: an answer outside 200–299, or none at all. */
export class AgentApiError extends AgentStackError {
  readonly method: string;
  readonly url: string;
  /** What went wrong, without the method and URL: `404 Not Found: No job found`, `no answer within 60s`. */
  readonly detail: string;
  /** Undefined when no answer came (transport error or timeout). */
  readonly status: number | undefined;
  /** The `message` of the server's JSON error body. */
  readonly serverMessage: string | undefined;
  /** From `Retry-After`, a number of seconds. */
  readonly retryAfterMs: number | undefined;
  /** Without an answer: a timeout or a connection error the agent library retries. */
  readonly retryableTransport: boolean;

  constructor(fields: {
    method: string;
    url: string;
    detail: string;
    status?: number;
    serverMessage?: string;
    retryAfterMs?: number;
    retryableTransport?: boolean;
    cause?: unknown;
  }) {
    super("ASK_BUILDKITE_AGENT_API", `${fields.method} ${fields.url}: ${fields.detail}`, {
      cause: fields.cause,
    });
    this.name = "AgentApiError";
    this.method = fields.method;
    this.url = fields.url;
    this.detail = fields.detail;
    this.status = fields.status;
    this.serverMessage = fields.serverMessage;
    this.retryAfterMs = fields.retryAfterMs;
    this.retryableTransport = fields.retryableTransport ?? false;
  }

  /** What the agent library retries: 429, 500, 502, 503, 504, timeouts and dropped connections. */
  get retryable(): boolean {
    return this.status === undefined ? this.retryableTransport : RETRYABLE_STATUSES.has(this.status);
  }
}

export function isAgentApiError(error: unknown, status?: number): error is AgentApiError {
  return error instanceof AgentApiError && (status === undefined || error.status === status);
}

export interface AgentRequest {
  readonly method: "GET" | "POST" | "PUT";
  /** Relative to the endpoint; path parameters already escaped with `railsPathEscape`. */
  readonly path: string;
  /** A JSON body, sent as Go's encoder writes it. Without `json` or `body`, no body and no Content-Type. */
  readonly json?: unknown;
  readonly body?: Uint8Array;
  readonly headers?: Readonly<Record<string, string>>;
  /** When the call's budget ends (ms since the epoch): the request's timeout never outlasts it. */
  readonly deadline?: number;
  /** Tell Buildkite the time left (`Buildkite-Timeout-Milliseconds`), as JSON-style calls with a deadline do. */
  readonly announceDeadline?: boolean;
}

export interface AgentResponse {
  readonly status: number;
  /** The JSON body, or undefined when it is empty or not JSON. */
  readonly body: unknown;
  /** `Retry-After` of a successful answer too: a server may ask a poller to slow down. */
  readonly retryAfterMs?: number;
}

export interface AgentApiClientOptions {
  readonly endpoint?: string;
  readonly token: string;
  /** `agent-stack-k8s/<version>`. */
  readonly userAgent: string;
  readonly timeoutMs?: number;
  readonly clock?: RetryClock;
  readonly fetch?: typeof fetch;
}

export class AgentApiClient {
  readonly #options: AgentApiClientOptions;
  readonly endpoint: string;

  constructor(options: AgentApiClientOptions) {
    this.#options = options;
    this.endpoint = options.endpoint || DEFAULT_AGENT_ENDPOINT;
  }

  /** The same client with another token (the access token after register) or endpoint. */
  with(changes: { readonly token?: string; readonly endpoint?: string }): AgentApiClient {
    return new AgentApiClient({
      ...this.#options,
      token: changes.token ?? this.#options.token,
      endpoint: changes.endpoint || this.endpoint,
    });
  }

  async send(request: AgentRequest, signal: AbortSignal): Promise<AgentResponse> {
    if (this.#options.token === "") {
      throw new AgentStackError("ASK_BUILDKITE_AGENT_TOKEN_EMPTY", "Invalid token, empty string supplied");
    }
    const clock = this.#options.clock ?? SYSTEM_RETRY_CLOCK;
    const url = joinAgentUrl(this.endpoint, request.path);
    const headers: Record<string, string> = {
      Authorization: `Token ${this.#options.token}`,
      "User-Agent": this.#options.userAgent,
      ...request.headers,
    };
    let timeoutMs = this.#options.timeoutMs ?? AGENT_HTTP_TIMEOUT_MS;
    if (request.deadline !== undefined) {
      const remaining = Math.max(0, Math.floor(request.deadline - clock.now()));
      if (request.announceDeadline) headers["Buildkite-Timeout-Milliseconds"] = String(remaining);
      timeoutMs = Math.min(timeoutMs, remaining);
    }
    let body: string | Uint8Array | undefined = request.body;
    if (request.json !== undefined) {
      body = goJson(request.json);
      headers["Content-Type"] = "application/json";
    }
    const timeout = AbortSignal.timeout(Math.max(1, timeoutMs));
    let response: Response;
    let text: string;
    try {
      response = await (this.#options.fetch ?? fetch)(url, {
        method: request.method,
        headers,
        // Without a body, fetch sends `Content-Length: 0` and no Content-Type, as the agent library does.
        body,
        signal: AbortSignal.any([signal, timeout]),
      });
      text = await response.text();
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      const timedOut = timeout.aborted;
      throw new AgentApiError({
        method: request.method,
        url,
        detail: timedOut ? `no answer within ${timeoutMs / 1000}s` : transportMessage(error),
        retryableTransport: timedOut || RETRYABLE_TRANSPORT_CODES.has(transportCode(error) ?? ""),
        cause: error,
      });
    }
    const parsed = parseJson(text);
    if (response.status < 200 || response.status > 299) {
      const serverMessage = messageOf(parsed);
      const statusText =
        `${response.status} ${response.statusText || STATUS_CODES[response.status] || ""}`.trim();
      const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
      throw new AgentApiError({
        method: request.method,
        url,
        detail: serverMessage === undefined ? statusText : `${statusText}: ${serverMessage}`,
        status: response.status,
        ...(serverMessage === undefined ? {} : { serverMessage }),
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    }
    const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
    return retryAfterMs === undefined
      ? { status: response.status, body: parsed }
      : { status: response.status, body: parsed, retryAfterMs };
  }
}

/**
 * The base URL without its trailing `/`, a `/`, and the path without its leading `/` (the agent
 * library's rule: a base URL's own path is kept, unlike `new URL(path, base)`).
 */
export function joinAgentUrl(endpoint: string, path: string): string {
  return `${endpoint.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
}

/**
 * A path parameter as the agent library escapes it: Go's `url.PathEscape`, then every `.` as `%2E`
 * ("rails escaping": Rails would otherwise read `.json` at the end of an id as a format).
 */
export function railsPathEscape(value: string): string {
  let escaped = "";
  for (const byte of new TextEncoder().encode(value)) {
    const char = String.fromCharCode(byte);
    escaped += PATH_SEGMENT_SAFE.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return escaped.replaceAll(".", "%2E");
}

/** What Go's `url.PathEscape` leaves alone: unreserved characters and `: @ & = + $`. */
const PATH_SEGMENT_SAFE = /^[A-Za-z0-9\-_.~:@&=+$]$/;

/**
 * JSON as Go's `json.Encoder` writes it: `<`, `>`, `&`, U+2028 and U+2029 escaped, and a trailing
 * newline. Leaving out empty `omitempty` fields is up to the caller (see `omitEmpty`).
 */
export function goJson(value: unknown): string {
  return `${JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`)}\n`;
}

/** Drops the named fields whose value is Go's zero value (`""`, `0`, `false`, empty list), as `omitempty` does. */
export function omitEmpty<T extends Record<string, unknown>>(
  value: T,
  keys: ReadonlyArray<keyof T>,
): Partial<T> {
  const result: Partial<T> = {};
  for (const [key, field] of Object.entries(value) as Array<[keyof T, T[keyof T]]>) {
    const empty =
      field === "" ||
      field === 0 ||
      field === false ||
      field === undefined ||
      field === null ||
      (Array.isArray(field) && field.length === 0);
    if (!(empty && keys.includes(key))) result[key] = field;
  }
  return result;
}

/** `time.RFC3339Nano` in UTC: the fraction's trailing zeros dropped, and the fraction too when it is 0. */
export function rfc3339Nano(ms: number): string {
  return new Date(ms).toISOString().replace(/\.?0+Z$/, "Z");
}

/** `Retry-After` as the agent library reads it: a number of seconds (`<value>s` as a Go duration). */
export function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || !/^\+?(\d+\.?\d*|\.\d+)$/.test(value.trim())) return undefined;
  return Number(value.trim()) * 1000;
}

function parseJson(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function messageOf(body: unknown): string | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const message = (body as Record<string, unknown>).message;
  return typeof message === "string" && message !== "" ? message : undefined;
}

function transportCode(error: unknown): string | undefined {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    const code = (current as Error & { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

function transportMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${cause}`;
}
