/**
 * The fake's Stacks API face (controller-runtime.md §8, §8.1), and `GET token`, with the checks
 * Buildkite makes: every call carries the agent token (401 otherwise) and stacks need a cluster token
 * (403); a stack must be registered before it calls anything under `stacks/{key}` (404 `Stack not
 * found`); JSON where JSON is expected (400); lists and batches bounded (422); only SCHEDULED jobs of the
 * stack's cluster queue can be reserved, and a reservation gives the job back when it expires; only a
 * SCHEDULED or RESERVED job can be finished; states are lower-case; errors are `{"message"}`.
 *
 * A job belongs to a cluster queue when it is in the token's cluster and its `queue` rule names the
 * queue, or it has none (or `queue=_default`) and the queue is the cluster's default.
 */
import { type AgentAnswer, type AgentCall, jsonBody } from "./agent-api.ts";
import type { FakeStore, StoredJob, StoredQueue, StoredStack } from "./store.ts";

/** The most uuids, notifications or jobs one request may carry or ask for. */
export const STACKS_BATCH_LIMIT = 1000;
/** `reservation_expiry_seconds` when the request leaves it out. */
export const DEFAULT_RESERVATION_EXPIRY_SECONDS = 900;
const MAX_RESERVATION_EXPIRY_SECONDS = 3600;
const DEFAULT_PAGE_SIZE = 100;
const FINISH_DETAIL_MAX_BYTES = 4096;
const NOTIFICATION_DETAIL_MAX_BYTES = 255;
const DEFAULT_QUEUE_KEY = "_default";

/**
 * The operation a path calls, named as the upstream client prefixes its errors (`register stack`…), or
 * undefined when the path is not the Stacks API's (or `GET token`).
 */
export function stacksOperation(method: string, segments: readonly string[]): string | undefined {
  if (segments.length === 1 && segments[0] === "token") return method === "GET" ? "token" : "stacks";
  if (segments[0] !== "stacks") return undefined;
  const route = `${method} ${segments.length === 2 && segments[1] === "register" ? "register" : shape(segments)}`;
  switch (route) {
    case "POST register":
      return "register stack";
    case "POST {key}/deregister":
      return "deregister stack";
    case "GET {key}/scheduled-jobs":
      return "list scheduled jobs";
    case "PUT {key}/scheduled-jobs/batch-reserve":
      return "batch reserve jobs";
    case "POST {key}/jobs/get-states":
      return "get job states";
    case "GET {key}/jobs/{uuid}":
      return "get job";
    case "POST {key}/jobs/{uuid}/finish":
      return "finish job";
    case "POST {key}/notifications":
      return "create stack notifications";
    default:
      return "stacks";
  }
}

/** `stacks/k/jobs/u/finish` → `{key}/jobs/{uuid}/finish`; fixed words stay, the rest become placeholders. */
function shape(segments: readonly string[]): string {
  const rest = segments.slice(1);
  return rest
    .map((segment, index) => {
      if (index === 0) return "{key}";
      if (rest[index - 1] === "jobs" && segment !== "get-states") return "{uuid}";
      return segment;
    })
    .join("/");
}

export interface FakeStacksApiOptions {
  readonly org: string;
  /** The agent token in force (it can be rotated). */
  readonly agentToken: () => string;
  /** The cluster the agent token belongs to; undefined for an unclustered token. */
  readonly agentTokenCluster: () => string | undefined;
  /** The fake's clock (ms), which tests can move forward to expire reservations. */
  readonly now: () => number;
}

export class FakeStacksApi {
  readonly #store: FakeStore;
  readonly #options: FakeStacksApiOptions;

  constructor(store: FakeStore, options: FakeStacksApiOptions) {
    this.#store = store;
    this.#options = options;
  }

  handle(call: AgentCall): AgentAnswer {
    const operation = stacksOperation(call.method, call.segments) ?? "stacks";
    const token = /^Token (.+)$/.exec(call.headers.authorization ?? "")?.[1];
    if (token !== this.#options.agentToken()) return status(401, "Unauthorized");
    if (operation === "token") return this.#tokenInfo();
    if (operation === "stacks") return status(404, "Not Found");
    const cluster = this.#options.agentTokenCluster();
    if (cluster === undefined) {
      return status(403, "Stacks can only be used with a cluster agent token");
    }
    if (operation === "register stack") return this.#register(call, cluster);
    const stack = this.#store.stacks.get(call.segments[1] ?? "");
    if (stack === undefined) return status(404, "Stack not found");
    switch (operation) {
      case "deregister stack":
        return this.#deregister(stack, call);
      case "list scheduled jobs":
        return this.#list(cluster, call);
      case "batch reserve jobs":
        return this.#reserve(stack, cluster, call);
      case "get job states":
        return this.#states(cluster, call);
      case "get job":
        return this.#withJob(cluster, call, (job) => this.#job(job));
      case "finish job":
        return this.#withJob(cluster, call, (job) => this.#finish(stack, job, call));
      case "create stack notifications":
        return this.#notify(stack, cluster, call);
      default:
        return status(404, "Not Found");
    }
  }

  #tokenInfo(): AgentAnswer {
    const cluster = this.#options.agentTokenCluster();
    return {
      status: 200,
      body: {
        uuid: "01900000-dddd-4000-8000-000000000001",
        description: "fake agent token",
        token_type: cluster === undefined ? "unclustered" : "cluster",
        organization_slug: this.#options.org,
        organization_uuid: ORGANIZATION_UUID,
        cluster_uuid: cluster ?? null,
        cluster_name: cluster === undefined ? null : `cluster ${cluster}`,
        organization_queue_uuid: null,
        organization_queue_key: null,
      },
    };
  }

  #register(call: AgentCall, cluster: string): AgentAnswer {
    const body = jsonBody(call);
    if ("problem" in body) return body.problem;
    const { key, type, queue_key: queueKey, metadata } = body.json;
    if (typeof key !== "string" || key === "") return status(422, "key is required");
    if (typeof type !== "string" || type === "") return status(422, "type is required");
    if (typeof queueKey !== "string" || queueKey === "") return status(422, "queue_key is required");
    if (metadata !== undefined && !isObject(metadata)) return status(422, "metadata must be an object");
    const queue = this.#resolveQueue(cluster, queueKey);
    if (queue === undefined) {
      return status(
        422,
        queueKey === DEFAULT_QUEUE_KEY
          ? "The cluster has no default queue"
          : `Queue ${JSON.stringify(queueKey)} not found in the cluster`,
      );
    }
    const previous = this.#store.stacks.get(key);
    const stack: StoredStack = {
      id: previous?.id ?? `01900000-eeee-4000-8000-${String(this.#store.stacks.size + 1).padStart(12, "0")}`,
      key,
      type,
      queueKey,
      clusterQueueKey: queue.key,
      metadata: (metadata as Record<string, unknown> | undefined) ?? {},
      state: "connected",
      lastConnectedOn: new Date(this.#options.now()).toISOString(),
      registrations: (previous?.registrations ?? 0) + 1,
    };
    this.#store.stacks.set(key, stack);
    return { status: 200, body: stackView(stack) };
  }

  #deregister(stack: StoredStack, call: AgentCall): AgentAnswer {
    if (call.body.length > 0) {
      const body = jsonBody(call);
      if ("problem" in body) return body.problem;
    }
    stack.state = "disconnected";
    return { status: 200, body: stackView(stack) };
  }

  #list(cluster: string, call: AgentCall): AgentAnswer {
    const queueKey = call.query.get("queue_key");
    if (queueKey === null || queueKey === "") return status(400, "queue_key is required");
    const queue = this.#store.clusters.get(cluster)?.get(queueKey);
    if (queue === undefined) return status(404, `Cluster queue ${JSON.stringify(queueKey)} not found`);
    const limitText = call.query.get("limit");
    const limit = limitText === null ? DEFAULT_PAGE_SIZE : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > STACKS_BATCH_LIMIT) {
      return status(422, `limit must be an integer from 1 to ${STACKS_BATCH_LIMIT}`);
    }
    const afterText = call.query.get("after");
    let after: SortKey | undefined;
    if (afterText !== null && afterText !== "") {
      after = decodeCursor(afterText);
      if (after === undefined) return status(400, "Invalid cursor");
    }
    const queued = [...this.#store.jobs.values()]
      .filter(
        (job) => job.state === "SCHEDULED" && job.type === "COMMAND" && this.#inQueue(job, cluster, queue),
      )
      .sort((a, b) => compareKeys(sortKey(a), sortKey(b)));
    const start = after === undefined ? 0 : queued.findIndex((job) => compareKeys(sortKey(job), after) > 0);
    const rest = start < 0 ? [] : queued.slice(start);
    const page = rest.slice(0, limit);
    const last = page.at(-1);
    return {
      status: 200,
      body: {
        jobs: page.map((job) => ({
          id: job.uuid,
          priority: job.priority ?? 0,
          agent_query_rules: job.agentQueryRules ?? [],
          scheduled_at: job.scheduledAt,
          pipeline: { slug: job.pipeline.slug, uuid: job.pipeline.uuid },
          build: { uuid: job.build.uuid, number: job.build.number, branch: job.build.branch },
          step: { key: job.stepKey },
        })),
        cluster_queue: { id: queueId(cluster, queue), paused: queue.dispatchPaused },
        page_info: {
          has_next_page: rest.length > page.length,
          end_cursor: last === undefined ? null : encodeCursor(sortKey(last)),
        },
      },
    };
  }

  #reserve(stack: StoredStack, cluster: string, call: AgentCall): AgentAnswer {
    const body = jsonBody(call);
    if ("problem" in body) return body.problem;
    const uuids = uuidList(body.json.job_uuids, "job_uuids");
    if ("problem" in uuids) return uuids.problem;
    if (uuids.list.length === 0) return status(422, "job_uuids must not be empty");
    const expiry = body.json.reservation_expiry_seconds ?? DEFAULT_RESERVATION_EXPIRY_SECONDS;
    if (
      typeof expiry !== "number" ||
      !Number.isInteger(expiry) ||
      expiry < 1 ||
      expiry > MAX_RESERVATION_EXPIRY_SECONDS
    ) {
      return status(
        422,
        `reservation_expiry_seconds must be an integer from 1 to ${MAX_RESERVATION_EXPIRY_SECONDS}`,
      );
    }
    const queue = this.#store.clusters.get(cluster)?.get(stack.clusterQueueKey);
    const reserved: string[] = [];
    const notReserved: string[] = [];
    for (const uuid of uuids.list) {
      const job = this.#store.jobs.get(uuid);
      if (
        job !== undefined &&
        queue !== undefined &&
        job.type === "COMMAND" &&
        job.state === "SCHEDULED" &&
        this.#inQueue(job, cluster, queue)
      ) {
        job.state = "RESERVED";
        job.reservedBy = stack.key;
        job.reservationExpiresAt = this.#options.now() + expiry * 1000;
        reserved.push(uuid);
      } else {
        notReserved.push(uuid);
      }
    }
    return { status: 200, body: { reserved, not_reserved: notReserved } };
  }

  #states(cluster: string, call: AgentCall): AgentAnswer {
    const body = jsonBody(call);
    if ("problem" in body) return body.problem;
    const uuids = uuidList(body.json.job_uuids, "job_uuids");
    if ("problem" in uuids) return uuids.problem;
    const states: Record<string, string> = {};
    for (const uuid of uuids.list) {
      const job = this.#store.jobs.get(uuid);
      if (job !== undefined && job.cluster === cluster) states[uuid] = job.state.toLowerCase();
    }
    return { status: 200, body: { states } };
  }

  #job(job: StoredJob): AgentAnswer {
    const env: Record<string, string> = {};
    for (const entry of job.env ?? []) {
      const equals = entry.indexOf("=");
      if (equals > 0) env[entry.slice(0, equals)] = entry.slice(equals + 1);
    }
    return { status: 200, body: { id: job.uuid, env, command: job.command ?? "" } };
  }

  #finish(stack: StoredStack, job: StoredJob, call: AgentCall): AgentAnswer {
    const body = jsonBody(call);
    if ("problem" in body) return body.problem;
    const { exit_status: exitStatus, detail } = body.json;
    // Unlike the Agent API's string, the Stacks API's exit status is an integer.
    if (typeof exitStatus !== "number" || !Number.isInteger(exitStatus)) {
      return status(422, "exit_status must be an integer");
    }
    if (typeof detail !== "string") return status(422, "detail must be a string");
    if (Buffer.byteLength(detail, "utf8") > FINISH_DETAIL_MAX_BYTES) {
      return status(422, `detail must be at most ${FINISH_DETAIL_MAX_BYTES} bytes`);
    }
    if (job.type !== "COMMAND") return status(422, "Only command jobs can be finished");
    if (job.state !== "SCHEDULED" && job.state !== "RESERVED") {
      return status(422, `The job can't be finished because its state is ${job.state.toLowerCase()}`);
    }
    if (job.state === "RESERVED" && job.reservedBy !== stack.key) {
      return status(422, "The job is reserved by another stack");
    }
    job.state = "FINISHED";
    job.exitStatus = String(exitStatus);
    job.finishDetail = detail;
    job.finishedAt = new Date(this.#options.now()).toISOString();
    job.reservedBy = undefined;
    job.reservationExpiresAt = undefined;
    return { status: 200, body: { id: job.uuid, state: "finished" } };
  }

  #notify(stack: StoredStack, cluster: string, call: AgentCall): AgentAnswer {
    const body = jsonBody(call);
    if ("problem" in body) return body.problem;
    const list = body.json.notifications;
    if (!Array.isArray(list)) return status(422, "notifications must be a list");
    if (list.length > STACKS_BATCH_LIMIT) {
      return status(422, `at most ${STACKS_BATCH_LIMIT} notifications per request`);
    }
    const errors = new Map<string, number[]>();
    list.forEach((entry: unknown, index) => {
      const problem = this.#notificationProblem(entry, cluster);
      if (problem !== undefined) {
        errors.set(problem, [...(errors.get(problem) ?? []), index]);
        return;
      }
      // Checked above: a known job, a detail and a timestamp.
      const {
        job_uuid: uuid,
        detail,
        timestamp,
      } = entry as { job_uuid: string; detail: string; timestamp: string };
      this.#store.jobs.get(uuid)?.notifications.push({ stackKey: stack.key, detail, timestamp });
    });
    return {
      status: 200,
      body: { errors: [...errors].map(([error, indexes]) => ({ error, indexes })) },
    };
  }

  #notificationProblem(entry: unknown, cluster: string): string | undefined {
    if (!isObject(entry)) return "notification must be an object";
    const { job_uuid: uuid, detail, timestamp } = entry;
    const job = typeof uuid === "string" ? this.#store.jobs.get(uuid) : undefined;
    if (job === undefined || job.cluster !== cluster) return "Job not found";
    if (typeof detail !== "string" || detail === "") return "detail is required";
    if (Buffer.byteLength(detail, "utf8") > NOTIFICATION_DETAIL_MAX_BYTES) {
      return `detail must be at most ${NOTIFICATION_DETAIL_MAX_BYTES} bytes`;
    }
    if (typeof timestamp !== "string" || Number.isNaN(Date.parse(timestamp)))
      return "timestamp must be a time";
    return undefined;
  }

  #withJob(cluster: string, call: AgentCall, action: (job: StoredJob) => AgentAnswer): AgentAnswer {
    const job = this.#store.jobs.get(call.segments[3] ?? "");
    return job === undefined || job.cluster !== cluster ? status(404, "Job not found") : action(job);
  }

  #resolveQueue(cluster: string, key: string): StoredQueue | undefined {
    const queues = this.#store.clusters.get(cluster);
    if (queues === undefined) return undefined;
    if (key === DEFAULT_QUEUE_KEY) return [...queues.values()].find((queue) => queue.isDefault);
    return queues.get(key);
  }

  #inQueue(job: StoredJob, cluster: string, queue: StoredQueue): boolean {
    if (job.cluster !== cluster) return false;
    const rule = (job.agentQueryRules ?? []).find((candidate) => candidate.startsWith("queue="));
    const wanted = rule?.slice("queue=".length);
    return wanted === undefined || wanted === DEFAULT_QUEUE_KEY ? queue.isDefault : wanted === queue.key;
  }
}

const ORGANIZATION_UUID = "01900000-ffff-4000-8000-000000000001";

function stackView(stack: StoredStack): Record<string, unknown> {
  return {
    id: stack.id,
    organization_uuid: ORGANIZATION_UUID,
    cluster_queue_key: stack.clusterQueueKey,
    key: stack.key,
    type: stack.type,
    metadata: stack.metadata,
    last_connected_on: stack.lastConnectedOn,
    state: stack.state,
  };
}

function queueId(cluster: string, queue: StoredQueue): string {
  return `${cluster.slice(0, 24)}${String(queue.createdSeq).padStart(12, "0")}`;
}

/** The list's order: higher priority first, then the longest waiting, then creation. */
type SortKey = readonly [priority: number, scheduledAt: number, createdSeq: number];

function sortKey(job: StoredJob): SortKey {
  return [-(job.priority ?? 0), Date.parse(job.scheduledAt), job.createdSeq];
}

function compareKeys(a: SortKey, b: SortKey): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

function encodeCursor(key: SortKey): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

function decodeCursor(text: string): SortKey | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
    if (Array.isArray(value) && value.length === 3 && value.every((part) => Number.isFinite(part))) {
      return value as unknown as SortKey;
    }
  } catch {
    // Not a cursor this fake wrote.
  }
  return undefined;
}

function uuidList(value: unknown, field: string): { list: string[] } | { problem: AgentAnswer } {
  if (!Array.isArray(value) || value.some((entry) => typeof entry !== "string")) {
    return { problem: status(422, `${field} must be a list of strings`) };
  }
  if (value.length > STACKS_BATCH_LIMIT) {
    return { problem: status(422, `${field} may hold at most ${STACKS_BATCH_LIMIT} uuids`) };
  }
  return { list: value as string[] };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function status(code: number, message: string): AgentAnswer {
  return { status: code, body: { message } };
}
