/**
 * How configuration problems are reported: each names the key (or the exact path inside a structured
 * key), where the value came from, the value and what is expected. The loader collects every problem
 * before failing, so one run shows everything to fix.
 */
import { AgentStackError, type ErrorCode } from "../errors.ts";

/** Where a configuration value came from. */
export type ConfigSource =
  | { readonly kind: "default" }
  | { readonly kind: "file"; readonly file: string; readonly line?: number }
  | { readonly kind: "env"; readonly name: string }
  | { readonly kind: "flag"; readonly flag: string };

/** `file /etc/config.yaml:3`, `env MAX_IN_FLIGHT`, `flag --max-in-flight`, `default`. */
export function describeSource(source: ConfigSource): string {
  switch (source.kind) {
    case "default":
      return "default";
    case "file":
      return source.line === undefined ? `file ${source.file}` : `file ${source.file}:${source.line}`;
    case "env":
      return `env ${source.name}`;
    case "flag":
      return `flag ${source.flag}`;
  }
}

export interface ConfigProblem {
  readonly code: ErrorCode;
  /** The top-level key (or flag) the problem is about. */
  readonly key: string;
  /** The exact place: the key, `tags[2]`, `pod-spec-patch.containers[0].image`, `--max-inflight`. */
  readonly path: string;
  /** The whole sentence, starting with the path. */
  readonly message: string;
}

const MAX_VALUE_TEXT = 80;

/** A value as it appears in a message: strings quoted, structures as JSON, long text cut. */
export function formatValue(value: unknown): string {
  const text = value === undefined ? "undefined" : JSON.stringify(value);
  return text.length > MAX_VALUE_TEXT ? `${text.slice(0, MAX_VALUE_TEXT - 1)}…` : text;
}

/** `max-in-flight: "abc" (from env MAX_IN_FLIGHT) is not an integer; expected an integer ≥ 0` */
export function invalidValue(
  key: string,
  path: string,
  value: unknown,
  source: ConfigSource,
  problem: string,
  expected: string,
): ConfigProblem {
  return {
    code: "ASK_CONFIG_INVALID_VALUE",
    key,
    path,
    message: `${path}: ${formatValue(value)} (from ${describeSource(source)}) ${problem}; expected ${expected}`,
  };
}

/** A rule upstream words itself: `<path>: <upstream message> (from <source>)`. */
export function ruleViolation(
  key: string,
  path: string,
  source: ConfigSource,
  message: string,
): ConfigProblem {
  return {
    code: "ASK_CONFIG_INVALID_VALUE",
    key,
    path,
    message: `${path}: ${message} (from ${describeSource(source)})`,
  };
}

export function cliUsage(flag: string, message: string): ConfigProblem {
  return { code: "ASK_CLI_USAGE", key: flag, path: flag, message };
}

/**
 * Every problem of one load. The code is the first problem's, except that a command-line mistake wins:
 * the CLI prints usage for it. All of these codes mean exit status 2.
 */
export class ConfigError extends AgentStackError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const first = problems.find((problem) => problem.code === "ASK_CLI_USAGE") ?? problems[0];
    if (first === undefined) throw new Error("ConfigError needs at least one problem");
    super(first.code, problems.map((problem) => problem.message).join("\n"), { path: first.path });
    this.name = "ConfigError";
    this.problems = problems;
  }
}
