/**
 * Which Buildkite cluster the launcher works for, as the agent token says (`GET token`). The agents the
 * launcher's pods start register with that token, so they can only ever run jobs of its cluster:
 *
 * - the Stacks API needs a cluster token; an unclustered one is refused with upstream HEAD's message;
 * - the GraphQL job source with `cluster-uuid` empty polls the token's cluster instead of, as v0.26.0
 *   did, the unclustered queue, where a cluster's jobs never are. With an unclustered token it polls
 *   the unclustered queue, as v0.26.0, and says so: that is an install without clusters, on purpose.
 *   When the token cannot be read, it refuses to start and names the keys to set. With `cluster-uuid`
 *   set, a token of another cluster (or none) is refused; when the token cannot be read the configured
 *   cluster is used, with a warning.
 */
import type { Logger } from "../../runtime/logger.ts";
import type { Config } from "../../src/config/types.ts";
import { AgentStackError, isAgentStackError } from "../../src/errors.ts";
import type { AgentTokenInfo, StacksApiClient } from "./stacks-api.ts";

/** Upstream HEAD's words for an unclustered token. */
export const UNCLUSTERED_TOKEN_MESSAGE =
  "Detected unclustered agent token, please upgrade to a cluster agent token: https://buildkite.com/organizations/~/clusters/~/tokens";

type SecretConfig = Pick<Config, "namespace" | "agentTokenSecret">;

/** Where the token comes from, for messages: `key BUILDKITE_AGENT_TOKEN of Secret ns/name`. */
function tokenWhere(config: SecretConfig): string {
  return `key BUILDKITE_AGENT_TOKEN of Secret ${config.namespace}/${config.agentTokenSecret}`;
}

/** The token's cluster; refuses an unclustered token (`job-source: stacks`). */
export function requireClusterToken(info: AgentTokenInfo, config: SecretConfig): string {
  if (info.clusterUuid === undefined) {
    throw new AgentStackError(
      "ASK_BUILDKITE_UNCLUSTERED_AGENT_TOKEN",
      `${UNCLUSTERED_TOKEN_MESSAGE} (job-source stacks needs one, in ${tokenWhere(config)})`,
    );
  }
  return info.clusterUuid;
}

export interface GraphqlClusterOptions {
  readonly client: Pick<StacksApiClient, "tokenInfo">;
  readonly config: Pick<Config, "clusterUuid" | "namespace" | "agentTokenSecret">;
  readonly logger: Logger;
}

/**
 * The cluster the GraphQL job source polls: `cluster-uuid`, or the agent token's when it is empty;
 * "" (the unclustered queue) when it is empty and the token belongs to no cluster.
 */
export async function resolveGraphqlCluster(
  options: GraphqlClusterOptions,
  signal: AbortSignal,
): Promise<string> {
  const { client, config, logger } = options;
  const configured = config.clusterUuid;
  let info: AgentTokenInfo;
  try {
    info = await client.tokenInfo(signal);
  } catch (error) {
    if (signal.aborted || !isAgentStackError(error)) throw error;
    if (configured !== "") {
      logger.warn(
        { clusterUuid: configured, err: error.message },
        "cannot read which cluster the agent token belongs to; polling cluster-uuid's cluster unchecked",
      );
      return configured;
    }
    throw new AgentStackError(
      error.code,
      `cluster-uuid is empty and the agent token's cluster cannot be read (${error.message}): set cluster-uuid to the UUID of the Buildkite cluster whose queue the launcher polls, or make the token readable (agent-token-secret ${config.agentTokenSecret}, key BUILDKITE_AGENT_TOKEN, in namespace ${config.namespace}; agent-config.endpoint for Buildkite's Agent API)`,
      { cause: error },
    );
  }
  if (info.clusterUuid === undefined && configured === "") {
    logger.info(
      { organization: info.organizationSlug },
      "cluster-uuid is empty and the agent token belongs to no cluster: polling the organization's unclustered queue (an install without clusters); for a cluster's jobs, use a cluster agent token, or set cluster-uuid",
    );
    return "";
  }
  if (info.clusterUuid === undefined) {
    throw new AgentStackError(
      "ASK_BUILDKITE_UNCLUSTERED_AGENT_TOKEN",
      `the agent token (${tokenWhere(config)}) belongs to no cluster, so agents started with it cannot run the jobs of cluster-uuid ${configured}: put a cluster agent token of that cluster in the Secret`,
    );
  }
  if (configured === "") {
    logger.info(
      { clusterUuid: info.clusterUuid, clusterName: info.clusterName },
      "cluster-uuid is empty: polling the agent token's cluster",
    );
    return info.clusterUuid;
  }
  if (configured.toLowerCase() !== info.clusterUuid.toLowerCase()) {
    throw new AgentStackError(
      "ASK_BUILDKITE_CLUSTER_MISMATCH",
      `cluster-uuid is ${configured} but the agent token (${tokenWhere(config)}) belongs to cluster ${info.clusterUuid}${info.clusterName ? ` (${info.clusterName})` : ""}: agents started with it could not run the jobs polled; set cluster-uuid to ${info.clusterUuid} or use that cluster's agent token`,
    );
  }
  return configured;
}
