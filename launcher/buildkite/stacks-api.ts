/**
 * Buildkite's Stacks API, the agent-token-only job source of upstream HEAD (controller-runtime.md §8,
 * §8.1), and `GET token`, which says what the agent token is. Every call:
 *
 * - goes to `agent-config.endpoint` (default `https://agent.buildkite.com/v3`) through the Agent REST
 *   API's HTTP client (`agent-api.ts`), with `Authorization: Token <agent token>`, `User-Agent:
 *   agent-stack-k8s/<version> stackspi/v1.0.0` (`buildkite/agent-stack-k8s <version>` for `GET token`,
 *   which upstream makes with the agent library), `Accept` and `Content-Type: application/json`, and a
 *   timeout (`http-timeout`);
 * - reads the token from the provider (the `agent-token-secret` Secret); a 401 makes it read the Secret
 *   again, and the call is sent once more if the token changed (a rotated Secret);
 * - retries as upstream's client does: register, get states, finish and `GET token` up to 5 attempts
 *   (ExponentialSubsecond(1 s) plus 0.5–1 s of jitter), 5xx, 429 and transport errors only, each
 *   `Retry-After` honoured; the other calls once, their caller deciding what comes next;
 * - fails with a `StacksApiError` worded `<call>: <METHOD> <URL>: <status> <message>`. The token is in
 *   no URL, log line or message.
 */
import { STATUS_CODES } from "node:http";
import type { Logger } from "../../runtime/logger.ts";
import type { Config } from "../../src/config/types.ts";
import { AgentStackError } from "../../src/errors.ts";
import {
  AgentApiClient,
  AgentApiError,
  type AgentRequest,
  type AgentResponse,
  railsPathEscape,
  rfc3339Nano,
} from "./agent-api.ts";
import type { AgentTokenProvider } from "./job-failer.ts";
import {
  constantBackoff,
  exponentialSubsecondBackoff,
  type RetryClock,
  type RetryPolicy,
  retry,
  SYSTEM_RETRY_CLOCK,
  withJitter,
} from "./retry.ts";

/** Upstream's client library names itself so (sic) in the User-Agent, after the controller's part. */
const LIBRARY_USER_AGENT = "stackspi/v1.0.0";

/** The calls, named as upstream prefixes their errors. */
export type StacksCall =
  | "get token"
  | "register stack"
  | "deregister stack"
  | "list scheduled jobs"
  | "batch reserve jobs"
  | "get job"
  | "get job states"
  | "finish job"
  | "create stack notifications";

/** Upstream's default retries: 5 attempts, ExponentialSubsecond(1 s), jitter 0.5–1 s. */
export const STACKS_DEFAULT_RETRY: RetryPolicy = {
  attempts: 5,
  backoff: withJitter(exponentialSubsecondBackoff(1_000), 500, 1_000),
};
const SINGLE_ATTEMPT: RetryPolicy = { attempts: 1, backoff: constantBackoff(0) };

const RETRIES: Readonly<Record<StacksCall, RetryPolicy>> = {
  "get token": STACKS_DEFAULT_RETRY,
  "register stack": STACKS_DEFAULT_RETRY,
  "get job states": STACKS_DEFAULT_RETRY,
  "finish job": STACKS_DEFAULT_RETRY,
  // Once: the poll loop, the job details' own budget, the next reserve or the batcher decide.
  "deregister stack": SINGLE_ATTEMPT,
  "list scheduled jobs": SINGLE_ATTEMPT,
  "batch reserve jobs": SINGLE_ATTEMPT,
  "get job": SINGLE_ATTEMPT,
  "create stack notifications": SINGLE_ATTEMPT,
};

/** `finish`'s `detail` is cut to 4096 bytes with this at its end, as upstream cuts it. */
export const FINISH_DETAIL_MAX_BYTES = 4096;
export const FINISH_CROPPED_SUFFIX = "… (Message was cropped because it exceeded the max size)";
/** A notification's `detail` is cut to 255 bytes with this at its end. */
export const NOTIFICATION_DETAIL_MAX_BYTES = 255;
export const NOTIFICATION_CROPPED_SUFFIX = "… (cropped)";
/** The most uuids or notifications one request carries. */
export const STACKS_BATCH_SIZE = 1000;

/** A failed call: an answer outside 2xx, or none at all. */
export class StacksApiError extends AgentStackError {
  readonly call: StacksCall;
  readonly method: string;
  readonly url: string;
  /** Undefined when no answer came. */
  readonly status: number | undefined;
  /** The `message` of the `{"message"}` error body. */
  readonly serverMessage: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(call: StacksCall, error: AgentApiError) {
    const detail =
      error.status === undefined
        ? error.detail
        : `${error.status} ${error.serverMessage ?? STATUS_CODES[error.status] ?? ""}`.trim();
    super("ASK_BUILDKITE_STACKS_API", `${call}: ${error.method} ${error.url}: ${detail}`, { cause: error });
    this.name = "StacksApiError";
    this.call = call;
    this.method = error.method;
    this.url = error.url;
    this.status = error.status;
    this.serverMessage = error.serverMessage;
    this.retryAfterMs = error.retryAfterMs;
  }

  /** What upstream retries: 5xx, 429, and no answer at all (a timeout, a connection failure). */
  get retryable(): boolean {
    return this.status === undefined || this.status >= 500 || this.status === 429;
  }

  /** Upstream's "permanent" error: a 4xx other than 429, which asking again will not change. */
  get permanent(): boolean {
    return this.status !== undefined && this.status >= 400 && this.status < 500 && this.status !== 429;
  }
}

export function isStacksApiError(error: unknown, status?: number): error is StacksApiError {
  return error instanceof StacksApiError && (status === undefined || error.status === status);
}

/** `GET token`: what the agent token is. */
export interface AgentTokenInfo {
  readonly uuid: string;
  readonly description: string;
  readonly tokenType: string;
  readonly organizationSlug: string;
  readonly organizationUuid: string;
  /** Undefined for an unclustered token. */
  readonly clusterUuid: string | undefined;
  readonly clusterName: string | undefined;
}

/** `POST stacks/register`'s answer. */
export interface StackRegistration {
  readonly id: string;
  readonly key: string;
  readonly type: string;
  readonly organizationUuid: string;
  /** The queue the stack was registered for, resolved (`_default` becomes the default queue's key). */
  readonly clusterQueueKey: string;
  readonly state: string;
}

export interface StackScheduledJob {
  readonly id: string;
  readonly priority: number;
  readonly agentQueryRules: readonly string[];
  /** As sent (RFC 3339), or undefined. */
  readonly scheduledAt: string | undefined;
  readonly pipeline: { readonly slug: string; readonly uuid: string };
  readonly build: { readonly uuid: string; readonly number: number; readonly branch: string };
  readonly stepKey: string | undefined;
}

export interface ScheduledJobsPage {
  readonly jobs: readonly StackScheduledJob[];
  readonly clusterQueue: { readonly id: string; readonly paused: boolean };
  readonly hasNextPage: boolean;
  /** Where the next page starts (`after`); undefined when the answer gave none. */
  readonly endCursor: string | undefined;
  /** The server asked for the next poll to wait this long. */
  readonly retryAfterMs: number | undefined;
}

export interface BatchReserveResult {
  readonly reserved: readonly string[];
  readonly notReserved: readonly string[];
}

/** `GET stacks/{key}/jobs/{uuid}`: what the job runs. */
export interface StackJobDetails {
  readonly id: string;
  readonly env: Readonly<Record<string, string>>;
  readonly command: string;
}

export interface StackNotification {
  readonly jobUuid: string;
  readonly detail: string;
  /** Milliseconds since the epoch. */
  readonly at: number;
}

/** One entry of `create stack notifications`' `errors`: what was wrong with the notifications at `indexes`. */
export interface NotificationError {
  readonly error: string;
  readonly indexes: readonly number[];
}

export interface StacksApiClientOptions {
  /** `agent-config.endpoint`; Buildkite's default when empty. */
  readonly endpoint?: string;
  readonly tokenProvider: AgentTokenProvider;
  /** The controller's version: `User-Agent: agent-stack-k8s/<version> stackspi/v1.0.0`. */
  readonly version: string;
  /** Each request's timeout (`http-timeout`); 60 s when absent or 0. */
  readonly timeoutMs?: number;
  readonly logger: Logger;
  readonly clock?: RetryClock;
  readonly fetch?: typeof fetch;
}

interface CallRequest {
  readonly method: "GET" | "POST" | "PUT";
  readonly path: string;
  readonly json?: unknown;
  readonly userAgent?: string;
}

const DEFAULT_TIMEOUT_MS = 60_000;

export class StacksApiClient {
  readonly #options: StacksApiClientOptions;
  readonly #clock: RetryClock;
  readonly #userAgent: string;

  constructor(options: StacksApiClientOptions) {
    this.#options = options;
    this.#clock = options.clock ?? SYSTEM_RETRY_CLOCK;
    this.#userAgent = `agent-stack-k8s/${options.version} ${LIBRARY_USER_AGENT}`;
  }

  /** `GET token`. */
  async tokenInfo(signal: AbortSignal): Promise<AgentTokenInfo> {
    const userAgent = `buildkite/agent-stack-k8s ${this.#options.version}`;
    const { body } = await this.#call("get token", { method: "GET", path: "token", userAgent }, signal);
    const fields = object(body, "get token");
    return {
      uuid: text(fields.uuid),
      description: text(fields.description),
      tokenType: text(fields.token_type),
      organizationSlug: text(fields.organization_slug),
      organizationUuid: text(fields.organization_uuid),
      clusterUuid: text(fields.cluster_uuid) || undefined,
      clusterName: text(fields.cluster_name) || undefined,
    };
  }

  /** `POST stacks/register` with `type: kubernetes`. */
  async registerStack(
    stack: { readonly key: string; readonly queueKey: string; readonly metadata?: Record<string, string> },
    signal: AbortSignal,
  ): Promise<StackRegistration> {
    const json = {
      key: stack.key,
      type: "kubernetes",
      queue_key: stack.queueKey,
      metadata: stack.metadata ?? {},
    };
    const { body } = await this.#call(
      "register stack",
      { method: "POST", path: "stacks/register", json },
      signal,
    );
    const fields = object(body, "register stack");
    const clusterQueueKey = text(fields.cluster_queue_key);
    if (clusterQueueKey === "") {
      throw responseError("register stack", "the answer has no cluster_queue_key to poll");
    }
    return {
      id: text(fields.id),
      key: text(fields.key) || stack.key,
      type: text(fields.type),
      organizationUuid: text(fields.organization_uuid),
      clusterQueueKey,
      state: text(fields.state),
    };
  }

  /** `POST stacks/{key}/deregister`. */
  async deregisterStack(key: string, signal: AbortSignal): Promise<void> {
    await this.#call("deregister stack", { method: "POST", path: `${stackPath(key)}/deregister` }, signal);
  }

  /** One page of `GET stacks/{key}/scheduled-jobs`. */
  async listScheduledJobs(
    key: string,
    query: { readonly queueKey: string; readonly limit: number; readonly after?: string },
    signal: AbortSignal,
  ): Promise<ScheduledJobsPage> {
    const params = new URLSearchParams({ queue_key: query.queueKey, limit: String(query.limit) });
    if (query.after !== undefined && query.after !== "") params.set("after", query.after);
    const path = `${stackPath(key)}/scheduled-jobs?${params}`;
    const response = await this.#call("list scheduled jobs", { method: "GET", path }, signal);
    const fields = object(response.body, "list scheduled jobs");
    if (!Array.isArray(fields.jobs))
      throw responseError("list scheduled jobs", "the answer has no jobs list");
    const queue = objectOrEmpty(fields.cluster_queue);
    const pageInfo = objectOrEmpty(fields.page_info);
    return {
      jobs: fields.jobs.map(scheduledJob),
      clusterQueue: { id: text(queue.id), paused: queue.paused === true },
      hasNextPage: pageInfo.has_next_page === true,
      endCursor: text(pageInfo.end_cursor) || undefined,
      retryAfterMs: response.retryAfterMs,
    };
  }

  /** `PUT stacks/{key}/scheduled-jobs/batch-reserve`; `expirySeconds` 0 leaves the server's default. */
  async batchReserve(
    key: string,
    uuids: readonly string[],
    expirySeconds: number,
    signal: AbortSignal,
  ): Promise<BatchReserveResult> {
    const json =
      expirySeconds > 0
        ? { job_uuids: uuids, reservation_expiry_seconds: expirySeconds }
        : { job_uuids: uuids };
    const path = `${stackPath(key)}/scheduled-jobs/batch-reserve`;
    const { body } = await this.#call("batch reserve jobs", { method: "PUT", path, json }, signal);
    const fields = object(body, "batch reserve jobs");
    return { reserved: strings(fields.reserved), notReserved: strings(fields.not_reserved) };
  }

  /** `GET stacks/{key}/jobs/{uuid}`. */
  async getJob(key: string, uuid: string, signal: AbortSignal): Promise<StackJobDetails> {
    const path = `${stackPath(key)}/jobs/${railsPathEscape(uuid)}`;
    const { body } = await this.#call("get job", { method: "GET", path }, signal);
    const fields = object(body, "get job");
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(objectOrEmpty(fields.env))) {
      if (typeof value !== "string") {
        throw responseError("get job", `job ${uuid}: env ${JSON.stringify(name)} is not a string`);
      }
      env[name] = value;
    }
    if (fields.command !== undefined && fields.command !== null && typeof fields.command !== "string") {
      throw responseError("get job", `job ${uuid}: command is not a string`);
    }
    return { id: text(fields.id) || uuid, env, command: text(fields.command) };
  }

  /** `POST stacks/{key}/jobs/{uuid}/finish` with exit status -1; the detail is cropped as upstream crops it. */
  async finishJob(key: string, uuid: string, detail: string, signal: AbortSignal): Promise<void> {
    const json = {
      exit_status: -1,
      detail: cropUtf8(detail, FINISH_DETAIL_MAX_BYTES, FINISH_CROPPED_SUFFIX),
    };
    const path = `${stackPath(key)}/jobs/${railsPathEscape(uuid)}/finish`;
    await this.#call("finish job", { method: "POST", path, json }, signal);
  }

  /**
   * `POST stacks/{key}/jobs/get-states` for at most `STACKS_BATCH_SIZE` uuids: their states as sent
   * (lower-case); a job Buildkite does not know is missing from the map.
   */
  async getJobStates(
    key: string,
    uuids: readonly string[],
    signal: AbortSignal,
  ): Promise<Map<string, string>> {
    const json = { job_uuids: uuids };
    const path = `${stackPath(key)}/jobs/get-states`;
    const { body } = await this.#call("get job states", { method: "POST", path, json }, signal);
    const states = object(body, "get job states").states;
    if (typeof states !== "object" || states === null || Array.isArray(states)) {
      throw responseError("get job states", "the answer has no states map");
    }
    const result = new Map<string, string>();
    for (const [uuid, state] of Object.entries(states))
      if (typeof state === "string") result.set(uuid, state);
    return result;
  }

  /**
   * `POST stacks/{key}/notifications` for at most `STACKS_BATCH_SIZE` notifications, each detail cropped
   * to 255 bytes; what Buildkite refused comes back as `errors`.
   */
  async createNotifications(
    key: string,
    notifications: readonly StackNotification[],
    signal: AbortSignal,
  ): Promise<NotificationError[]> {
    const json = {
      notifications: notifications.map((notification) => ({
        job_uuid: notification.jobUuid,
        detail: cropUtf8(notification.detail, NOTIFICATION_DETAIL_MAX_BYTES, NOTIFICATION_CROPPED_SUFFIX),
        timestamp: rfc3339Nano(notification.at),
      })),
    };
    const path = `${stackPath(key)}/notifications`;
    const { body } = await this.#call("create stack notifications", { method: "POST", path, json }, signal);
    const errors = objectOrEmpty(body).errors;
    if (!Array.isArray(errors)) return [];
    return errors.map((entry) => {
      const fields = objectOrEmpty(entry);
      const indexes = Array.isArray(fields.indexes)
        ? fields.indexes.filter((index): index is number => Number.isInteger(index))
        : [];
      return { error: text(fields.error), indexes };
    });
  }

  async #call(call: StacksCall, request: CallRequest, signal: AbortSignal): Promise<AgentResponse> {
    const policy = RETRIES[call];
    return retry(policy, this.#clock, signal, async (attempt) => {
      try {
        return await this.#send(call, request, signal);
      } catch (error) {
        if (!(error instanceof StacksApiError) || !error.retryable) attempt.stop();
        else if (error.retryAfterMs !== undefined) attempt.retryAfter(error.retryAfterMs);
        if (policy.attempts > 1) {
          this.#options.logger.debug(
            { call, attempt: attempt.index + 1, attempts: policy.attempts, err: (error as Error).message },
            "Stacks API call failed",
          );
        }
        throw error;
      }
    });
  }

  /** One request; after a 401 the token is read again, and the request sent again if it changed. */
  async #send(call: StacksCall, request: CallRequest, signal: AbortSignal): Promise<AgentResponse> {
    const provider = this.#options.tokenProvider;
    const token = await provider(signal);
    try {
      return await this.#sendWith(token, request, signal);
    } catch (error) {
      if (!(error instanceof AgentApiError)) throw error;
      if (error.status === 401 && provider.invalidate !== undefined) {
        provider.invalidate();
        const fresh = await provider(signal);
        if (fresh !== token) {
          this.#options.logger.info(
            { call },
            "the agent token was refused; retrying with the token read again",
          );
          try {
            return await this.#sendWith(fresh, request, signal);
          } catch (retried) {
            throw retried instanceof AgentApiError ? new StacksApiError(call, retried) : retried;
          }
        }
      }
      throw new StacksApiError(call, error);
    }
  }

  async #sendWith(token: string, request: CallRequest, signal: AbortSignal): Promise<AgentResponse> {
    const client = new AgentApiClient({
      token,
      userAgent: request.userAgent ?? this.#userAgent,
      clock: this.#clock,
      timeoutMs: this.#options.timeoutMs || DEFAULT_TIMEOUT_MS,
      ...(this.#options.endpoint ? { endpoint: this.#options.endpoint } : {}),
      ...(this.#options.fetch === undefined ? {} : { fetch: this.#options.fetch }),
    });
    const started = this.#clock.now();
    const agentRequest: AgentRequest = {
      method: request.method,
      path: request.path,
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      ...(request.json === undefined ? {} : { json: request.json }),
    };
    try {
      const response = await client.send(agentRequest, signal);
      this.#logRequest(request, response.status, started);
      return response;
    } catch (error) {
      this.#logRequest(request, error instanceof AgentApiError ? (error.status ?? 0) : 0, started);
      throw error;
    }
  }

  #logRequest(request: CallRequest, status: number, started: number): void {
    this.#options.logger.debug(
      {
        method: request.method,
        path: request.path.replace(/\?.*$/, ""),
        status,
        ms: this.#clock.now() - started,
      },
      "Stacks API request",
    );
  }
}

/** The client the launcher uses: `agent-config.endpoint`, `http-timeout`, the agent token's provider. */
export function stacksClientFromConfig(
  config: Pick<Config, "agentConfig" | "httpTimeout">,
  options: Pick<StacksApiClientOptions, "tokenProvider" | "version" | "logger">,
): StacksApiClient {
  const endpoint = config.agentConfig?.endpoint;
  return new StacksApiClient({
    ...options,
    timeoutMs: config.httpTimeout / 1e6,
    ...(endpoint ? { endpoint } : {}),
  });
}

/**
 * `text` cut to at most `maxBytes` bytes of UTF-8 with `suffix` at its end, as upstream cuts it: when
 * the text is longer than `maxBytes` minus the suffix, it keeps that many bytes (backing off to a
 * character boundary, so no character is split) and adds the suffix.
 */
export function cropUtf8(text: string, maxBytes: number, suffix: string): string {
  const keep = maxBytes - Buffer.byteLength(suffix, "utf8");
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= keep) return text;
  let cut = keep;
  // A continuation byte (10xxxxxx) is the middle of a character.
  while (cut > 0 && ((bytes[cut] ?? 0) & 0xc0) === 0x80) cut -= 1;
  return `${bytes.subarray(0, cut).toString("utf8")}${suffix}`;
}

function stackPath(key: string): string {
  return `stacks/${railsPathEscape(key)}`;
}

function scheduledJob(value: unknown): StackScheduledJob {
  const fields = objectOrEmpty(value);
  const pipeline = objectOrEmpty(fields.pipeline);
  const build = objectOrEmpty(fields.build);
  const step = objectOrEmpty(fields.step);
  return {
    id: text(fields.id),
    priority: Number.isInteger(fields.priority) ? (fields.priority as number) : 0,
    agentQueryRules: strings(fields.agent_query_rules),
    scheduledAt: text(fields.scheduled_at) || undefined,
    pipeline: { slug: text(pipeline.slug), uuid: text(pipeline.uuid) },
    build: {
      uuid: text(build.uuid),
      number: Number.isInteger(build.number) ? (build.number as number) : 0,
      branch: text(build.branch),
    },
    stepKey: text(step.key) || undefined,
  };
}

function object(value: unknown, call: StacksCall): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw responseError(call, "the answer is not a JSON object");
  }
  return value as Record<string, unknown>;
}

function objectOrEmpty(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/** Go's decoder leaves a missing or null string empty. */
function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === "string") : [];
}

function responseError(call: StacksCall, message: string): AgentStackError {
  return new AgentStackError("ASK_BUILDKITE_STACKS_RESPONSE", `${call}: ${message}`);
}
