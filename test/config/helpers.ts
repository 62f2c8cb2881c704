/** Loading configuration in tests: args, env and an in-memory config file. */
import { expect } from "vitest";
import type { CommandFlag } from "../../src/config/args.ts";
import { type LoadedConfig, type LoadOptions, loadConfig } from "../../src/config/load.ts";
import { ConfigError, type ConfigProblem } from "../../src/config/problems.ts";

export const CONFIG_PATH = "/etc/agent-stack-k8s/config.yaml";

export interface TestLoad {
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The text of the config file at CONFIG_PATH; passing it also passes `--config CONFIG_PATH`. */
  readonly file?: string;
  readonly subcommand?: string;
  readonly commandFlags?: readonly CommandFlag[];
}

export function load(options: TestLoad = {}): LoadedConfig<readonly CommandFlag[]> {
  const args =
    options.file === undefined ? (options.args ?? []) : ["--config", CONFIG_PATH, ...(options.args ?? [])];
  const loadOptions: LoadOptions<readonly CommandFlag[]> = {
    args,
    env: options.env ?? {},
    commandFlags: options.commandFlags ?? [],
    readFile: (path) => {
      if (path === CONFIG_PATH && options.file !== undefined) return options.file;
      throw new Error(`ENOENT: no such file or directory, open '${path}'`);
    },
    ...(options.subcommand === undefined ? {} : { subcommand: options.subcommand }),
  };
  return loadConfig(loadOptions);
}

/** The ConfigError a load throws; fails the test if it does not throw one. */
export function loadError(options: TestLoad): ConfigError {
  try {
    load(options);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected the configuration to be refused");
}

/** The single problem of a refused load. */
export function problemOf(options: TestLoad): ConfigProblem {
  const error = loadError(options);
  expect(error.problems.map((problem) => problem.message)).toHaveLength(1);
  const [problem] = error.problems;
  if (problem === undefined) throw new Error("no problem");
  return problem;
}
