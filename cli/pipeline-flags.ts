/**
 * What `render` and `lint` share: the flags that say how a pipeline is read (`--pod-template`,
 * `--env`, `--no-interpolation`), and loading their configuration, which refuses the other commands'
 * flags and recognises a pipeline given as `--config` (upstream's `lint -f pipeline.yml` habit).
 */

import { type CommandIo, readInput } from "../runtime/command-io.ts";
import type { CommandFlag } from "../src/config/args.ts";
import { type LoadedConfig, loadConfig } from "../src/config/load.ts";
import { ConfigError } from "../src/config/problems.ts";
import { AgentStackError } from "../src/errors.ts";
import type { PodTemplateResolver } from "../src/expand/index.ts";
import { podTemplatesFrom } from "../src/render/pod-templates.ts";

export const PIPELINE_FLAGS = [
  {
    name: "pod-template",
    valueName: "FILE",
    type: "stringList",
    description: "PodTemplate objects (YAML or JSON) that steps name with podTemplate",
  },
  {
    name: "env",
    valueName: "NAME=VALUE",
    type: "stringList",
    description:
      "a build variable, for $VAR interpolation and the jobs' env (added to render's example build: BUILDKITE_BRANCH=main…)",
  },
  {
    name: "no-interpolation",
    type: "bool",
    description:
      "leave $VAR in the pipeline as written, as buildkite-agent pipeline upload --no-interpolation does",
  },
] as const satisfies readonly CommandFlag[];

/** `loadConfig` for `render` and `lint`, with their hints for the mistakes users make with them. */
export function loadPipelineCommandConfig<const Flags extends readonly CommandFlag[]>(
  command: "render" | "lint",
  args: readonly string[],
  io: CommandIo,
  commandFlags: Flags,
): LoadedConfig<Flags> {
  try {
    return loadConfig({
      args,
      env: io.env,
      commandFlags,
      subcommand: command,
      readFile: io.readInput,
      refuseOtherCommandsFlags: true,
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw withPipelineHint(command, args, error);
  }
}

/**
 * `-f pipeline.yml` is `--config pipeline.yml` here, as in the upstream controller; `--file` is no flag
 * at all. Both are what upstream's `lint -f FILE` taught, so they get a pointed message.
 */
function withPipelineHint(
  command: "render" | "lint",
  args: readonly string[],
  error: ConfigError,
): AgentStackError {
  const how = command === "render" ? "--pipeline FILE" : "the file as an argument: agent-stack-k8s lint FILE";
  if (error.problems.some((problem) => problem.path === "--file")) {
    return usage(command, `--file is not a flag of ${command}: give the pipeline with ${how}`);
  }
  const configFile = configFileArgument(args);
  const isPipeline = error.problems.some(
    (problem) => problem.code === "ASK_CONFIG_UNKNOWN_KEY" && problem.key === "steps",
  );
  if (configFile === undefined || !isPipeline) return error;
  return usage(
    command,
    `${configFile} is a pipeline, not a configuration file (-f is --config, as in the upstream controller): give it with ${how.replace("FILE", configFile)}`,
  );
}

function configFileArgument(args: readonly string[]): string | undefined {
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    if (arg === "-f" || arg === "--config") return args[index + 1];
    if (arg.startsWith("--config=")) return arg.slice("--config=".length);
    if (arg.startsWith("-f") && arg.length > 2) return arg.slice(arg.startsWith("-f=") ? 3 : 2);
  }
  return undefined;
}

/** `--env NAME=VALUE…` as a record; a later one wins. */
export function envFlags(command: string, values: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const value of values) {
    const equals = value.indexOf("=");
    if (equals <= 0) usage(command, `--env ${JSON.stringify(value)}: expected NAME=VALUE`);
    env[value.slice(0, equals)] = value.slice(equals + 1);
  }
  return env;
}

export function podTemplateFiles(io: CommandIo, paths: readonly string[]): PodTemplateResolver {
  return podTemplatesFrom(paths.map((path) => ({ path, text: readInput(io, path, "--pod-template") })));
}

export function usage(command: string, message: string): never {
  throw new AgentStackError("ASK_CLI_USAGE", `${message} (see agent-stack-k8s ${command} --help)`);
}
