/**
 * The launcher's Buildkite side, for the job source in use (`job-source`): where jobs come from, how one
 * is failed, what stops the launcher, and what connecting and disconnecting mean. Each source's module
 * is loaded only when it is the one in use: the Stacks API needs no GraphQL client.
 *
 * - stacks (`connect-stacks.ts`): the agent token alone. `GET token` (a cluster token, or the launcher
 *   exits 1), `POST stacks/register`; jobs reserved, failed through `finish`, notes on the job's page;
 *   on stop the reserved jobs' Jobs are created, the notes sent and the stack deregistered.
 * - graphql (`connect-graphql.ts`): `buildkite-token` and `org`; `cluster-uuid`, or the agent token's
 *   cluster when it is empty (`GET token`); jobs failed by a throw-away agent.
 */
import type { Logger } from "../../runtime/logger.ts";
import type { Config } from "../../src/config/types.ts";
import type { LauncherParts } from "../launcher.ts";
import type { ClusterJobs, JobFailer, JobNotifier } from "../types.ts";
import type { AgentTokenProvider } from "./job-failer.ts";

export interface JobSourceConnection {
  readonly source: LauncherParts["source"];
  readonly failer: JobFailer;
  /** An error after which polling cannot succeed: the launcher stops and says why. */
  readonly isFatal: (error: unknown) => boolean;
  /** Notes on the job's page (Stacks API only). */
  readonly notifier?: JobNotifier;
  /** Jobs per state request of the cancel checker; absent: the checker's default. */
  readonly stateBatchSize?: number;
  /** Ends what connecting began (notes sent, the stack deregistered), within its own budget; never throws. */
  disconnect(): Promise<void>;
}

export interface ConnectOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The agent token, from `agent-token-secret`, read again when Buildkite refuses it. */
  readonly tokenProvider: AgentTokenProvider;
  /** The cluster's Jobs: what the launcher could start now, and which jobs have a Job. */
  readonly jobs: Pick<ClusterJobs, "has" | "inFlight">;
}

/** Connects to Buildkite the way `job-source` says; throws (exit 1) when that cannot work. */
export async function connectJobSource(
  options: ConnectOptions,
  signal: AbortSignal,
): Promise<JobSourceConnection> {
  if (options.config.jobSource === "stacks") {
    return (await import("./connect-stacks.ts")).connectStacks(options, signal);
  }
  return (await import("./connect-graphql.ts")).connectGraphql(options, signal);
}
