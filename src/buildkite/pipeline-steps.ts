/**
 * The steps of a pipeline document: which ones become jobs, and what each command step says.
 *
 * Step types are told apart as Buildkite's pipeline parser does (go-pipeline `stepByType` /
 * `stepByKeyInference`): a `type` key decides; otherwise `command`, `commands`, `script` or `plugins`
 * make a command step (a step with only plugins is a command step with an empty command), then
 * `wait`/`waiter`, `block`/`input`/`manual`, `trigger` and `group`. The strings `wait`, `waiter`,
 * `block`, `input` and `manual` are steps too. Only command steps give jobs; groups are flattened
 * (Buildkite does not allow a group inside a group). The nested form `- command: {command: …, label: …}`
 * (in the pipeline schema as `nestedCommandStep`) is read as the inner step.
 */
import { type AgentRule, parseAgents } from "./agent-query-rules.ts";
import { hasMatrixToken, type MatrixCombination, matrixCombinations } from "./matrix.ts";
import {
  describe,
  type Entries,
  has,
  indexPath,
  inputError,
  isMapping,
  keyPath,
  lookup,
  mappingEntries,
  optionalInteger,
  optionalScalarText,
  requireList,
  requireMapping,
} from "./pipeline-input.ts";
import { parseStepPlugins, type StepPlugin } from "./step-plugins.ts";

export type EnvEntry = readonly [name: string, value: string];

/** A command step as written, before matrix and parallelism make jobs of it. */
export interface CommandStep {
  /** `steps[2]`, or `steps[2].command` for the nested form. */
  readonly path: string;
  readonly command: string;
  readonly key: string | undefined;
  readonly label: string | undefined;
  readonly image: string | undefined;
  /** `artifact_paths`, joined with `;` as Buildkite puts them in `BUILDKITE_ARTIFACT_PATHS`. */
  readonly artifactPaths: string | undefined;
  readonly env: readonly EnvEntry[];
  readonly plugins: readonly StepPlugin[];
  readonly agents: readonly AgentRule[];
  readonly priority: number | undefined;
  readonly parallelism: number | undefined;
  /** The combinations of `matrix`, or undefined when the step has no matrix. */
  readonly matrix: readonly MatrixCombination[] | undefined;
  /** `skip: true` or `skip: "reason"`: Buildkite never schedules the job. */
  readonly skipped: boolean;
}

interface StepSource {
  readonly entries: Entries;
  readonly path: string;
}

type StepKind = "command" | "group" | "other";

const NON_COMMAND_STRINGS = new Set(["wait", "waiter", "block", "input", "manual"]);
const COMMAND_TYPES = new Set(["command", "commands", "script"]);
const NON_COMMAND_TYPES = new Set(["wait", "waiter", "block", "input", "manual", "trigger"]);
const COMMAND_KEYS = ["command", "commands", "script", "plugins"];
const NON_COMMAND_KEYS = ["wait", "waiter", "block", "input", "manual", "trigger"];
const NESTABLE_KEYS = ["command", "commands", "script"];

/** The command steps of a list of steps, groups flattened, in document order. */
export function commandSteps(steps: readonly unknown[], listPath: string): CommandStep[] {
  return commandStepSources(steps, listPath, false).map(parseCommandStep);
}

function commandStepSources(steps: readonly unknown[], listPath: string, inGroup: boolean): StepSource[] {
  return steps.flatMap((step, index) => {
    const path = indexPath(listPath, index);
    if (typeof step === "string" && NON_COMMAND_STRINGS.has(step)) return [];
    const entries = mappingEntries(step, path);
    if (entries === undefined) {
      throw inputError(
        path,
        `expected a step (a mapping, or "wait", "block" or "input"), got ${describe(step)}`,
      );
    }
    const kind = stepKind(entries, path);
    if (kind === "other") return [];
    if (kind === "command") return [unnested(entries, path)];
    if (inGroup) throw inputError(path, "a group cannot contain another group");
    const groupStepsPath = keyPath(path, "steps");
    return commandStepSources(
      requireList(lookup(entries, "steps"), groupStepsPath, "a list of steps"),
      groupStepsPath,
      true,
    );
  });
}

function stepKind(entries: Entries, path: string): StepKind {
  const type = lookup(entries, "type");
  if (type !== undefined) return kindOfType(type, keyPath(path, "type"));
  const hasAny = (keys: readonly string[]): boolean => keys.some((key) => has(entries, key));
  if (hasAny(COMMAND_KEYS)) return "command";
  if (hasAny(NON_COMMAND_KEYS)) return "other";
  if (has(entries, "group")) return "group";
  throw inputError(
    path,
    "cannot tell what kind of step this is: expected a `command`, `commands`, `plugins`, `wait`, `block`, `input`, `trigger` or `group` key, or a `type`",
  );
}

function kindOfType(type: unknown, path: string): StepKind {
  if (typeof type !== "string") throw inputError(path, `expected a step type, got ${describe(type)}`);
  if (COMMAND_TYPES.has(type)) return "command";
  if (NON_COMMAND_TYPES.has(type)) return "other";
  if (type === "group") return "group";
  throw inputError(path, `unknown step type ${JSON.stringify(type)}`);
}

/** The inner step of `- command: {…}`, or the step itself. */
function unnested(entries: Entries, path: string): StepSource {
  const nestedKey = NESTABLE_KEYS.find((key) => isMapping(lookup(entries, key)));
  if (nestedKey === undefined) {
    if (has(entries, "script")) {
      throw inputError(
        keyPath(path, "script"),
        "expected a nested command step mapping; write the command in `command`",
      );
    }
    return { entries, path };
  }
  const innerPath = keyPath(path, nestedKey);
  if (entries.length !== 1) {
    throw inputError(
      innerPath,
      `a nested command step (\`${nestedKey}: {…}\`) must be the only key of its step`,
    );
  }
  const inner = requireMapping(lookup(entries, nestedKey), innerPath, "a command step");
  const doublyNested = NESTABLE_KEYS.find((key) => isMapping(lookup(inner, key)));
  if (doublyNested !== undefined) {
    throw inputError(keyPath(innerPath, doublyNested), "expected a command string, got a nested step");
  }
  return { entries: inner, path: innerPath };
}

function parseCommandStep({ entries, path }: StepSource): CommandStep {
  const field = (key: string): unknown => lookup(entries, key);
  const at = (key: string): string => keyPath(path, key);
  const matrix =
    field("matrix") === undefined ? undefined : matrixCombinations(field("matrix"), at("matrix"));
  const parallelism = parseParallelism(field("parallelism"), at("parallelism"));
  if (matrix !== undefined && parallelism !== undefined) {
    throw inputError(
      path,
      "`matrix` and `parallelism` cannot be used on the same step (Buildkite refuses it)",
    );
  }
  const key = firstText(entries, path, ["key", "id", "identifier"]);
  if (matrix !== undefined && key !== undefined && hasMatrixToken(key)) {
    throw inputError(
      at("key"),
      "matrix values cannot be used in a step key (Buildkite only interpolates them in command, label, env, plugins and agents)",
    );
  }
  return {
    path,
    command: commandText(entries, path),
    key,
    label: firstText(entries, path, ["label", "name"]),
    image: optionalScalarText(field("image"), at("image")),
    artifactPaths: artifactPaths(field("artifact_paths"), at("artifact_paths")),
    env: parseEnv(field("env"), at("env")),
    plugins: parseStepPlugins(field("plugins"), at("plugins")),
    agents: parseAgents(field("agents"), at("agents")),
    priority: parsePriority(field("priority"), at("priority")),
    parallelism,
    matrix,
    skipped: parseSkip(field("skip"), at("skip")),
  };
}

/** `commands` (or its alias `command`): a string, or a list of strings joined with newlines. */
function commandText(entries: Entries, path: string): string {
  if (has(entries, "command") && has(entries, "commands")) {
    throw inputError(path, "a step has both `command` and `commands`; use one of them");
  }
  const key = has(entries, "commands") ? "commands" : "command";
  const value = lookup(entries, key);
  const commandPath = keyPath(path, key);
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (!Array.isArray(value)) {
    throw inputError(
      commandPath,
      `expected a command string or a list of command strings, got ${describe(value)}`,
    );
  }
  return value
    .map((line, index) => {
      if (typeof line !== "string") {
        throw inputError(indexPath(commandPath, index), `expected a command string, got ${describe(line)}`);
      }
      return line;
    })
    .join("\n");
}

/** The first of several alias keys that is present (`key`, then `id`, then `identifier`). */
function firstText(entries: Entries, path: string, keys: readonly string[]): string | undefined {
  const key = keys.find((name) => has(entries, name));
  return key === undefined ? undefined : optionalScalarText(lookup(entries, key), keyPath(path, key));
}

/** An `env` mapping; numbers and booleans become text as Buildkite writes them, `null` an empty value. */
export function parseEnv(value: unknown, path: string): EnvEntry[] {
  if (value === undefined || value === null) return [];
  return requireMapping(value, path, "a mapping of environment variables").map(([name, entry]) => {
    const entryPath = keyPath(path, name);
    checkEnvName(name, entryPath);
    return [name, optionalScalarText(entry, entryPath, "a string, number or boolean value") ?? ""] as const;
  });
}

// The job carries env as "K=V" split at the first "=", so a name cannot hold one.
export function checkEnvName(name: string, path: string): void {
  if (name === "" || name.includes("=")) {
    throw inputError(path, `expected an environment variable name without "=", got ${JSON.stringify(name)}`);
  }
}

function artifactPaths(value: unknown, path: string): string | undefined {
  if (Array.isArray(value)) {
    return value.map((item, index) => textOrFail(item, indexPath(path, index), "an artifact path")).join(";");
  }
  return optionalScalarText(value, path, "an artifact path or a list of them");
}

function textOrFail(value: unknown, path: string, what: string): string {
  const text = optionalScalarText(value, path, what);
  if (text === undefined) throw inputError(path, `expected ${what}, got null`);
  return text;
}

// GraphQL's `JobPriority.number` is a 32-bit Int.
export function parsePriority(value: unknown, path: string): number | undefined {
  const priority = optionalInteger(value, path, "an integer priority");
  if (priority !== undefined && (priority < -(2 ** 31) || priority > 2 ** 31 - 1)) {
    throw inputError(path, `expected a priority that fits a 32-bit integer, got ${priority}`);
  }
  return priority;
}

function parseParallelism(value: unknown, path: string): number | undefined {
  const parallelism = optionalInteger(value, path, "a positive integer");
  if (parallelism !== undefined && parallelism < 1) {
    throw inputError(path, `expected a positive integer, got ${parallelism}`);
  }
  return parallelism;
}

function parseSkip(value: unknown, path: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === "boolean") return value;
  if (typeof value === "string") return value !== "";
  throw inputError(path, `expected true, false or a reason, got ${describe(value)}`);
}
