/**
 * The fake's Agent REST API face (controller-runtime.md §3), with the checks Buildkite makes: the
 * registration token only registers and an agent's access token does the rest (401 otherwise); JSON
 * where JSON is expected; an acquire only of a SCHEDULED job whose rules the agent's tags satisfy (422
 * otherwise; a job a stack RESERVED can be acquired too); start, log chunks and finish only by the agent
 * that acquired the job, in that order; a chunk's body valid gzip whose size matches `size`;
 * `exit_status` a string.
 */
import { gunzipSync } from "node:zlib";
import { agentMatchesJob, type FakeStore, type StoredAgent, type StoredJob } from "./store.ts";

export interface AgentCall {
  readonly method: string;
  /** The path below the API's base (`register`, `jobs/<id>/acquire`), its segments decoded. */
  readonly segments: readonly string[];
  readonly query: URLSearchParams;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Buffer;
}

export interface AgentAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** The name of the endpoint a path calls: the call log's `operation`. */
export function agentOperation(method: string, segments: readonly string[]): string {
  const [first, , third] = segments;
  if (segments.length === 1 && first !== undefined) return first;
  if (first === "jobs" && segments.length === 3 && third !== undefined) return third;
  if (first === "jobs" && segments.length === 2) return method === "GET" ? "job" : "update-job";
  return segments.join("/") || "root";
}

export interface FakeAgentApiOptions {
  /** The agent (registration) token in force; it can be rotated. */
  readonly registrationToken: () => string;
  /** What `endpoint` register answers with. */
  readonly endpointAfterRegister: () => string;
  /** Where acquired jobs say they live. */
  readonly agentUrl: () => string;
}

export class FakeAgentApi {
  readonly #store: FakeStore;
  readonly #options: FakeAgentApiOptions;

  constructor(store: FakeStore, options: FakeAgentApiOptions) {
    this.#store = store;
    this.#options = options;
  }

  handle(call: AgentCall): AgentAnswer {
    const operation = agentOperation(call.method, call.segments);
    const token = /^Token (.+)$/.exec(call.headers.authorization ?? "")?.[1];
    if (operation === "register") {
      if (call.method !== "POST") return notFound();
      if (token !== this.#options.registrationToken()) return unauthorized();
      return this.#register(call);
    }
    const agent = token === undefined ? undefined : this.#store.agents.get(token);
    if (agent === undefined) return unauthorized();
    const route = `${call.method} ${operation}`;
    switch (route) {
      case "POST connect":
        return this.#connect(agent, call);
      case "POST disconnect":
        return this.#disconnect(agent, call);
      case "PUT acquire":
        return this.#withJob(call, (job) => this.#acquire(agent, job, call));
      case "PUT start":
        return this.#withJob(call, (job) => this.#start(agent, job, call));
      case "POST chunks":
        return this.#withJob(call, (job) => this.#chunk(agent, job, call));
      case "PUT finish":
        return this.#withJob(call, (job) => this.#finish(agent, job, call));
      case "GET job":
        return this.#withJob(call, (job) => ({ status: 200, body: { state: job.state.toLowerCase() } }));
      default:
        return notFound();
    }
  }

  #register(call: AgentCall): AgentAnswer {
    const body = jsonBody(call);
    if ("problem" in body) return body.problem;
    const fields = body.json;
    if (typeof fields.name !== "string" || fields.name === "") return unprocessable("name is required");
    const tags = fields.meta_data ?? [];
    if (!Array.isArray(tags) || tags.some((tag) => typeof tag !== "string")) {
      return unprocessable("meta_data must be a list of strings");
    }
    const agent = this.#store.addAgent(fields.name, tags as string[], fields);
    return {
      status: 200,
      body: {
        id: agent.id,
        name: agent.name,
        access_token: agent.accessToken,
        endpoint: this.#options.endpointAfterRegister(),
        ping_interval: 10,
        job_status_interval: 5,
        heartbeat_interval: 60,
        meta_data: agent.tags,
      },
    };
  }

  #connect(agent: StoredAgent, call: AgentCall): AgentAnswer {
    if (call.body.length > 0) return badRequest("connect takes no body");
    if (agent.disconnected) return unprocessable("The agent has disconnected");
    agent.connected = true;
    return { status: 200, body: { id: agent.id, connection_state: "connected" } };
  }

  #disconnect(agent: StoredAgent, call: AgentCall): AgentAnswer {
    if (call.body.length > 0) return badRequest("disconnect takes no body");
    if (!agent.connected) return unprocessable("The agent is not connected");
    agent.connected = false;
    agent.disconnected = true;
    return { status: 200, body: { id: agent.id, connection_state: "disconnected" } };
  }

  #acquire(agent: StoredAgent, job: StoredJob, call: AgentCall): AgentAnswer {
    if (call.body.length > 0) return badRequest("acquire takes no body");
    if (!agent.connected) return unprocessable("The agent is not connected");
    if (job.type !== "COMMAND") return unprocessable("Only command jobs can be acquired");
    // A job a stack reserved is acquired by the agent the stack started for it.
    if (job.state !== "SCHEDULED" && job.state !== "RESERVED") {
      return unprocessable(`The job can't be acquired because its state is ${job.state.toLowerCase()}`);
    }
    if (!agentMatchesJob(agent.tags, job.agentQueryRules ?? [])) {
      return unprocessable("The agent's tags do not match the job's agent query rules");
    }
    job.state = "ACCEPTED";
    job.acquiredBy = agent.name;
    job.reservedBy = undefined;
    job.reservationExpiresAt = undefined;
    const env: Record<string, string> = {};
    for (const entry of job.env ?? []) {
      const equals = entry.indexOf("=");
      if (equals > 0) env[entry.slice(0, equals)] = entry.slice(equals + 1);
    }
    return {
      status: 200,
      body: {
        id: job.uuid,
        endpoint: this.#options.agentUrl(),
        state: "accepted",
        env,
        step: { key: null },
        matrix_permutation: null,
        chunks_max_size_bytes: 102_400,
        log_max_size_bytes: 1_073_741_824,
        token: `fake-job-token-${job.createdSeq}`,
        exit_status: "",
        signal: "",
        signal_reason: "",
        started_at: "",
        finished_at: "",
        runnable_at: "",
        chunks_failed_count: 0,
      },
    };
  }

  #start(agent: StoredAgent, job: StoredJob, call: AgentCall): AgentAnswer {
    const body = jsonBody(call);
    if ("problem" in body) return body.problem;
    if (typeof body.json.started_at !== "string") return unprocessable("started_at must be a time");
    const problem = ownedBy(agent, job, "ACCEPTED");
    if (problem !== undefined) return problem;
    job.state = "RUNNING";
    job.startedAt = body.json.started_at;
    return { status: 200, body: { id: job.uuid, state: "running" } };
  }

  #chunk(agent: StoredAgent, job: StoredJob, call: AgentCall): AgentAnswer {
    const number = (name: string): number | undefined => {
      const text = call.query.get(name);
      return text !== null && /^\d+$/.test(text) ? Number(text) : undefined;
    };
    const sequence = number("sequence");
    const offset = number("offset");
    const size = number("size");
    if (sequence === undefined || offset === undefined || size === undefined) {
      return badRequest("sequence, offset and size must be non-negative integers");
    }
    let data: Buffer;
    if (call.headers["content-encoding"] === "gzip") {
      try {
        data = gunzipSync(call.body);
      } catch (error) {
        return badRequest(`the chunk is not valid gzip: ${(error as Error).message}`);
      }
    } else {
      data = call.body;
    }
    if (data.length !== size) return unprocessable(`size is ${size} but the chunk has ${data.length} bytes`);
    const problem = ownedBy(agent, job, "RUNNING");
    if (problem !== undefined) return problem;
    this.#store.addChunk(job, { sequence, offset, size, data: data.toString("utf8") });
    return { status: 201, body: { id: `${job.uuid}-${sequence}` } };
  }

  #finish(agent: StoredAgent, job: StoredJob, call: AgentCall): AgentAnswer {
    const body = jsonBody(call);
    if ("problem" in body) return body.problem;
    const fields = body.json;
    // The Agent API's exit status is a string ("1"), unlike the stacks API's integer.
    if (typeof fields.exit_status !== "string") return unprocessable("exit_status must be a string");
    if (typeof fields.finished_at !== "string") return unprocessable("finished_at must be a time");
    if (fields.chunks_failed_count !== undefined && !Number.isInteger(fields.chunks_failed_count)) {
      return unprocessable("chunks_failed_count must be an integer");
    }
    const problem = ownedBy(agent, job, "RUNNING");
    if (problem !== undefined) return problem;
    job.state = "FINISHED";
    job.exitStatus = fields.exit_status;
    job.finishedAt = fields.finished_at;
    job.chunksFailedCount = typeof fields.chunks_failed_count === "number" ? fields.chunks_failed_count : 0;
    return { status: 200, body: { id: job.uuid, state: "finished" } };
  }

  #withJob(call: AgentCall, action: (job: StoredJob) => AgentAnswer): AgentAnswer {
    const job = this.#store.jobs.get(call.segments[1] ?? "");
    return job === undefined ? notFound("No job found") : action(job);
  }
}

function ownedBy(agent: StoredAgent, job: StoredJob, state: StoredJob["state"]): AgentAnswer | undefined {
  if (job.acquiredBy !== agent.name) return unprocessable("The job is not assigned to this agent");
  if (job.state !== state) return unprocessable(`The job's state is ${job.state.toLowerCase()}`);
  return undefined;
}

/** The call's body as a JSON object, or the 400 answer that says why it is not one. */
export function jsonBody(call: AgentCall): { json: Record<string, unknown> } | { problem: AgentAnswer } {
  const type = call.headers["content-type"] ?? "";
  if (!/^application\/json\b/.test(type)) {
    return { problem: badRequest(`expected Content-Type application/json, got ${JSON.stringify(type)}`) };
  }
  try {
    const json: unknown = JSON.parse(call.body.toString("utf8"));
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      return { problem: badRequest("the body must be a JSON object") };
    }
    return { json: json as Record<string, unknown> };
  } catch {
    return { problem: badRequest("the body is not valid JSON") };
  }
}

function unauthorized(): AgentAnswer {
  return { status: 401, body: { message: "Unauthorized" } };
}

function badRequest(message: string): AgentAnswer {
  return { status: 400, body: { message } };
}

function notFound(message = "Not Found"): AgentAnswer {
  return { status: 404, body: { message } };
}

function unprocessable(message: string): AgentAnswer {
  return { status: 422, body: { message } };
}
