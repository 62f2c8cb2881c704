/**
 * Loads the configuration: command line, environment, `--config` file and defaults, in that order of
 * precedence (controller-runtime.md §1.2), every value typed and checked against the key table, then
 * the rules across keys. Every problem is collected and reported at once in a `ConfigError`, whose
 * codes all mean exit status 2.
 *
 * Only the winning value of a key is checked: a bad `MAX_IN_FLIGHT` does not matter when
 * `--max-in-flight` is given, as with upstream's viper.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { LineCounter } from "yaml";
import { AgentStackError } from "../errors.ts";
import { isPlainObject } from "../k8s/decode.ts";
import { type CommandFlag, type CommandFlagValues, parseArgs } from "./args.ts";
import { coerceScalar, type RawValue } from "./coerce.ts";
import { applyEffectiveValues, type Sources, type Values } from "./effective.ts";
import { ConfigError, type ConfigProblem, type ConfigSource, cliUsage, describeSource } from "./problems.ts";
import {
  CONFIG_KEYS,
  type ConfigKeyName,
  type ConfigSubcommand,
  configSubcommandOf,
  envVarOf,
  IGNORED_UPSTREAM_KEYS,
  inFile,
  type KeySpec,
  keySpec,
  VALUE_KEYS,
} from "./schema.ts";
import { crossKeyProblems, requirementProblems } from "./startup-rules.ts";
import { decodeStructured, isStructuredKey } from "./structured.ts";
import { didYouMean } from "./suggest.ts";
import type { Config } from "./types.ts";

/** The keys that become `Config` properties. */
export type ValueKeyName = Exclude<ConfigKeyName, "config">;

export interface LoadOptions<Flags extends readonly CommandFlag[]> {
  /** The arguments after the subcommand name. */
  readonly args: readonly string[];
  /** `process.env` or a test's map. An empty variable counts as unset. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The subcommand's own flags, parsed in the same pass and returned in `flags`. */
  readonly commandFlags?: Flags;
  /**
   * When given, also check what this subcommand needs to start (`org` for the launcher…). `lint`
   * needs what `render` needs; other names need nothing beyond valid values.
   */
  readonly subcommand?: string;
  /** Reads the `--config` file; tests replace it. */
  readonly readFile?: (path: string) => string;
  /**
   * Refuse configuration flags that `subcommand` does not use (`render --org`): typed on this command
   * line they are a mistake. Such keys from the environment or the `--config` file, which other
   * commands share, are still accepted and ignored.
   */
  readonly refuseOtherCommandsFlags?: boolean;
}

export interface LoadedConfig<Flags extends readonly CommandFlag[] = readonly []> {
  readonly config: Config;
  readonly flags: CommandFlagValues<Flags>;
  readonly positionals: readonly string[];
  /** Values that were replaced by their effective value, and the like: log them, do not fail. */
  readonly warnings: readonly string[];
  /** Where each key's value came from. */
  readonly sources: Readonly<Record<ValueKeyName, ConfigSource>>;
  /** The config file read, if any. */
  readonly configFile: string | undefined;
  /** `--help` or `-h` was given: nothing was read or checked; print `formatHelp` and exit 0. */
  readonly help: boolean;
}

export function loadConfig<const Flags extends readonly CommandFlag[] = readonly []>(
  options: LoadOptions<Flags>,
): LoadedConfig<Flags> {
  const parsed = parseArgs(options.args, options.commandFlags ?? []);
  const subcommand = options.subcommand === undefined ? undefined : configSubcommandOf(options.subcommand);
  const flagProblems =
    options.refuseOtherCommandsFlags && subcommand !== undefined
      ? otherCommandsFlags(parsed.config, subcommand, options.subcommand ?? subcommand)
      : [];
  if (parsed.problems.length + flagProblems.length > 0) {
    throw new ConfigError([...parsed.problems, ...flagProblems]);
  }
  const flags = parsed.command as CommandFlagValues<Flags>;

  if (parsed.help) {
    const defaults = defaultValues();
    applyEffectiveValues(defaults.values, defaults.sources);
    return {
      config: toConfig(defaults.values),
      flags,
      positionals: parsed.positionals,
      warnings: [],
      sources: defaults.sources as Record<ValueKeyName, ConfigSource>,
      configFile: undefined,
      help: true,
    };
  }

  const configFile = configFilePath(parsed.config, options.env);
  const file = configFile === undefined ? undefined : readConfigFile(configFile, options.readFile);

  const problems: ConfigProblem[] = [...(file?.problems ?? [])];
  const failed = new Set<string>();
  const { values, sources } = defaultValues();

  for (const spec of VALUE_KEYS) {
    const raw = parsed.config.get(spec.key) ?? envValue(spec, options.env) ?? file?.values.get(spec.key);
    if (raw === undefined) continue;
    const result =
      spec.type.kind === "structured" ? decodeFileValue(spec, raw) : coerceScalar(spec, spec.type, raw);
    if (result.ok) {
      values[spec.key] = result.value;
      sources[spec.key] = raw.source;
    } else {
      problems.push(...result.problems);
      failed.add(spec.key);
    }
  }

  const warnings = [...(file?.warnings ?? []), ...applyEffectiveValues(values, sources)];
  const sourceOf = (key: string): ConfigSource => sources[key] ?? { kind: "default" };
  problems.push(...crossKeyProblems(values, sourceOf, failed));
  if (subcommand !== undefined) problems.push(...requirementProblems(subcommand, values, sourceOf, failed));
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    config: toConfig(values),
    flags,
    positionals: parsed.positionals,
    warnings,
    sources: sources as Record<ValueKeyName, ConfigSource>,
    configFile,
    help: false,
  };
}

/**
 * The checks of `loadConfig({ subcommand })` for a configuration loaded without one: throws a
 * `ConfigError` listing what `subcommand` is missing.
 */
export function validateFor(
  loaded: Pick<LoadedConfig, "config" | "sources">,
  subcommand: ConfigSubcommand,
): void {
  const values: Values = {};
  for (const spec of VALUE_KEYS) {
    if (spec.property !== null) values[spec.key] = loaded.config[spec.property];
  }
  const sources: Readonly<Record<string, ConfigSource>> = loaded.sources;
  const problems = requirementProblems(
    subcommand,
    values,
    (key) => sources[key] ?? { kind: "default" },
    new Set(),
  );
  if (problems.length > 0) throw new ConfigError(problems);
}

function defaultValues(): { values: Values; sources: Sources } {
  const values: Values = {};
  const sources: Sources = {};
  for (const spec of VALUE_KEYS) {
    values[spec.key] = spec.type.default;
    sources[spec.key] = { kind: "default" };
  }
  return { values, sources };
}

/** The one place the generic key/value map becomes the typed `Config`; the key table guarantees the shape. */
function toConfig(values: Values): Config {
  const config: Record<string, unknown> = {};
  for (const spec of VALUE_KEYS) {
    if (spec.property !== null) config[spec.property] = values[spec.key];
  }
  return Object.freeze(config) as unknown as Config;
}

function envValue(spec: KeySpec, env: LoadOptions<readonly CommandFlag[]>["env"]): RawValue | undefined {
  const name = envVarOf(spec);
  if (name === undefined) return undefined;
  const text = env[name];
  if (text === undefined || text === "") return undefined;
  return { from: "text", text: spec.envPresenceIsTrue ? "true" : text, source: { kind: "env", name } };
}

function decodeFileValue(spec: KeySpec, raw: RawValue) {
  if (raw.from !== "file" || !isStructuredKey(spec.key)) {
    throw new Error(`${spec.key} can only come from the config file`);
  }
  return decodeStructured(spec.key, raw.value, raw.source);
}

/** `--config`/`-f`, else `CONFIG`; the file cannot name itself. */
function configFilePath(
  flags: ReadonlyMap<string, RawValue>,
  env: LoadOptions<readonly CommandFlag[]>["env"],
): string | undefined {
  const flag = flags.get("config");
  if (flag?.from === "text" && flag.text !== "") return flag.text;
  const fromEnv = env.CONFIG;
  return fromEnv === undefined || fromEnv === "" ? undefined : fromEnv;
}

interface ConfigFile {
  readonly values: ReadonlyMap<string, RawValue>;
  readonly problems: readonly ConfigProblem[];
  readonly warnings: readonly string[];
}

/** `--org` given to `render`: a flag of the launcher's, which `render` would silently ignore. */
function otherCommandsFlags(
  flags: ReadonlyMap<string, RawValue>,
  subcommand: ConfigSubcommand,
  shownName: string,
): ConfigProblem[] {
  return [...flags.keys()].flatMap((key) => {
    const spec = keySpec(key);
    if (spec === undefined || spec.key === "config" || spec.usedBy.includes(subcommand)) return [];
    return [
      cliUsage(
        `--${key}`,
        `--${key} is a setting of agent-stack-k8s ${spec.usedBy.join(" and ")}; ${shownName} does not use it`,
      ),
    ];
  });
}

function readConfigFile(path: string, readFile = (file: string) => readFileSync(file, "utf8")): ConfigFile {
  let text: string;
  try {
    text = readFile(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new AgentStackError("ASK_CONFIG_FILE_UNREADABLE", `failed to read config: ${reason}`, {
      path,
      cause: error,
    });
  }

  const { LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  // YAML 1.2 (so `yes` is a string, as in upstream's yaml.v3), merge keys as go-yaml supports them,
  // duplicate keys refused.
  const document = parseDocument(text, { lineCounter, merge: true, uniqueKeys: true, prettyErrors: false });
  const [syntaxError] = document.errors;
  if (syntaxError !== undefined) {
    const line = lineCounter.linePos(syntaxError.pos[0]).line;
    throw new AgentStackError(
      "ASK_CONFIG_FILE_INVALID",
      `failed to parse config file ${path}:${line}: ${syntaxError.message}`,
      { path },
    );
  }
  let content: unknown;
  try {
    content = document.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    // yaml refuses alias expansion that grows without bound (a "billion laughs" file).
    const reason = error instanceof Error ? error.message : String(error);
    throw new AgentStackError("ASK_CONFIG_FILE_INVALID", `failed to parse config file ${path}: ${reason}`, {
      path,
      cause: error,
    });
  }
  if (content === null || content === undefined) return { values: new Map(), problems: [], warnings: [] };
  if (!isPlainObject(content)) {
    throw new AgentStackError(
      "ASK_CONFIG_FILE_INVALID",
      `failed to parse config file ${path}: expected a mapping of configuration keys, found ${Array.isArray(content) ? "a list" : `a ${typeof content}`}`,
      { path },
    );
  }

  const lines = topLevelKeyLines(document.contents, lineCounter);
  const values = new Map<string, RawValue>();
  const problems: ConfigProblem[] = [];
  const warnings: string[] = [];
  for (const [key, value] of Object.entries(content)) {
    const source: ConfigSource = { kind: "file", file: path, line: lines.get(key) };
    const spec = keySpec(key);
    const ignored = IGNORED_UPSTREAM_KEYS[key];
    if (spec === undefined && ignored !== undefined && Object.hasOwn(IGNORED_UPSTREAM_KEYS, key)) {
      warnings.push(`${key} (in ${describeSource(source)}) is ignored: ${ignored}`);
      continue;
    }
    if (spec === undefined || !inFile(spec)) {
      problems.push(unknownFileKey(key, spec, source));
      continue;
    }
    // `key:` with no value leaves the key unset, as a JSON null leaves a Go field alone.
    if (value === null) continue;
    values.set(key, { from: "file", value, source });
  }
  return { values, problems, warnings };
}

function unknownFileKey(key: string, spec: KeySpec | undefined, source: ConfigSource): ConfigProblem {
  const where = `(in ${describeSource(source)})`;
  const message =
    spec === undefined
      ? `unknown configuration key ${JSON.stringify(key)} ${where}${didYouMean(
          key,
          CONFIG_KEYS.filter(inFile).map((known) => known.key),
        )}`
      : `${key} cannot be set in the config file ${where}; use --${key} or ${envVarOf(spec)}`;
  return { code: "ASK_CONFIG_UNKNOWN_KEY", key, path: key, message };
}

function topLevelKeyLines(contents: unknown, lineCounter: LineCounter): Map<string, number> {
  const { isMap, isScalar } = yaml();
  const lines = new Map<string, number>();
  if (!isMap(contents)) return lines;
  for (const pair of contents.items) {
    const key = pair.key;
    if (isScalar(key) && key.range) lines.set(String(key.value), lineCounter.linePos(key.range[0]).line);
  }
  return lines;
}

/**
 * The YAML parser, loaded when a config file is read: without `--config` (and for `--help`) it is never
 * needed, and it is a tenth of a command's start-up.
 */
function yaml(): typeof import("yaml") {
  return createRequire(import.meta.url)("yaml") as typeof import("yaml");
}
