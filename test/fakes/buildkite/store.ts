/**
 * The fake Buildkite's state: one organization's jobs, clusters with their queues, the agents that
 * registered and the stacks that did. Every face of the fake (GraphQL, the Agent REST API, the Stacks
 * API) reads and changes it, so a job the launcher fails through the Agent API shows as FINISHED to the
 * next GraphQL query, and a job a stack reserved shows as RESERVED, as on Buildkite.
 */
import type { JobState } from "../../../launcher/types.ts";

export const FAKE_JOB_TYPES = ["COMMAND", "WAIT", "BLOCK", "TRIGGER"] as const;
export type FakeJobType = (typeof FAKE_JOB_TYPES)[number];

export interface FakeChunk {
  readonly sequence: number;
  readonly offset: number;
  readonly size: number;
  /** Decompressed. */
  readonly data: string;
}

/** A job as tests see it; the object stays current as the fake changes it. */
export interface FakeJob {
  readonly uuid: string;
  readonly type: FakeJobType;
  readonly state: JobState;
  readonly command: string | null;
  readonly env: readonly string[] | null;
  readonly agentQueryRules: readonly string[] | null;
  readonly priority: number | null;
  /** The uuid of the job's cluster; undefined for an unclustered job. */
  readonly cluster: string | undefined;
  /** The uploaded chunks, decompressed, in offset order. */
  readonly log: string;
  readonly chunks: readonly FakeChunk[];
  readonly exitStatus: string | undefined;
  readonly chunksFailedCount: number | undefined;
  /** The name of the agent that acquired it. */
  readonly acquiredBy: string | undefined;
  readonly startedAt: string | undefined;
  readonly finishedAt: string | undefined;
  /** Creation order: larger is newer. */
  readonly createdSeq: number;
  /** When Buildkite scheduled it (ISO 8601), as GraphQL's `scheduledAt`. */
  readonly scheduledAt: string;
  /** What the Stacks API's scheduled-jobs list says about where the job comes from. */
  readonly pipeline: { readonly slug: string; readonly uuid: string };
  readonly build: { readonly uuid: string; readonly number: number; readonly branch: string };
  readonly stepKey: string | null;
  /** The stack whose reservation the job is under (state RESERVED), and until when (fake clock, ms). */
  readonly reservedBy: string | undefined;
  readonly reservationExpiresAt: number | undefined;
  /** The `detail` a stack finished the job with (`POST stacks/{key}/jobs/{uuid}/finish`). */
  readonly finishDetail: string | undefined;
  /** The stack notifications sent about the job, in order. */
  readonly notifications: readonly FakeStackNotification[];
}

export interface FakeStackNotification {
  readonly stackKey: string;
  readonly detail: string;
  readonly timestamp: string;
}

/** A stack as `POST stacks/register` left it. */
export interface FakeStack {
  readonly id: string;
  readonly key: string;
  readonly type: string;
  /** As registered (`_default` stays `_default`). */
  readonly queueKey: string;
  /** The cluster queue it resolved to. */
  readonly clusterQueueKey: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly state: "connected" | "disconnected" | "lost";
  readonly lastConnectedOn: string;
  readonly registrations: number;
}

export type FakeJobInput = Partial<Omit<FakeJob, "log" | "chunks" | "createdSeq" | "notifications">> & {
  uuid?: string;
};

export interface FakeAgent {
  readonly id: string;
  readonly name: string;
  readonly accessToken: string;
  readonly tags: readonly string[];
  readonly registerBody: Readonly<Record<string, unknown>>;
  readonly connected: boolean;
  readonly disconnected: boolean;
}

export interface FakeClusterQueue {
  readonly key: string;
  readonly dispatchPaused: boolean;
  readonly createdSeq: number;
  /** A cluster's default queue: the one the Stacks API's `_default` names. */
  readonly isDefault: boolean;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
export type StoredJob = Mutable<FakeJob> & { chunks: FakeChunk[]; notifications: FakeStackNotification[] };
export type StoredAgent = Mutable<FakeAgent>;
export type StoredQueue = Mutable<FakeClusterQueue>;
export type StoredStack = Mutable<FakeStack>;

export class FakeStore {
  readonly jobs = new Map<string, StoredJob>();
  readonly agents = new Map<string, StoredAgent>();
  /** cluster uuid → queues by key. */
  readonly clusters = new Map<string, Map<string, StoredQueue>>();
  /** Stacks by key. */
  readonly stacks = new Map<string, StoredStack>();
  #sequence = 0;

  addJob(input: FakeJobInput): StoredJob {
    const createdSeq = ++this.#sequence;
    const uuid = input.uuid ?? `01900000-0000-4000-8000-${String(createdSeq).padStart(12, "0")}`;
    if (this.jobs.has(uuid)) throw new Error(`fake Buildkite: a job ${uuid} exists already`);
    const job: StoredJob = {
      uuid,
      type: input.type ?? "COMMAND",
      state: input.state ?? "SCHEDULED",
      command: input.command === undefined ? "echo hello" : input.command,
      env: input.env === undefined ? [] : input.env === null ? null : [...input.env],
      agentQueryRules:
        input.agentQueryRules === undefined
          ? ["queue=kubernetes"]
          : input.agentQueryRules === null
            ? null
            : [...input.agentQueryRules],
      priority: input.priority === undefined ? 0 : input.priority,
      cluster: input.cluster,
      log: "",
      chunks: [],
      exitStatus: input.exitStatus,
      chunksFailedCount: input.chunksFailedCount,
      acquiredBy: input.acquiredBy,
      startedAt: input.startedAt,
      finishedAt: input.finishedAt,
      createdSeq,
      scheduledAt: input.scheduledAt ?? new Date().toISOString(),
      pipeline: input.pipeline ?? { slug: "pipeline", uuid: `01900000-bbbb-4000-8000-000000000001` },
      build: input.build ?? {
        uuid: `01900000-cccc-4000-8000-${String(createdSeq).padStart(12, "0")}`,
        number: createdSeq,
        branch: "main",
      },
      stepKey: input.stepKey ?? null,
      reservedBy: input.reservedBy,
      reservationExpiresAt: input.reservationExpiresAt,
      finishDetail: input.finishDetail,
      notifications: [],
    };
    this.jobs.set(uuid, job);
    return job;
  }

  /** Reservations whose time is up give their jobs back to the queue, as SCHEDULED. */
  expireReservations(now: number): void {
    for (const job of this.jobs.values()) {
      if (
        job.state === "RESERVED" &&
        job.reservationExpiresAt !== undefined &&
        job.reservationExpiresAt <= now
      ) {
        job.state = "SCHEDULED";
        job.reservedBy = undefined;
        job.reservationExpiresAt = undefined;
      }
    }
  }

  addAgent(name: string, tags: readonly string[], registerBody: Record<string, unknown>): StoredAgent {
    const n = this.agents.size + 1;
    const agent: StoredAgent = {
      id: `01900000-aaaa-4000-8000-${String(n).padStart(12, "0")}`,
      name,
      accessToken: `fake-agent-access-token-${n}`,
      tags: [...tags],
      registerBody,
      connected: false,
      disconnected: false,
    };
    this.agents.set(agent.accessToken, agent);
    return agent;
  }

  addCluster(
    uuid: string,
    queues: ReadonlyArray<{ key: string; dispatchPaused?: boolean; isDefault?: boolean }>,
  ): void {
    const byKey = this.clusters.get(uuid) ?? new Map<string, StoredQueue>();
    for (const queue of queues) {
      if (queue.isDefault) for (const other of byKey.values()) other.isDefault = false;
      byKey.set(queue.key, {
        key: queue.key,
        dispatchPaused: queue.dispatchPaused ?? false,
        createdSeq: ++this.#sequence,
        isDefault: queue.isDefault ?? false,
      });
    }
    this.clusters.set(uuid, byKey);
  }

  /** Appends a chunk and rebuilds the log from the chunks in offset order. */
  addChunk(job: StoredJob, chunk: FakeChunk): void {
    job.chunks.push(chunk);
    job.chunks.sort((a, b) => a.offset - b.offset || a.sequence - b.sequence);
    job.log = job.chunks.map((stored) => stored.data).join("");
  }
}

/**
 * Buildkite's matching of an agent to a job: every `k=v` rule of the job needs the agent tag `k=v`, or
 * any value of `k` when the rule's value is `*`.
 */
export function agentMatchesJob(tags: readonly string[], rules: readonly string[]): boolean {
  const agentTags = new Map<string, string>();
  for (const tag of tags) {
    const equals = tag.indexOf("=");
    if (equals > 0) agentTags.set(tag.slice(0, equals), tag.slice(equals + 1));
  }
  return rules.every((rule) => {
    const equals = rule.indexOf("=");
    if (equals <= 0) return false;
    const value = agentTags.get(rule.slice(0, equals));
    const wanted = rule.slice(equals + 1);
    return value !== undefined && (wanted === "*" || wanted === value);
  });
}
