/**
 * The `agent-stack-k8s` executable: one binary, one subcommand per role. Exit status 0 on success,
 * 1 when the work itself fails (a job `render` would fail), 2 for bad usage or configuration.
 */
import { type AgentStackError, isAgentStackError } from "../src/errors.ts";
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
    run: (_args, io) => {
      io.stdout(`${VERSION}\n`);
      return 0;
    },
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
    io.stderr(`agent-stack-k8s ${name}: ${describe(error)}\n`);
    return USAGE_STAGES.has(error.stage) ? 2 : 1;
  }
}

function describe(error: AgentStackError): string {
  const multiline = error.message.includes("\n");
  return multiline ? `${error.code}\n${error.message}` : `${error.message} (${error.code})`;
}

function usageText(): string {
  const width = Math.max(...Object.keys(SUBCOMMANDS).map((name) => name.length));
  const rows = Object.entries(SUBCOMMANDS).map(
    ([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`,
  );
  return `Usage: agent-stack-k8s <command> [flags]\n\nCommands:\n${rows.join("\n")}\n\nRun agent-stack-k8s <command> --help for a command's flags and configuration.\n`;
}
