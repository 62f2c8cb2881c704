/**
 * The stack's life on Buildkite (controller-runtime.md §8): at start, `GET token` (an unclustered token
 * is refused) and `POST stacks/register` under the key `id` (or `agent-stack-k8s`) for the queue `queue`
 * (or the `queue` tag, or `_default`, the cluster's default queue); at shutdown, `POST
 * stacks/{key}/deregister` within 5 s, its failure only logged.
 */
import type { Logger } from "../../runtime/logger.ts";
import { queueTagValue } from "../../src/config/effective.ts";
import type { Config } from "../../src/config/types.ts";
import type { StacksApiClient } from "./stacks-api.ts";
import { requireClusterToken } from "./token-cluster.ts";

export const DEFAULT_STACK_KEY = "agent-stack-k8s";
/** The Stacks API's name for a cluster's default queue. */
export const DEFAULT_QUEUE_KEY = "_default";
/** What a job rule or a setting may use to mean the default queue. */
const DEFAULT_QUEUE_ALIASES: ReadonlySet<string> = new Set([DEFAULT_QUEUE_KEY, "~", "-"]);
const DEREGISTER_BUDGET_MS = 5_000;

export interface StackSession {
  /** The stack's key: `id`, or `agent-stack-k8s`. */
  readonly key: string;
  /** The queue registered for, as configured (`_default` for the default queue). */
  readonly queueKey: string;
  /** The cluster queue Buildkite resolved it to: what the scheduled-jobs list is asked for. */
  readonly clusterQueueKey: string;
  readonly clusterUuid: string;
  readonly organizationSlug: string;
}

export function stackKey(config: Pick<Config, "id">): string {
  return config.id || DEFAULT_STACK_KEY;
}

/** `queue`, else the `queue` tag, else `_default`. */
export function stackQueueKey(config: Pick<Config, "queue" | "tags">): string {
  return config.queue || queueTagValue(config.tags) || DEFAULT_QUEUE_KEY;
}

export function isDefaultQueue(queue: string): boolean {
  return DEFAULT_QUEUE_ALIASES.has(queue);
}

export interface ConnectStackOptions {
  readonly client: Pick<StacksApiClient, "tokenInfo" | "registerStack">;
  readonly config: Pick<Config, "id" | "queue" | "tags" | "namespace" | "agentTokenSecret">;
  readonly logger: Logger;
}

/** `GET token`, then `POST stacks/register`; throws (the launcher exits non-zero) when either fails. */
export async function connectStack(options: ConnectStackOptions, signal: AbortSignal): Promise<StackSession> {
  const { client, config, logger } = options;
  const info = await client.tokenInfo(signal);
  const clusterUuid = requireClusterToken(info, config);
  const key = stackKey(config);
  const queueKey = stackQueueKey(config);
  const registration = await client.registerStack({ key, queueKey }, signal);
  logger.info(
    {
      stack: key,
      queue: queueKey,
      clusterQueue: registration.clusterQueueKey,
      cluster: info.clusterName ?? clusterUuid,
      organization: info.organizationSlug,
    },
    "registered the stack with Buildkite",
  );
  return {
    key,
    queueKey,
    clusterQueueKey: registration.clusterQueueKey,
    clusterUuid,
    organizationSlug: info.organizationSlug,
  };
}

/** `POST stacks/{key}/deregister`, given 5 s whatever `signal` says (it is usually aborted by then). */
export async function disconnectStack(
  client: Pick<StacksApiClient, "deregisterStack">,
  session: StackSession,
  logger: Logger,
): Promise<void> {
  try {
    await client.deregisterStack(session.key, AbortSignal.timeout(DEREGISTER_BUDGET_MS));
    logger.info({ stack: session.key }, "deregistered the stack from Buildkite");
  } catch (error) {
    logger.warn(
      { stack: session.key, err: (error as Error).message },
      "could not deregister the stack; Buildkite will show it as lost",
    );
  }
}
