/**
 * A fake Buildkite for tests and benchmarks: one fastify HTTP server on 127.0.0.1 that serves the
 * GraphQL API at `/v1` (executed by graphql-js against the real schema, see `graphql.ts`) and the Agent
 * REST API at `/v3` (see `agent-api.ts`, and again at `/edge/v3` for agents that register answers to
 * send elsewhere), over one in-memory store. Every call is recorded; the next calls can be made to fail
 * (a status, no answer at all, a reset connection) and every answer can be delayed.
 */
import type { AddressInfo } from "node:net";
import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
import type { JobState } from "../../../launcher/types.ts";
import { type AgentCall, agentOperation, FakeAgentApi } from "./agent-api.ts";
import { FakeGraphql } from "./graphql.ts";
import { type FakeAgent, type FakeJob, type FakeJobInput, FakeStore } from "./store.ts";

export type { FakeAgent, FakeChunk, FakeJob, FakeJobInput, FakeJobType } from "./store.ts";

export type CallKind = "graphql" | "agent";

export interface FakeCall {
  readonly kind: CallKind;
  /** GraphQL: the operation name. Agent API: the endpoint (`register`, `acquire`, `chunks`…). */
  readonly operation: string;
  /** 0 when no answer was given (an injected timeout or reset). */
  readonly status: number;
  readonly method: string;
  /** Path and query as sent. */
  readonly url: string;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  /** The raw request body. */
  readonly body: Buffer;
  /** GraphQL only. */
  readonly variables?: Readonly<Record<string, unknown>>;
}

/** A status (with a JSON `message`), optionally with `Retry-After`; no answer; or a reset connection. */
export type FakeFailure =
  | number
  | { readonly status: number; readonly retryAfter?: string; readonly message?: string }
  | "timeout"
  | "reset";

export type CallMatcher = (kind: CallKind, operation: string) => boolean;

export interface FakeBuildkite {
  /** `http://127.0.0.1:PORT/v1` */
  readonly graphqlUrl: string;
  /** `http://127.0.0.1:PORT/v3` */
  readonly agentUrl: string;
  readonly apiToken: string;
  readonly registrationToken: string;
  readonly org: string;
  /** A job, SCHEDULED, COMMAND, `queue=kubernetes` unless told otherwise. */
  addJob(job?: FakeJobInput): FakeJob;
  job(uuid: string): FakeJob | undefined;
  setState(uuid: string, state: JobState): void;
  /** Creates the cluster (its GraphQL ID is base64 `Cluster---<uuid>`) or adds queues to it. */
  addCluster(uuid: string, queues: ReadonlyArray<{ key: string; dispatchPaused?: boolean }>): void;
  setQueuePaused(clusterUuid: string, key: string, paused: boolean): void;
  /** Agents in the order they registered. */
  readonly agents: readonly FakeAgent[];
  readonly calls: readonly FakeCall[];
  clearCalls(): void;
  /** The next `count` calls that `match` accepts (all, without it) fail this way, before any effect. */
  failNext(count: number, failure: FakeFailure, match?: CallMatcher): void;
  /** Delay before every answer. */
  setLatency(ms: number): void;
  close(): Promise<void>;
}

export interface FakeBuildkiteOptions {
  readonly org?: string;
  readonly apiToken?: string;
  readonly registrationToken?: string;
  readonly latencyMs?: number;
  /** The `endpoint` that register answers with: the same API (default), `/edge/v3`, or empty. */
  readonly endpointAfterRegister?: "same" | "edge" | "empty";
  /** The address to listen on; 127.0.0.1 unless something outside this machine must reach it. */
  readonly host?: string;
  /** The host name its URLs (and register's `endpoint`) carry: how others reach it. Default: `host`. */
  readonly advertisedHost?: string;
}

interface InjectedFailure {
  remaining: number;
  readonly failure: FakeFailure;
  readonly match: CallMatcher | undefined;
}

const AGENT_PREFIXES = ["/v3/", "/edge/v3/"];

export async function startFakeBuildkite(options: FakeBuildkiteOptions = {}): Promise<FakeBuildkite> {
  const org = options.org ?? "test-org";
  const apiToken = options.apiToken ?? "fake-graphql-api-token";
  const registrationToken = options.registrationToken ?? "fake-agent-registration-token";
  const store = new FakeStore();
  const graphql = new FakeGraphql(store, org);
  const calls: FakeCall[] = [];
  const failures: InjectedFailure[] = [];
  const hanging = new Set<() => void>();
  let latencyMs = options.latencyMs ?? 0;
  let base = "";

  const agentApi = new FakeAgentApi(store, {
    registrationToken,
    agentUrl: () => `${base}/v3`,
    endpointAfterRegister: () => {
      switch (options.endpointAfterRegister ?? "same") {
        case "same":
          return `${base}/v3`;
        case "edge":
          return `${base}/edge/v3`;
        case "empty":
          return "";
      }
    },
  });

  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 10 * 1024 * 1024 });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));

  const takeFailure = (kind: CallKind, operation: string): FakeFailure | undefined => {
    const index = failures.findIndex((entry) => entry.match === undefined || entry.match(kind, operation));
    const entry = failures[index];
    if (entry === undefined) return undefined;
    entry.remaining -= 1;
    if (entry.remaining <= 0) failures.splice(index, 1);
    return entry.failure;
  };

  const record = (request: FastifyRequest, call: Omit<FakeCall, "method" | "url" | "headers" | "body">) => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
    }
    calls.push({
      ...call,
      method: request.method,
      url: request.url,
      headers,
      body: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
    });
  };

  /** Answers with the injected failure; returns false when there is none. */
  const answerFailure = async (
    request: FastifyRequest,
    reply: FastifyReply,
    kind: CallKind,
    operation: string,
    extra: Partial<FakeCall> = {},
  ): Promise<boolean> => {
    const failure = takeFailure(kind, operation);
    if (failure === undefined) return false;
    if (failure === "timeout" || failure === "reset") {
      record(request, { kind, operation, status: 0, ...extra });
      reply.hijack();
      if (failure === "reset") {
        request.raw.socket.destroy();
        return true;
      }
      // No answer until the client gives up or the fake closes.
      await new Promise<void>((resolve) => {
        const done = () => {
          hanging.delete(done);
          resolve();
        };
        hanging.add(done);
        request.raw.socket.once("close", done);
      });
      return true;
    }
    const { status, retryAfter, message } = typeof failure === "number" ? { status: failure } : failure;
    record(request, { kind, operation, status, ...extra });
    await delay(latencyMs);
    if (retryAfter !== undefined) void reply.header("retry-after", retryAfter);
    await reply.code(status).send({ message: message ?? `injected failure ${status}` });
    return true;
  };

  app.post("/v1", async (request, reply) => {
    const parsed = parseGraphqlRequest(request);
    const operation = "query" in parsed ? graphql.operationOf(parsed.query, parsed.operationName) : "invalid";
    const variables = "query" in parsed ? { variables: parsed.variables ?? {} } : {};
    if (await answerFailure(request, reply, "graphql", operation, variables)) return;
    const answer = async (status: number, body: unknown) => {
      record(request, { kind: "graphql", operation, status, ...variables });
      await delay(latencyMs);
      return reply.code(status).send(body);
    };
    if (request.headers.authorization !== `Bearer ${apiToken}`) {
      return answer(401, { message: "Authentication required. Please supply a valid API Access Token" });
    }
    if ("problem" in parsed) return answer(400, { errors: [{ message: parsed.problem }] });
    const outcome = graphql.run(parsed.query, parsed.variables, parsed.operationName);
    return answer(200, outcome.result);
  });

  app.all("/*", async (request, reply) => {
    const url = new URL(request.url, "http://fake");
    const prefix = AGENT_PREFIXES.find((candidate) => url.pathname.startsWith(candidate));
    if (prefix === undefined) return reply.code(404).send({ message: "Not Found" });
    const segments = url.pathname.slice(prefix.length).split("/").map(decodeURIComponent);
    const operation = agentOperation(request.method, segments);
    if (await answerFailure(request, reply, "agent", operation)) return;
    const call: AgentCall = {
      method: request.method,
      segments,
      query: url.searchParams,
      headers: request.headers as Record<string, string | undefined>,
      body: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
    };
    const answer = agentApi.handle(call);
    record(request, { kind: "agent", operation, status: answer.status });
    await delay(latencyMs);
    return reply.code(answer.status).send(answer.body);
  });

  const host = options.host ?? "127.0.0.1";
  await app.listen({ host, port: 0 });
  const { port } = app.server.address() as AddressInfo;
  base = `http://${options.advertisedHost ?? host}:${port}`;

  const requireJob = (uuid: string) => {
    const job = store.jobs.get(uuid);
    if (job === undefined) throw new Error(`fake Buildkite: no job ${uuid}`);
    return job;
  };

  return {
    graphqlUrl: `${base}/v1`,
    agentUrl: `${base}/v3`,
    apiToken,
    registrationToken,
    org,
    addJob: (job = {}) => store.addJob(job),
    job: (uuid) => store.jobs.get(uuid),
    setState: (uuid, state) => {
      requireJob(uuid).state = state;
    },
    addCluster: (uuid, queues) => store.addCluster(uuid, queues),
    setQueuePaused: (clusterUuid, key, paused) => {
      const queue = store.clusters.get(clusterUuid)?.get(key);
      if (queue === undefined) throw new Error(`fake Buildkite: no queue ${key} in cluster ${clusterUuid}`);
      queue.dispatchPaused = paused;
    },
    get agents() {
      return [...store.agents.values()];
    },
    calls,
    clearCalls: () => {
      calls.length = 0;
    },
    failNext: (count, failure, match) => {
      if (!Number.isInteger(count) || count < 1)
        throw new Error("failNext: count must be a positive integer");
      failures.push({ remaining: count, failure, match });
    },
    setLatency: (ms) => {
      latencyMs = ms;
    },
    close: async () => {
      for (const release of [...hanging]) release();
      await app.close();
    },
  };
}

type ParsedGraphqlRequest =
  | { query: string; variables: Record<string, unknown> | undefined; operationName: string | undefined }
  | { problem: string };

/** GraphQL over HTTP: a JSON body `{"query", "variables", "operationName"}`. */
function parseGraphqlRequest(request: FastifyRequest): ParsedGraphqlRequest {
  if (!/^application\/json\b/.test(request.headers["content-type"] ?? "")) {
    return { problem: "expected Content-Type application/json" };
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.isBuffer(request.body) ? request.body.toString("utf8") : "");
  } catch {
    return { problem: "the body is not valid JSON" };
  }
  if (typeof body !== "object" || body === null) return { problem: "the body must be a JSON object" };
  const { query, variables, operationName } = body as Record<string, unknown>;
  if (typeof query !== "string") return { problem: "query must be a string" };
  if (
    variables !== undefined &&
    variables !== null &&
    (typeof variables !== "object" || Array.isArray(variables))
  ) {
    return { problem: "variables must be an object" };
  }
  if (operationName !== undefined && operationName !== null && typeof operationName !== "string") {
    return { problem: "operationName must be a string" };
  }
  return {
    query,
    variables: (variables ?? undefined) as Record<string, unknown> | undefined,
    operationName: operationName ?? undefined,
  };
}

function delay(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}
