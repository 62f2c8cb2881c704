/**
 * The seams of the launcher: what each stage needs from Buildkite and from the cluster. The pipeline
 * (`launcher.ts`) is written against these; `buildkite/` and `kubernetes/` implement them, and tests
 * replace them.
 */
import type { BuildkiteJob } from "../src/buildkite/job.ts";

/** `JobStates` of Buildkite's GraphQL schema. */
export const JOB_STATES = [
  "ACCEPTED",
  "ASSIGNED",
  "BLOCKED",
  "BLOCKED_FAILED",
  "BROKEN",
  "CANCELED",
  "CANCELING",
  "EXPIRED",
  "FINISHED",
  "LIMITED",
  "LIMITING",
  "PENDING",
  "PLATFORM_LIMITED",
  "PLATFORM_LIMITING",
  "RESERVED",
  "RUNNING",
  "SCHEDULED",
  "SKIPPED",
  "TIMED_OUT",
  "TIMING_OUT",
  "UNBLOCKED",
  "UNBLOCKED_FAILED",
  "WAITING",
  "WAITING_FAILED",
] as const;
export type JobState = (typeof JOB_STATES)[number];

/**
 * Where scheduled jobs come from: Buildkite's GraphQL API (upstream v0.26.0, `GraphqlJobSource`) or the
 * agent-token Stacks API of upstream HEAD (`StacksJobSource`, which reserves the jobs it returns).
 */
export interface JobSource {
  /**
   * One poll: the scheduled command jobs of the queue, every page up to the depth limit. A source that
   * fetches each job's details may call `early` with the jobs ready so far, before the poll ends, so the
   * first Jobs need not wait for the last job's details.
   */
  scheduledJobs(signal: AbortSignal, early?: (jobs: BuildkiteJob[]) => void): Promise<BuildkiteJob[]>;
  /** A job's state; `undefined` when Buildkite has no command job of that uuid. */
  jobState(uuid: string, signal: AbortSignal): Promise<JobState | undefined>;
  /**
   * A source that reserves the jobs it returns (the Stacks API): every job it holds for this launcher,
   * with its details (fetched now if need be). A stopping launcher creates their Jobs: a reserved job it
   * dropped would wait for its reservation to expire before any launcher could take it.
   */
  reservedJobs?(signal: AbortSignal): Promise<BuildkiteJob[]>;
  /**
   * Cancels a job (GraphQL `jobTypeCommandCancel`). Absent from the Stacks API source, which has no such
   * call: there the agent that has the job reports instead.
   */
  cancelJob?(uuid: string, signal: AbortSignal): Promise<void>;
}

/**
 * Short notes on a Buildkite job's page: the Stacks API's stack notifications ("K8s Job created…", an
 * image an agent's pod cannot pull). Best effort: never throws, never waits.
 */
export interface JobNotifier {
  notify(uuid: string, detail: string): void;
}

export interface FailJobRequest {
  readonly uuid: string;
  /** The name the throw-away agent registers with: the Kubernetes Job's name. */
  readonly agentName: string;
  /** Agent tags that satisfy the job's agent query rules (at least its queue). */
  readonly tags: readonly string[];
  /** What the job's log says, the reason it failed. */
  readonly message: string;
}

/**
 * Fails a Buildkite job with a message, as upstream v0.26.0 does through the Agent REST API (register,
 * connect, acquire, start, log chunk, finish with exit status 1, disconnect: `AgentJobFailer`), or as
 * HEAD does through the Stacks API (`finish` with exit status -1 and the message as detail:
 * `StacksJobFailer`).
 */
export interface JobFailer {
  /**
   * Throws `JobAcquisitionRejectedError` when Buildkite refuses for good: the acquire (422), or the
   * Stacks API's finish (404, 409, 422).
   */
  failJob(request: FailJobRequest, signal: AbortSignal): Promise<void>;
}

/**
 * Buildkite refused to let the job be failed from here: an agent may not acquire it, or the stack may
 * not finish it (already acquired, running, finished or cancelled).
 */
export class JobAcquisitionRejectedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "JobAcquisitionRejectedError";
  }
}

/**
 * The cluster is the truth about what is in flight: an informer on the Jobs that carry the
 * `buildkite.com/job-uuid` label (and this launcher's `buildkite.com/controller-id`, or its absence).
 */
export interface ClusterJobs {
  /** Resolves once the initial list is in the cache. */
  synced(signal: AbortSignal): Promise<void>;
  /** Unfinished Jobs (no `Complete` or `Failed` condition), whoever created them. */
  inFlight(): number;
  /** A Job for this Buildkite job exists (finished or not). */
  has(uuid: string): boolean;
  /** Called after every change to the cache; returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
}

/** What became of one create of a skeleton Job. */
export type CreateOutcome =
  | { readonly kind: "created" }
  /** The Job already exists: another launcher, or an earlier attempt, created it. */
  | { readonly kind: "exists" }
  /** The admission webhook denied it: its message is the reason the Buildkite job fails. */
  | { readonly kind: "denied"; readonly message: string }
  /** The API server refused the expanded Job (422 Invalid). */
  | { readonly kind: "invalid"; readonly message: string }
  /** Our own outage (webhook unreachable, timeout, 429, 5xx): retry later, never fail the job. */
  | { readonly kind: "retry"; readonly message: string; readonly retryAfterMs?: number };

export interface JobCreator {
  create(job: BuildkiteJob, signal: AbortSignal): Promise<CreateOutcome>;
}
