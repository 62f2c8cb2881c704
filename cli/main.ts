/**
 * The `agent-stack-k8s` executable: one binary, one subcommand per role. Exit status 0 on success,
 * 1 when the work itself fails (a job `render` would fail), 2 for bad usage or configuration.
 */
import { ConfigError } from "../src/config/problems.ts";
import { AgentStackError, isAgentStackError } from "../src/errors.ts";
import { VERSION } from "../src/version.ts";
import { type CommandIo, processIo } from "./io.ts";
import { renderCommand } from "./render.ts";

interface Subcommand {
  readonly summary: string;
  /** Servers resolve when they have shut down. */
  readonly run: (args: readonly string[], io: CommandIo) => number | Promise<number>;
}

const SUBCOMMANDS: Readonly<Record<string, Subcommand>> = {
  render: {
    summary: "print the Job a Buildkite job, or each command step of a pipeline, becomes (no cluster needed)",
    run: renderCommand,
  },
  lint: {
    summary:
      "check pipeline files: Buildkite's schema, the kubernetes plugin, and every step expanded as the webhook would",
    run: async (args, io) => (await import("./lint.ts")).lintCommand(args, io),
  },
  schema: {
    summary: "print a JSON Schema for pipeline files with the kubernetes plugin fully typed, for editors",
    run: async (args, io) => (await import("./schema.ts")).schemaCommand(args, io),
  },
  launcher: {
    summary: "poll Buildkite for scheduled jobs and create their Jobs; watch them (runs until SIGTERM)",
    run: async (args, io) => (await import("../launcher/command.ts")).launcherCommand(args, io),
  },
  webhook: {
    summary: "run the admission webhook server that expands labelled Jobs (HTTPS; runs until SIGTERM)",
    // Loaded on use: fastify, prom-client and the Kubernetes client would slow every other command's start.
    run: async (args, io) => (await import("../webhook/command.ts")).webhookCommand(args, io),
  },
  certs: {
    summary:
      "create and renew the webhook's CA and serving certificate (files, or a Secret and the caBundle)",
    run: async (args, io) => (await import("../certs/command.ts")).certsCommand(args, io),
  },
  diagnose: {
    summary:
      "collect what support asks for (logs, Jobs, Events, configuration, webhook, permissions) into one archive",
    run: async (args, io) => (await import("../diagnose/command.ts")).diagnoseCommand(args, io),
  },
  version: {
    summary: "print the version",
    run: versionCommand,
  },
};

/** Usage problems, configuration problems and unreadable input: the user has to change the command. */
const USAGE_STAGES = new Set(["cli", "config"]);

export async function main(argv: readonly string[], io: CommandIo = processIo()): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    io.stdout(usageText());
    return name === undefined ? 2 : 0;
  }
  if (name === "--version") return SUBCOMMANDS.version!.run([], io);
  const subcommand = SUBCOMMANDS[name];
  if (!subcommand) {
    io.stderr(`agent-stack-k8s: unknown command ${JSON.stringify(name)}\n\n${usageText()}`);
    return 2;
  }
  try {
    return await subcommand.run(args, io);
  } catch (error) {
    if (!isAgentStackError(error)) throw error;
    io.stderr(commandErrorText(name, error));
    return USAGE_STAGES.has(error.stage) ? 2 : 1;
  }
}

/**
 * Every command reports a failure the same way, one line per problem:
 * `agent-stack-k8s <command>: <message> (<CODE>)`.
 */
export function commandErrorText(command: string, error: AgentStackError): string {
  const problems = error instanceof ConfigError ? error.problems : [error];
  return problems
    .map((problem) => `agent-stack-k8s ${command}: ${problem.message} (${problem.code})\n`)
    .join("");
}

function versionCommand(args: readonly string[], io: CommandIo): number {
  if (args.length === 1 && (args[0] === "--help" || args[0] === "-h")) {
    io.stdout("Usage: agent-stack-k8s version\n\nPrints the version of agent-stack-k8s.\n");
    return 0;
  }
  if (args.length > 0) {
    throw new AgentStackError(
      "ASK_CLI_USAGE",
      `unexpected argument ${JSON.stringify(args[0])} (see agent-stack-k8s version --help)`,
    );
  }
  io.stdout(`${VERSION}\n`);
  return 0;
}

function usageText(): string {
  const width = Math.max(...Object.keys(SUBCOMMANDS).map((name) => name.length));
  const rows = Object.entries(SUBCOMMANDS).map(
    ([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`,
  );
  return `Usage: agent-stack-k8s <command> [flags]\n\nCommands:\n${rows.join("\n")}\n\nRun agent-stack-k8s <command> --help for a command's flags and configuration.\n`;
}
