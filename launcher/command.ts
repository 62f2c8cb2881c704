/**
 * `agent-stack-k8s launcher`: polls Buildkite and creates skeleton Jobs until SIGTERM or SIGINT, then
 * stops polling, lets the creates under way finish and exits 0; a second signal exits at once. A fatal
 * Buildkite error (an organization the token cannot see) exits 1 with the reason; bad configuration
 * exits 2 before anything starts.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { collectDefaultMetrics, Registry } from "prom-client";
import type { CommandIo } from "../cli/io.ts";
import { loadKubeConfig } from "../runtime/kube-config.ts";
import { createLogger, lineStream } from "../runtime/logger.ts";
import { parsePort } from "../runtime/ops-server.ts";
import { createRateLimiter } from "../runtime/rate-limiter.ts";
import type { CommandFlag } from "../src/config/args.ts";
import { formatHelp } from "../src/config/help.ts";
import { loadConfig } from "../src/config/load.ts";
import { loggableConfig } from "../src/config/loggable.ts";
import { AgentStackError } from "../src/errors.ts";
import { VERSION } from "../src/version.ts";
import { graphqlClientFromConfig } from "./buildkite/graphql-client.ts";
import { GraphqlJobSource, isFatalJobSourceError } from "./buildkite/graphql-job-source.ts";
import { jobFailerFromConfig } from "./buildkite/job-failer.ts";
import { createAgentTokenProvider } from "./kubernetes/agent-token.ts";
import { createClusterJobs } from "./kubernetes/cluster-jobs.ts";
import { createJobCreator } from "./kubernetes/job-creator.ts";
import { createKubernetesWatchers } from "./kubernetes/watchers.ts";
import { runLauncher } from "./launcher.ts";

export const LAUNCHER_FLAGS = [
  {
    name: "port",
    valueName: "PORT",
    type: "string",
    default: "8080",
    description: "HTTP port of GET /healthz, /readyz and /metrics; 0 picks a free port",
  },
] as const satisfies readonly CommandFlag[];

export interface LauncherCommandContext {
  /** Tests point the launcher at a fake API server; in production it is loaded the usual way. */
  readonly kubeConfig?: KubeConfig;
  /** Tests stop the launcher without a signal. */
  readonly signal?: AbortSignal;
  readonly onStarted?: (info: { port: number | undefined }) => void;
}

export async function launcherCommand(
  args: readonly string[],
  io: CommandIo,
  context: LauncherCommandContext = {},
): Promise<number> {
  const loaded = loadConfig({
    args,
    env: io.env,
    commandFlags: LAUNCHER_FLAGS,
    subcommand: "launcher",
    readFile: io.readInput,
  });
  if (loaded.help) {
    io.stdout(`${formatHelp("launcher", LAUNCHER_FLAGS)}\n`);
    return 0;
  }
  if (loaded.positionals.length > 0) usage(`unexpected argument ${JSON.stringify(loaded.positionals[0])}`);
  const { config } = loaded;
  const port =
    parsePort(loaded.flags.port) ??
    usage(`--port ${JSON.stringify(loaded.flags.port)}: expected a port 0–65535`);
  const logger = createLogger({ name: "launcher", config, destination: lineStream(io.stdout) });
  for (const warning of loaded.warnings) logger.warn(warning);
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
  const stopOnSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, "shutting down: no new polls, finishing the creates under way");
    process.off("SIGTERM", stopOnSignal);
    process.off("SIGINT", stopOnSignal);
    // 128 + the signal's number, as a shell reports a process the signal killed.
    process.once("SIGTERM", () => process.exit(143));
    process.once("SIGINT", () => process.exit(130));
    controller.abort(new Error(`received ${signal}`));
  };
  process.on("SIGTERM", stopOnSignal);
  process.on("SIGINT", stopOnSignal);
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
    process.off("SIGTERM", stopOnSignal);
    process.off("SIGINT", stopOnSignal);
  }
}

function usage(message: string): never {
  throw new AgentStackError("ASK_CLI_USAGE", `launcher: ${message} (see agent-stack-k8s launcher --help)`);
}
