/**
 * `job-source: graphql`, as upstream v0.26.0: `buildkite-token` and `org` poll the GraphQL API, a
 * throw-away agent with the agent token fails jobs. With `cluster-uuid` empty the agent token says
 * which cluster to poll (`GET token`): its cluster, or the unclustered queue for an unclustered token
 * (`token-cluster.ts`).
 */
import { VERSION } from "../../src/version.ts";
import type { ConnectOptions, JobSourceConnection } from "./connect.ts";
import { graphqlClientFromConfig } from "./graphql-client.ts";
import { GraphqlJobSource, isFatalJobSourceError } from "./graphql-job-source.ts";
import { jobFailerFromConfig } from "./job-failer.ts";
import { stacksClientFromConfig } from "./stacks-api.ts";
import { resolveGraphqlCluster } from "./token-cluster.ts";

export async function connectGraphql(
  options: ConnectOptions,
  signal: AbortSignal,
): Promise<JobSourceConnection> {
  const { config, logger, tokenProvider } = options;
  const tokenInfo = stacksClientFromConfig(config, { tokenProvider, version: VERSION, logger });
  const clusterUuid = await resolveGraphqlCluster({ client: tokenInfo, config, logger }, signal);
  const polled = { ...config, clusterUuid };
  return {
    source: new GraphqlJobSource({
      client: graphqlClientFromConfig(polled, logger, options.env),
      config: polled,
      logger,
    }),
    failer: jobFailerFromConfig(config, { tokenProvider, version: VERSION, logger }),
    isFatal: isFatalJobSourceError,
    disconnect: async () => undefined,
  };
}
