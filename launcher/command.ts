/**
 * `agent-stack-k8s launcher`: polls Buildkite and creates skeleton Jobs until SIGTERM or SIGINT, then
 * stops polling, creates what it reserved (Stacks API), deregisters its stack and exits 0; a second
 * signal exits at once. A Buildkite error that polling again cannot fix (an organization the token
 * cannot see, an unclustered agent token for the Stacks API, a refused token) exits 1 with the reason;
 * bad configuration exits 2 before anything starts.
 *
 * This module reads the flags and the configuration and answers `--help`; `start.ts`, imported once
 * they are good, builds and runs the launcher (and loads the Kubernetes and Buildkite clients).
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { CommandIo } from "../runtime/command-io.ts";
import { parsePort } from "../runtime/ops-server.ts";
import type { CommandFlag } from "../src/config/args.ts";
import { formatHelp } from "../src/config/help.ts";
import { JOB_SOURCE_RULE } from "../src/config/job-source.ts";
import { loadConfig } from "../src/config/load.ts";
import { AgentStackError } from "../src/errors.ts";

export const LAUNCHER_FLAGS = [
  {
    name: "port",
    valueName: "PORT",
    type: "string",
    default: "8080",
    description: "HTTP port of GET /healthz, /readyz and /metrics; 0 picks a free port",
  },
] as const satisfies readonly CommandFlag[];

const HELP = {
  summary: `Polls Buildkite for scheduled jobs and creates their Jobs, then watches them (runs until SIGTERM).\n${JOB_SOURCE_RULE}`,
} as const;

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
    io.stdout(`${formatHelp("launcher", LAUNCHER_FLAGS, HELP)}\n`);
    return 0;
  }
  if (loaded.positionals.length > 0) usage(`unexpected argument ${JSON.stringify(loaded.positionals[0])}`);
  const port =
    parsePort(loaded.flags.port) ??
    usage(`--port ${JSON.stringify(loaded.flags.port)}: expected a port 0–65535`);
  const { startLauncher } = await import("./start.ts");
  return startLauncher(
    { config: loaded.config, sources: loaded.sources, warnings: loaded.warnings, port },
    io,
    context,
  );
}

function usage(message: string): never {
  throw new AgentStackError("ASK_CLI_USAGE", `launcher: ${message} (see agent-stack-k8s launcher --help)`);
}
