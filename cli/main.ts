/**
 * The `agent-stack-k8s` executable: one binary, one subcommand per role. Exit status 0 on success,
 * 1 when the work itself fails (a job `render` would fail), 2 for bad usage or configuration.
 *
 * Start-up is a feature: this module loads nothing but the error catalog and the version, and each
 * subcommand's module is imported only when that subcommand runs (`load`). A command module in turn
 * reads its flags and answers `--help` before it imports what does the work (a server, the Kubernetes
 * client), so `version` and every `--help` stay fast and small. New subcommands follow the same shape:
 * a summary, and a `load` that imports the module.
 */
import { type CommandIo, processIo } from "../runtime/command-io.ts";
import { ConfigError } from "../src/config/problems.ts";
import { AgentStackError, isAgentStackError } from "../src/errors.ts";
import { VERSION } from "../src/version.ts";

/** A subcommand's entry point; servers resolve when they have shut down. */
export type Command = (args: readonly string[], io: CommandIo) => number | Promise<number>;

interface Subcommand {
  readonly summary: string;
  /** Imports the subcommand's module on use and returns its entry point. */
  readonly load: () => Promise<Command>;
}

const SUBCOMMANDS: Readonly<Record<string, Subcommand>> = {
  render: {
    summary: "print the Job a Buildkite job, or each command step of a pipeline, becomes (no cluster needed)",
    load: async () => (await import("./render.ts")).renderCommand,
  },
  lint: {
    summary:
      "check pipeline files: Buildkite's schema, the kubernetes plugin, and every step expanded as the webhook would",
    load: async () => (await import("./lint.ts")).lintCommand,
  },
  schema: {
    summary: "print a JSON Schema for pipeline files with the kubernetes plugin fully typed, for editors",
    load: async () => (await import("./schema.ts")).schemaCommand,
  },
  launcher: {
    summary: "poll Buildkite for scheduled jobs and create their Jobs; watch them (runs until SIGTERM)",
    load: async () => (await import("../launcher/command.ts")).launcherCommand,
  },
  webhook: {
    summary: "run the admission webhook server that expands labelled Jobs (HTTPS; runs until SIGTERM)",
    load: async () => (await import("../webhook/command.ts")).webhookCommand,
  },
  certs: {
    summary:
      "create and renew the webhook's CA and serving certificate (files, or a Secret and the caBundle)",
    load: async () => (await import("../certs/command.ts")).certsCommand,
  },
  diagnose: {
    summary:
      "collect what support asks for (logs, Jobs, Events, configuration, webhook, permissions) into one archive",
    load: async () => (await import("../diagnose/command.ts")).diagnoseCommand,
  },
  version: {
    summary: "print the version",
    load: async () => versionCommand,
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
  if (name === "--version") return versionCommand([], io);
  const subcommand = SUBCOMMANDS[name];
  if (!subcommand) {
    io.stderr(`agent-stack-k8s: unknown command ${JSON.stringify(name)}\n\n${usageText()}`);
    return 2;
  }
  try {
    const command = await subcommand.load();
    return await command(args, io);
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
