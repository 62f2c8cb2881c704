/**
 * The launcher process, once its flags are good (`command.ts`): the logger, the Kubernetes client, the
 * metrics registry, the connection to Buildkite through the job source in use (`buildkite/connect.ts`)
 * and the parts of the pipeline (`launcher.ts` draws it), then `runLauncher` until SIGTERM or SIGINT,
 * then the connection is closed. A Buildkite error that polling again cannot fix ends it with 1.
 */
import { collectDefaultMetrics, Registry } from "prom-client";
import { type CommandIo, lineStream, onTermination } from "../runtime/command-io.ts";
import { loadKubeConfig } from "../runtime/kube-config.ts";
import { createLogger, type Logger } from "../runtime/logger.ts";
import { createRateLimiter } from "../runtime/rate-limiter.ts";
import { JOB_SOURCE_TITLES, jobSourceReason } from "../src/config/job-source.ts";
import type { LoadedConfig } from "../src/config/load.ts";
import { loggableConfig } from "../src/config/loggable.ts";
import type { Config } from "../src/config/types.ts";
import { connectJobSource, type JobSourceConnection } from "./buildkite/connect.ts";
import { withCreatedNotes } from "./buildkite/stack-notifier.ts";
import type { LauncherCommandContext } from "./command.ts";
import { createAgentTokenProvider } from "./kubernetes/agent-token.ts";
import { createClusterJobs } from "./kubernetes/cluster-jobs.ts";
import { createJobCreator } from "./kubernetes/job-creator.ts";
import { createKubernetesWatchers } from "./kubernetes/watchers.ts";
import { runLauncher } from "./launcher.ts";

export interface LauncherStart {
  readonly config: Config;
  /** Where each key's value came from: the log says why the job source is the one in use. */
  readonly sources: LoadedConfig["sources"];
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
  logJobSource(start, logger);

  const kubeConfig = context.kubeConfig ?? loadKubeConfig();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const controller = new AbortController();
  const removeSignalHandlers = onTermination((signal) => {
    logger.info(
      { signal },
      config.jobSource === "stacks"
        ? "shutting down: no new polls; the jobs this stack reserved get their Jobs, then it deregisters"
        : "shutting down: no new polls; creates under way stop, and their jobs stay scheduled on Buildkite",
    );
    controller.abort(new Error(`received ${signal}`));
  });
  const stopFromContext = () => controller.abort(context.signal?.reason);
  // A test may stop the launcher before it got here.
  if (context.signal?.aborted) stopFromContext();
  else context.signal?.addEventListener("abort", stopFromContext, { once: true });
  let connection: JobSourceConnection | undefined;
  try {
    const tokenProvider = createAgentTokenProvider({ kubeConfig, config, logger, registry });
    const jobs = createClusterJobs({ kubeConfig, config, logger, registry });
    connection = await connectJobSource(
      { config, logger, env: io.env, tokenProvider, jobs },
      controller.signal,
    );
    const { source, failer, notifier } = connection;
    const creator = withCreatedNotes(createJobCreator({ kubeConfig, config, registry }), notifier);
    const watchers = createKubernetesWatchers({
      kubeConfig,
      config,
      jobs,
      failer,
      source,
      logger,
      registry,
      ...(notifier === undefined ? {} : { notifier }),
      ...(connection.stateBatchSize === undefined ? {} : { stateBatchSize: connection.stateBatchSize }),
    });
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
        isFatal: connection.isFatal,
        port,
        ...(context.onStarted ? { onStarted: context.onStarted } : {}),
      },
      controller.signal,
    );
    return 0;
  } catch (error) {
    // Stopped while connecting: nothing went wrong.
    if (controller.signal.aborted && connection === undefined) return 0;
    logger.error({ err: (error as Error).message }, "the launcher cannot go on");
    io.stderr(`agent-stack-k8s launcher: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await connection?.disconnect();
    removeSignalHandlers();
  }
}

/** One line at start: the job source in use, and why. */
function logJobSource(start: LauncherStart, logger: Logger): void {
  const { config, sources } = start;
  logger.info(
    { jobSource: config.jobSource, reason: jobSourceReason(config, sources) },
    `finding jobs through ${JOB_SOURCE_TITLES[config.jobSource]} (job-source ${config.jobSource})`,
  );
}
