/**
 * Scheduled jobs from Buildkite's GraphQL API, as upstream v0.26.0 finds them (controller-runtime.md
 * §2.2, §4): the jobs of the launcher's queue, unclustered or in its cluster, page by page up to
 * `pagination-depth-limit`; with `enable-queue-pause`, nothing while the cluster queue is paused. Job
 * states and cancellation go through the same API.
 */
import type { Logger } from "../../runtime/logger.ts";
import { type BuildkiteJob, parseBuildkiteJob } from "../../src/buildkite/job.ts";
import { queueTagValue } from "../../src/config/effective.ts";
import type { Config } from "../../src/config/types.ts";
import { AgentStackError, isAgentStackError } from "../../src/errors.ts";
import { JOB_STATES, type JobSource, type JobState } from "../types.ts";
import type { GraphqlRequester } from "./graphql-client.ts";
import {
  CANCEL_COMMAND_JOB,
  type CancelCommandJobResponse,
  type ClusterQueuesResponse,
  type CommandJobResponse,
  GET_CLUSTER_QUEUES,
  GET_COMMAND_JOB,
  GET_SCHEDULED_JOBS,
  GET_SCHEDULED_JOBS_CLUSTERED,
  getCommandJobStates,
  JOB_STATES_BATCH,
  type ScheduledJobsResponse,
} from "./queries.ts";

/** Upstream reads the first 100 cluster queues, without paging, to find its own. */
const CLUSTER_QUEUES_LIMIT = 100;

/** The organization does not exist or the token cannot see it: polling again cannot help. */
export class InvalidOrganizationError extends AgentStackError {
  constructor(org: string) {
    super("ASK_BUILDKITE_INVALID_ORGANIZATION", `invalid organization: ${JSON.stringify(org)}`);
    this.name = "InvalidOrganizationError";
  }
}

/** For the monitor's `isFatal`: the errors after which the launcher stops polling. */
export function isFatalJobSourceError(error: unknown): boolean {
  return error instanceof InvalidOrganizationError;
}

/** A cluster's GraphQL ID: standard base64 (with padding) of `Cluster---<uuid>`, as upstream builds it. */
export function clusterGraphqlId(clusterUuid: string): string {
  return Buffer.from(`Cluster---${clusterUuid}`).toString("base64");
}

export type JobSourceConfig = Pick<
  Config,
  | "org"
  | "clusterUuid"
  | "tags"
  | "queue"
  | "graphqlResultsLimit"
  | "paginationDepthLimit"
  | "enableQueuePause"
  | "jobPrefix"
>;

export interface GraphqlJobSourceOptions {
  readonly client: GraphqlRequester;
  readonly config: JobSourceConfig;
  readonly logger: Logger;
}

const KNOWN_STATES: ReadonlySet<string> = new Set(JOB_STATES);

export class GraphqlJobSource implements JobSource {
  readonly #client: GraphqlRequester;
  readonly #config: JobSourceConfig;
  readonly #logger: Logger;
  readonly #queue: string;
  /** When Buildkite scheduled each job of the latest poll (ms since the epoch). */
  #scheduledAt = new Map<string, number>();

  constructor(options: GraphqlJobSourceOptions) {
    this.#client = options.client;
    this.#config = options.config;
    this.#logger = options.logger;
    const queue = options.config.queue || queueTagValue(options.config.tags);
    if (!queue) {
      throw new AgentStackError(
        "ASK_CONFIG_INVALID_VALUE",
        "tags: missing required tag: queue (set a queue=<name> tag or the queue key)",
      );
    }
    this.#queue = queue;
  }

  /** The queue's scheduled command jobs, oldest first. */
  async scheduledJobs(signal: AbortSignal): Promise<BuildkiteJob[]> {
    const clustered = this.#config.clusterUuid !== "";
    if (clustered && this.#config.enableQueuePause) await this.#refuseWhenPaused(signal);
    const document = clustered ? GET_SCHEDULED_JOBS_CLUSTERED : GET_SCHEDULED_JOBS;
    const base: Record<string, unknown> = {
      slug: this.#config.org,
      agentQueryRules: [`queue=${this.#queue}`],
      last: this.#config.graphqlResultsLimit,
    };
    if (clustered) base.cluster = clusterGraphqlId(this.#config.clusterUuid);

    const jobs = new Map<string, BuildkiteJob>();
    const scheduledAt = new Map<string, number>();
    let cursor: string | null = null;
    for (let page = 1; ; page++) {
      const response: ScheduledJobsResponse = await this.#client.request<ScheduledJobsResponse>(
        document,
        { ...base, cursor },
        signal,
      );
      const organization = response.organization;
      if (organization === null || organization.id === null) {
        throw new InvalidOrganizationError(this.#config.org);
      }
      const connection = organization.jobs;
      if (connection === null) {
        throw new AgentStackError(
          "ASK_BUILDKITE_GRAPHQL_RESPONSE",
          `the jobs of organization ${JSON.stringify(this.#config.org)} came back null`,
        );
      }
      // A page lists its jobs newest first, and each further page holds newer ones: read every page
      // backwards so that the whole list is oldest first, the order the scheduler keeps among equals.
      for (const edge of [...(connection.edges ?? [])].reverse()) {
        const job = this.#parseJob(edge?.node);
        if (job === undefined || jobs.has(job.uuid)) continue;
        jobs.set(job.uuid, job);
        const at = Date.parse(String((edge?.node as { scheduledAt?: unknown } | null)?.scheduledAt ?? ""));
        if (Number.isFinite(at)) scheduledAt.set(job.uuid, at);
      }
      const pageInfo = connection.pageInfo;
      if (!pageInfo?.hasPreviousPage || !pageInfo.startCursor) break;
      if (page >= this.#config.paginationDepthLimit) break;
      cursor = pageInfo.startCursor;
    }
    this.#scheduledAt = scheduledAt;
    return [...jobs.values()];
  }

  /** When Buildkite scheduled a job of the latest poll (ms since the epoch), if it said. */
  scheduledAt(uuid: string): number | undefined {
    return this.#scheduledAt.get(uuid);
  }

  async jobState(uuid: string, signal: AbortSignal): Promise<JobState | undefined> {
    const { job } = await this.#client.request<CommandJobResponse>(GET_COMMAND_JOB, { uuid }, signal);
    if (job === null || job.__typename !== "JobTypeCommand") return undefined;
    if (job.state === undefined || !KNOWN_STATES.has(job.state)) {
      throw new AgentStackError(
        "ASK_BUILDKITE_GRAPHQL_RESPONSE",
        `GetCommandJob: job ${uuid} has an unknown state ${JSON.stringify(job.state)}`,
      );
    }
    return job.state as JobState;
  }

  /** The states of many jobs, `JOB_STATES_BATCH` per request; a uuid Buildkite does not know maps to undefined. */
  async jobStates(
    uuids: readonly string[],
    signal: AbortSignal,
  ): Promise<ReadonlyMap<string, JobState | undefined>> {
    const states = new Map<string, JobState | undefined>();
    for (let start = 0; start < uuids.length; start += JOB_STATES_BATCH) {
      const batch = uuids.slice(start, start + JOB_STATES_BATCH);
      const variables = Object.fromEntries(batch.map((uuid, i) => [`u${i}`, uuid]));
      const response = await this.#client.request<Record<string, CommandJobResponse["job"]>>(
        getCommandJobStates(batch.length),
        variables,
        signal,
      );
      batch.forEach((uuid, i) => {
        const job = response[`j${i}`];
        states.set(
          uuid,
          job && job.__typename === "JobTypeCommand" ? this.#knownState(uuid, job.state) : undefined,
        );
      });
    }
    return states;
  }

  #knownState(uuid: string, state: string | undefined): JobState {
    if (state === undefined || !KNOWN_STATES.has(state)) {
      throw new AgentStackError(
        "ASK_BUILDKITE_GRAPHQL_RESPONSE",
        `GetCommandJobStates: job ${uuid} has an unknown state ${JSON.stringify(state)}`,
      );
    }
    return state as JobState;
  }

  async cancelJob(uuid: string, signal: AbortSignal): Promise<void> {
    // Upstream passes the raw job UUID as the `ID!` and its pod's name as `clientMutationId`; the Job's
    // name is the nearest we have. Buildkite accepts the raw UUID.
    const input = { clientMutationId: `${this.#config.jobPrefix}${uuid}`, id: uuid };
    const response = await this.#client.request<CancelCommandJobResponse>(
      CANCEL_COMMAND_JOB,
      { input },
      signal,
    );
    if (response.jobTypeCommandCancel === null) {
      throw new AgentStackError(
        "ASK_BUILDKITE_GRAPHQL_RESPONSE",
        `CancelCommandJob: Buildkite did not cancel job ${uuid} (jobTypeCommandCancel is null)`,
      );
    }
  }

  async #refuseWhenPaused(signal: AbortSignal): Promise<void> {
    let response: ClusterQueuesResponse;
    try {
      response = await this.#client.request<ClusterQueuesResponse>(
        GET_CLUSTER_QUEUES,
        {
          slug: this.#config.org,
          cluster: clusterGraphqlId(this.#config.clusterUuid),
          first: CLUSTER_QUEUES_LIMIT,
        },
        signal,
      );
    } catch (error) {
      if (signal.aborted || !isAgentStackError(error)) throw error;
      throw new AgentStackError(error.code, `failed to fetch cluster queues: ${error.message}`, {
        cause: error,
      });
    }
    if (response.organization === null) throw new InvalidOrganizationError(this.#config.org);
    const edges = response.organization.cluster?.queues?.edges ?? [];
    const queue = edges.find((edge) => edge?.node?.key === this.#queue)?.node;
    if (queue?.dispatchPaused) {
      throw new AgentStackError(
        "ASK_BUILDKITE_QUEUE_PAUSED",
        `the queue ${JSON.stringify(this.#queue)} is paused`,
      );
    }
  }

  /** One edge's node: a command job, or undefined (logged) when it is not one or is malformed. */
  #parseJob(node: unknown): BuildkiteJob | undefined {
    if (typeof node !== "object" || node === null) return undefined;
    const fields = node as Record<string, unknown>;
    // `type: [COMMAND]` asks for command jobs only; anything else is not ours to run.
    if (fields.__typename !== "JobTypeCommand") return undefined;
    const uuid = typeof fields.uuid === "string" ? fields.uuid : undefined;
    try {
      return parseBuildkiteJob(node, `Buildkite job ${uuid ?? "(no uuid)"}`);
    } catch (error) {
      if (!isAgentStackError(error)) throw error;
      this.#logger.warn(
        { jobUuid: uuid, err: error.message },
        "skipping a scheduled job whose data is malformed; it stays scheduled on Buildkite",
      );
      return undefined;
    }
  }
}
