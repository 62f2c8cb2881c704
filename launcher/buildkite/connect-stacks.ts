/**
 * `job-source: stacks`, as upstream HEAD (controller-runtime.md §8): the agent token alone.
 *
 *   connect: GET token (a cluster token, or exit 1) → POST stacks/register
 *   run:     list → reserve (no more than the launcher could start now) → details → Jobs;
 *            failures → finish (exit -1); notes after each Job created and for image failures of jobs
 *            an agent has; states for the watchers and the cancel checker, 1000 per request
 *   stop:    the reserved jobs' Jobs created (`launcher.ts`, 10 s at most) → notes sent (2 s)
 *            → deregister (5 s): well inside the chart's 30 s of termination grace
 *
 * The Stacks API cannot cancel a job (no `cancelJob`): where the GraphQL source would cancel, the note
 * on the job's page says why it will fail.
 */
import { VERSION } from "../../src/version.ts";
import type { ConnectOptions, JobSourceConnection } from "./connect.ts";
import { StackNotifier } from "./stack-notifier.ts";
import { connectStack, disconnectStack } from "./stack-session.ts";
import { STACKS_BATCH_SIZE, stacksClientFromConfig } from "./stacks-api.ts";
import { StacksJobFailer } from "./stacks-job-failer.ts";
import { isFatalStacksError, StacksJobSource } from "./stacks-job-source.ts";

export async function connectStacks(
  options: ConnectOptions,
  signal: AbortSignal,
): Promise<JobSourceConnection> {
  const { config, logger, jobs } = options;
  const client = stacksClientFromConfig(config, {
    tokenProvider: options.tokenProvider,
    version: VERSION,
    logger,
  });
  const session = await connectStack({ client, config, logger }, signal);
  const notifier = new StackNotifier({ client, session, logger });
  notifier.start();
  const source = new StacksJobSource({
    client,
    session,
    config,
    logger,
    clusterHas: (uuid) => jobs.has(uuid),
    // Reserve no more than can start now: a job reserved here cannot go to another launcher.
    ...(config.maxInFlight > 0 ? { reserveLimit: () => config.maxInFlight - jobs.inFlight() } : {}),
  });
  return {
    source,
    failer: new StacksJobFailer({ client, session, logger }),
    notifier,
    isFatal: isFatalStacksError,
    stateBatchSize: STACKS_BATCH_SIZE,
    async disconnect() {
      await notifier.stop();
      await disconnectStack(client, session, logger);
    },
  };
}
