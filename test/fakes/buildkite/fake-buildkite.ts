/**
 * A fake Buildkite for tests and benchmarks: one fastify HTTP server on 127.0.0.1 that serves the
 * GraphQL API at `/v1` (executed by graphql-js against the real schema, see `graphql.ts`) and the Agent
 * REST API at `/v3` (see `agent-api.ts`, and again at `/edge/v3` for agents that register answers to
 * send elsewhere) with its Stacks API and `GET token` (see `stacks-api.ts`), over one in-memory store.
 * Every call is recorded; the next calls can be made to fail (a status, no answer at all, a reset
 * connection) and every answer can be delayed.
 */
import type { AddressInfo } from "node:net";
import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
import type { JobState } from "../../../launcher/types.ts";
import { type AgentCall, agentOperation, FakeAgentApi } from "./agent-api.ts";
import { FakeGraphql } from "./graphql.ts";
import { FakeStacksApi, stacksOperation } from "./stacks-api.ts";
import { type FakeAgent, type FakeJob, type FakeJobInput, type FakeStack, FakeStore } from "./store.ts";

export type {
  FakeAgent,
  FakeChunk,
  FakeJob,
  FakeJobInput,
  FakeJobType,
  FakeStack,
  FakeStackNotification,
} from "./store.ts";

/** The cluster of the fake's agent token unless told otherwise, with queues `default` (its default) and `kubernetes`. */
export const FAKE_AGENT_TOKEN_CLUSTER = "0190c1a5-0000-4000-8000-00000000c1a5";

export type CallKind = "graphql" | "agent";

export interface FakeCall {
  readonly kind: CallKind;
  /**
   * GraphQL: the operation name. Agent API: the endpoint (`register`, `acquire`, `chunks`…). Stacks API:
   * the name its client prefixes errors with (`register stack`, `list scheduled jobs`, `batch reserve
   * jobs`, `get job`, `get job states`, `finish job`, `create stack notifications`, `deregister stack`),
   * and `token` for `GET token`.
   */
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
  /** The agent token: agents register with it, and the Stacks API and `GET token` want it. */
  readonly registrationToken: string;
  /** The same token as `registrationToken`, by the name the Stacks API gives it. */
  readonly agentToken: string;
  /** From now on only `token` is the agent token (a rotated Secret); the old one gets 401. */
  rotateAgentToken(token: string): void;
  /** The cluster `GET token` names; undefined for an unclustered token. */
  readonly agentTokenCluster: string | undefined;
  readonly org: string;
  /** A job, SCHEDULED, COMMAND, `queue=kubernetes` unless told otherwise. */
  addJob(job?: FakeJobInput): FakeJob;
  job(uuid: string): FakeJob | undefined;
  setState(uuid: string, state: JobState): void;
  /** Creates the cluster (its GraphQL ID is base64 `Cluster---<uuid>`) or adds queues to it. */
  addCluster(
    uuid: string,
    queues: ReadonlyArray<{ key: string; dispatchPaused?: boolean; isDefault?: boolean }>,
  ): void;
  setQueuePaused(clusterUuid: string, key: string, paused: boolean): void;
  /** Stacks as they registered, by key. */
  stack(key: string): FakeStack | undefined;
  readonly stacks: readonly FakeStack[];
  /** The fake's clock (ms since the epoch): reservations expire by it. */
  now(): number;
  /** Moves the fake's clock forward (reservations expire without waiting). */
  advanceTime(ms: number): void;
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
  /**
   * The cluster of the agent token (`FAKE_AGENT_TOKEN_CLUSTER` by default, created with the queues
   * `default` and `kubernetes`); `null` for an unclustered token.
   */
  readonly agentTokenCluster?: string | null;
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
  let registrationToken = options.registrationToken ?? "fake-agent-registration-token";
  const agentTokenCluster =
    options.agentTokenCluster === null ? undefined : (options.agentTokenCluster ?? FAKE_AGENT_TOKEN_CLUSTER);
  let skewMs = 0;
  const now = () => Date.now() + skewMs;
  const store = new FakeStore();
  if (agentTokenCluster !== undefined && !store.clusters.has(agentTokenCluster)) {
    store.addCluster(agentTokenCluster, [{ key: "default", isDefault: true }, { key: "kubernetes" }]);
  }
  const graphql = new FakeGraphql(store, org);
  const calls: FakeCall[] = [];
  const failures: InjectedFailure[] = [];
  const hanging = new Set<() => void>();
  let latencyMs = options.latencyMs ?? 0;
  let base = "";

  const agentApi = new FakeAgentApi(store, {
    registrationToken: () => registrationToken,
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

  const stacksApi = new FakeStacksApi(store, {
    org,
    agentToken: () => registrationToken,
    agentTokenCluster: () => agentTokenCluster,
    now,
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
    store.expireReservations(now());
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
    const stacksCall = stacksOperation(request.method, segments);
    const operation = stacksCall ?? agentOperation(request.method, segments);
    if (await answerFailure(request, reply, "agent", operation)) return;
    store.expireReservations(now());
    const call: AgentCall = {
      method: request.method,
      segments,
      query: url.searchParams,
      headers: request.headers as Record<string, string | undefined>,
      body: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
    };
    const answer = stacksCall === undefined ? agentApi.handle(call) : stacksApi.handle(call);
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
    get registrationToken() {
      return registrationToken;
    },
    get agentToken() {
      return registrationToken;
    },
    rotateAgentToken: (token) => {
      registrationToken = token;
    },
    agentTokenCluster,
    org,
    addJob: (job = {}) => store.addJob(job),
    job: (uuid) => {
      store.expireReservations(now());
      return store.jobs.get(uuid);
    },
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
    stack: (key) => store.stacks.get(key),
    get stacks() {
      return [...store.stacks.values()];
    },
    now,
    advanceTime: (ms) => {
      skewMs += ms;
      store.expireReservations(now());
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
