/**
 * `agent-stack-k8s lint [flags] FILE...`: checks pipeline files offline (see `src/lint/index.ts`) and
 * prints one problem per line, `FILE:LINE:COL: error|warning: message (CODE)`, or a JSON array. Exit
 * status 0 without errors (warnings allowed unless --strict), 1 with errors (or warnings under
 * --strict), 2 for bad usage or a file that cannot be read or parsed.
 */

import type { CommandIo } from "../runtime/command-io.ts";
import type { CommandFlag } from "../src/config/args.ts";
import { formatHelp } from "../src/config/help.ts";
import { lintPipeline } from "../src/lint/index.ts";
import { formatJson, formatText, type Problem } from "../src/lint/problem.ts";
import {
  envFlags,
  loadPipelineCommandConfig,
  PIPELINE_FLAGS,
  podTemplateFiles,
  usage,
} from "./pipeline-flags.ts";

export const LINT_FLAGS = [
  ...PIPELINE_FLAGS,
  { name: "strict", type: "bool", description: "warnings fail the run too (exit status 1)" },
  {
    name: "format",
    type: "string",
    values: ["text", "json"],
    default: "text",
    description:
      "text: FILE:LINE:COL: severity: message (CODE), one per line; json: an array of the same fields",
  },
] as const satisfies readonly CommandFlag[];

const HELP = {
  arguments: "[flags] FILE...",
  summary:
    "Checks pipeline files (- reads stdin) offline: Buildkite's pipeline schema, the kubernetes plugin and the Kubernetes\nobjects in it, every step expanded as the webhook would expand it, and what the API server would refuse.\nExit status: 0 no errors, 1 errors (or warnings with --strict), 2 bad usage or unreadable input.",
  refusesOtherCommandsFlags: true,
} as const;

export function lintCommand(args: readonly string[], io: CommandIo): number {
  const loaded = loadPipelineCommandConfig("lint", args, io, LINT_FLAGS);
  if (loaded.help) {
    io.stdout(`${formatHelp("lint", LINT_FLAGS, HELP)}\n`);
    return 0;
  }
  const { flags, config, positionals: files } = loaded;
  if (files.length === 0) usage("lint", "give the pipeline files to check: agent-stack-k8s lint FILE...");
  for (const warning of loaded.warnings) io.stderr(`agent-stack-k8s lint: warning: ${warning}\n`);
  const context = {
    config,
    podTemplates: podTemplateFiles(io, flags["pod-template"]),
    interpolate: !flags["no-interpolation"],
    env: envFlags("lint", flags.env),
  };
  const problems: Problem[] = [];
  let unusable = false;
  for (const file of files) {
    let text: string;
    try {
      text = io.readInput(file);
    } catch (error) {
      io.stderr(
        `agent-stack-k8s lint: ${file}: cannot read it: ${(error as Error).message} (ASK_INPUT_UNREADABLE)\n`,
      );
      unusable = true;
      continue;
    }
    const result = lintPipeline(file, text, context);
    problems.push(...result.problems);
    unusable ||= result.unparseable;
  }
  io.stdout(flags.format === "json" ? formatJson(problems) : formatText(problems));
  if (unusable) return 2;
  const failing = problems.some((problem) => problem.severity === "error" || flags.strict);
  return failing ? 1 : 0;
}
