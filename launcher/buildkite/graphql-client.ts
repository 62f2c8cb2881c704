/**
 * Buildkite's GraphQL API over graphql-request, with upstream's transport rules (controller-runtime.md
 * §4.1): `Authorization: Bearer <buildkite-token>`, a timeout on every request, any status but 200 is an
 * error (`returned error <status>: <body>`), and so is a non-empty `errors` array, even beside data.
 * With `DEBUG` in the environment or `log-http-payloads`, every request and response is logged at debug
 * level with the `Authorization` header shown as `<redacted>`.
 */
import { STATUS_CODES } from "node:http";
import { ClientError, GraphQLClient } from "graphql-request";
import type { Logger } from "../../runtime/logger.ts";
import type { Config } from "../../src/config/types.ts";
import { AgentStackError } from "../../src/errors.ts";

export const DEFAULT_GRAPHQL_ENDPOINT = "https://graphql.buildkite.com/v1";
/** `http-timeout`'s default, and what a timeout of 0 becomes: every external call has a timeout. */
export const DEFAULT_HTTP_TIMEOUT_MS = 60_000;
/** How much of an error response's body goes into the error message. */
const ERROR_BODY_MAX = 1_000;

export type GraphqlVariables = Readonly<Record<string, unknown>>;

/** What the job source needs from a GraphQL client; tests can pass their own. */
export interface GraphqlRequester {
  /** The response's `data`; throws an `AgentStackError` (`ASK_BUILDKITE_GRAPHQL_*`) otherwise. */
  request<T>(document: string, variables: GraphqlVariables, signal: AbortSignal): Promise<T>;
}

export interface GraphqlClientOptions {
  readonly endpoint: string;
  readonly token: string;
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** Log every request and response at debug level (`Authorization` redacted). */
  readonly logPayloads: boolean;
  readonly fetch?: typeof fetch;
}

export class BuildkiteGraphqlClient implements GraphqlRequester {
  readonly #options: GraphqlClientOptions;
  readonly #timeoutMs: number;

  constructor(options: GraphqlClientOptions) {
    this.#options = options;
    this.#timeoutMs = options.timeoutMs > 0 ? options.timeoutMs : DEFAULT_HTTP_TIMEOUT_MS;
  }

  async request<T>(document: string, variables: GraphqlVariables, signal: AbortSignal): Promise<T> {
    const operation = operationName(document);
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    let answered: { status: number; body: string } | undefined;
    const client = new GraphQLClient(this.#options.endpoint, {
      headers: { Authorization: `Bearer ${this.#options.token}` },
      errorPolicy: "all",
      signal: AbortSignal.any([signal, timeout]),
      fetch: async (input, init) => {
        this.#logRequest(operation, init);
        const response = await (this.#options.fetch ?? fetch)(input, init);
        const body = await response.text();
        answered = { status: response.status, body };
        this.#logResponse(operation, response, body);
        return new Response(body, {
          status: response.status,
          statusText: response.statusText,
          headers: response.headers,
        });
      },
    });
    let result: { data: unknown; errors?: ReadonlyArray<{ message: string }> | undefined };
    try {
      result = await client.rawRequest(document, { ...variables });
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (answered === undefined) {
        const reason = timeout.aborted
          ? `no answer within ${this.#timeoutMs / 1000}s (http-timeout)`
          : transportMessage(error);
        throw requestError(operation, reason, error);
      }
      if (answered.status !== 200 || !(error instanceof ClientError)) {
        throw statusError(operation, answered, error);
      }
      result = { data: error.response.data, errors: error.response.errors };
    }
    if (answered !== undefined && answered.status !== 200) throw statusError(operation, answered, undefined);
    if (result.errors !== undefined && result.errors.length > 0) {
      throw new AgentStackError(
        "ASK_BUILDKITE_GRAPHQL_ERRORS",
        `${operation}: ${result.errors.map((error) => error.message).join("; ")}`,
      );
    }
    if (result.data === null || result.data === undefined) {
      throw new AgentStackError("ASK_BUILDKITE_GRAPHQL_RESPONSE", `${operation}: the response has no data`);
    }
    return result.data as T;
  }

  /** As upstream dumps it (`httputil.DumpRequestOut`): the request line, headers and body, as text. */
  #logRequest(operation: string, init: RequestInit | undefined): void {
    if (!this.#options.logPayloads) return;
    const url = new URL(this.#options.endpoint);
    const lines = [`${init?.method ?? "POST"} ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`];
    new Headers(init?.headers).forEach((value, name) => {
      // The token never reaches a log: the header is there, its value is not.
      lines.push(`${canonicalHeader(name)}: ${name === "authorization" ? "<redacted>" : value}`);
    });
    const body = typeof init?.body === "string" ? init.body : "";
    this.#options.logger.debug(
      { operation, request: `${lines.join("\r\n")}\r\n\r\n${body}` },
      "Buildkite GraphQL request",
    );
  }

  #logResponse(operation: string, response: Response, body: string): void {
    if (!this.#options.logPayloads) return;
    const lines = [
      `HTTP/1.1 ${response.status} ${response.statusText || STATUS_CODES[response.status] || ""}`.trim(),
    ];
    response.headers.forEach((value, name) => {
      lines.push(`${canonicalHeader(name)}: ${value}`);
    });
    this.#options.logger.debug(
      { operation, status: response.status, response: `${lines.join("\r\n")}\r\n\r\n${body}` },
      "Buildkite GraphQL response",
    );
  }
}

/** The client the launcher uses: `graphql-endpoint`, `buildkite-token`, `http-timeout`, payload logging. */
export function graphqlClientFromConfig(
  config: Pick<Config, "graphqlEndpoint" | "buildkiteToken" | "httpTimeout" | "logHttpPayloads">,
  logger: Logger,
  env: Readonly<Record<string, string | undefined>> = process.env,
): BuildkiteGraphqlClient {
  return new BuildkiteGraphqlClient({
    endpoint: config.graphqlEndpoint || DEFAULT_GRAPHQL_ENDPOINT,
    token: config.buildkiteToken,
    timeoutMs: config.httpTimeout / 1e6,
    logger,
    // Upstream: `DEBUG` being present, even empty, turns on the dump, apart from the `debug` key.
    logPayloads: config.logHttpPayloads || "DEBUG" in env,
  });
}

function canonicalHeader(name: string): string {
  return name.replace(
    /(^|-)([a-z])/g,
    (_match, dash: string, letter: string) => `${dash}${letter.toUpperCase()}`,
  );
}

function operationName(document: string): string {
  return /\b(?:query|mutation)\s+(\w+)/.exec(document)?.[1] ?? "GraphQL request";
}

function statusError(
  operation: string,
  answered: { status: number; body: string },
  cause: unknown,
): AgentStackError {
  const status = `${answered.status} ${STATUS_CODES[answered.status] ?? ""}`.trim();
  const body =
    answered.body.length > ERROR_BODY_MAX ? `${answered.body.slice(0, ERROR_BODY_MAX)}…` : answered.body;
  const reason =
    answered.status === 200
      ? `the response is not GraphQL JSON: ${body}`
      : `returned error ${status}: ${body}`;
  return requestError(operation, reason, cause);
}

function requestError(operation: string, reason: string, cause: unknown): AgentStackError {
  return new AgentStackError("ASK_BUILDKITE_GRAPHQL_REQUEST", `${operation}: ${reason}`, { cause });
}

function transportMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${cause}`;
}
