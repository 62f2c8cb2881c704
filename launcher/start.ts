/**
 * The launcher process, once its flags are good (`command.ts`): the logger, the Kubernetes client,
 * the metrics registry and the parts of the pipeline (`launcher.ts` draws it), then `runLauncher` until
 * SIGTERM or SIGINT. A fatal Buildkite error (an organization the token cannot see) ends it with 1.
 */
import { collectDefaultMetrics, Registry } from "prom-client";
import { type CommandIo, lineStream, onTermination } from "../runtime/command-io.ts";
import { loadKubeConfig } from "../runtime/kube-config.ts";
import { createLogger } from "../runtime/logger.ts";
import { createRateLimiter } from "../runtime/rate-limiter.ts";
import { loggableConfig } from "../src/config/loggable.ts";
import type { Config } from "../src/config/types.ts";
import { VERSION } from "../src/version.ts";
import { graphqlClientFromConfig } from "./buildkite/graphql-client.ts";
import { GraphqlJobSource, isFatalJobSourceError } from "./buildkite/graphql-job-source.ts";
import { jobFailerFromConfig } from "./buildkite/job-failer.ts";
import type { LauncherCommandContext } from "./command.ts";
import { createAgentTokenProvider } from "./kubernetes/agent-token.ts";
import { createClusterJobs } from "./kubernetes/cluster-jobs.ts";
import { createJobCreator } from "./kubernetes/job-creator.ts";
import { createKubernetesWatchers } from "./kubernetes/watchers.ts";
import { runLauncher } from "./launcher.ts";

export interface LauncherStart {
  readonly config: Config;
  readonly warnings: readonly string[];
  /** Where `/healthz`, `/readyz` and `/metrics` are served. */
  readonly port: number;
}

export async function startLauncher(
  start: LauncherStart,
  io: CommandIo,
  context: LauncherCommandContext,
): Promise<number> {
  const { config, port } = start;
  const logger = createLogger({ name: "launcher", config, destination: lineStream(io.stdout) });
  for (const warning of start.warnings) logger.warn(warning);
  logger.debug({ config: loggableConfig(config) }, "configuration loaded");

  const kubeConfig = context.kubeConfig ?? loadKubeConfig();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const source = new GraphqlJobSource({
    client: graphqlClientFromConfig(config, logger, io.env),
    config,
    logger,
  });
  const tokenProvider = createAgentTokenProvider({ kubeConfig, config, logger, registry });
  const failer = jobFailerFromConfig(config, { tokenProvider, version: VERSION, logger });
  const jobs = createClusterJobs({ kubeConfig, config, logger, registry });
  const creator = createJobCreator({ kubeConfig, config, registry });
  const watchers = createKubernetesWatchers({ kubeConfig, config, jobs, failer, source, logger, registry });

  const controller = new AbortController();
  const removeSignalHandlers = onTermination((signal) => {
    logger.info({ signal }, "shutting down: no new polls, finishing the creates under way");
    controller.abort(new Error(`received ${signal}`));
  });
  context.signal?.addEventListener("abort", () => controller.abort(context.signal?.reason), { once: true });
  try {
    await runLauncher(
      {
        config,
        parts: { source, failer, jobs, creator, watchers },
        rateLimiter: createRateLimiter({
          qps: config.k8sClientRateLimiterQps,
          burst: config.k8sClientRateLimiterBurst,
        }),
        logger,
        registry,
        isFatal: isFatalJobSourceError,
        port,
        ...(context.onStarted ? { onStarted: context.onStarted } : {}),
      },
      controller.signal,
    );
    return 0;
  } catch (error) {
    logger.error({ err: (error as Error).message }, "the launcher cannot go on");
    io.stderr(`agent-stack-k8s launcher: ${(error as Error).message}\n`);
    return 1;
  } finally {
    removeSignalHandlers();
  }
}
