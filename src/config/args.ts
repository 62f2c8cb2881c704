/**
 * Command-line parsing driven by the key table: every scalar key is a long flag named like the key
 * (`--max-in-flight 10`, `--max-in-flight=10`), booleans may stand alone (`--debug`, `--debug=false`),
 * list flags repeat or take commas (`--tags queue=a --tags os=linux`, `--tags queue=a,os=linux`),
 * `-f` is `--config`, `--` ends the flags. Subcommands add their own flags (`render --job FILE`), parsed
 * in the same pass. Like Go's pflag, flags and positionals may be interleaved and a flag that takes a
 * value takes the next argument whatever it looks like (`--job-creation-concurrency -1`).
 */
import type { RawValue } from "./coerce.ts";
import { type ConfigProblem, cliUsage } from "./problems.ts";
import { CONFIG_KEYS, flagOf, type KeySpec } from "./schema.ts";
import { didYouMean } from "./suggest.ts";

/** A flag of one subcommand, beside the configuration flags. */
export interface CommandFlag {
  /** Long name without dashes: `job` is `--job`. */
  readonly name: string;
  /** One letter: `o` is `-o`. */
  readonly short?: string;
  /** `stringList` flags repeat (`--pod-template a.yaml --pod-template b.yaml`); values are not split. */
  readonly type: "string" | "bool" | "stringList";
  /** The only values allowed, for a `string` flag (`--output json|yaml`). */
  readonly values?: readonly string[];
  /** Shown in `--help`: `--job FILE`. */
  readonly valueName?: string;
  readonly description: string;
  readonly default?: string;
  readonly required?: boolean;
}

type CommandFlagValue<F extends CommandFlag> = F["type"] extends "bool"
  ? boolean
  : F["type"] extends "stringList"
    ? readonly string[]
    : F extends { readonly default: string }
      ? string
      : string | undefined;

/** `{ job: string | undefined; output: string; "pod-template": readonly string[] }` for render's flags. */
export type CommandFlagValues<Flags extends readonly CommandFlag[]> = {
  readonly [F in Flags[number] as F["name"]]: CommandFlagValue<F>;
};

export interface ParsedArgs {
  /** The raw value of each configuration key given on the command line. */
  readonly config: ReadonlyMap<string, RawValue>;
  readonly command: Readonly<Record<string, string | boolean | readonly string[] | undefined>>;
  readonly positionals: readonly string[];
  readonly help: boolean;
  readonly problems: readonly ConfigProblem[];
}

const TRUE_TEXT = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const FALSE_TEXT = new Set(["0", "f", "F", "FALSE", "false", "False"]);

type Target =
  | { readonly kind: "config"; readonly spec: KeySpec }
  | { readonly kind: "command"; readonly flag: CommandFlag };

interface FlagTable {
  readonly long: ReadonlyMap<string, Target>;
  readonly short: ReadonlyMap<string, Target>;
  /** Keys that exist but only in the file: a flag for them gets a pointed message. */
  readonly fileOnly: ReadonlySet<string>;
}

function flagTable(commandFlags: readonly CommandFlag[]): FlagTable {
  const long = new Map<string, Target>();
  const short = new Map<string, Target>();
  const fileOnly = new Set<string>();
  for (const spec of CONFIG_KEYS as readonly KeySpec[]) {
    const name = flagOf(spec);
    if (name === undefined) {
      fileOnly.add(spec.key);
      continue;
    }
    long.set(name, { kind: "config", spec });
    if (spec.short !== undefined) short.set(spec.short, { kind: "config", spec });
  }
  for (const flag of commandFlags) {
    // A clash is a programming error in the subcommand, not a user error.
    if (long.has(flag.name) || fileOnly.has(flag.name) || flag.name === "help") {
      throw new Error(`command flag --${flag.name} clashes with a configuration flag`);
    }
    if (flag.short !== undefined && (short.has(flag.short) || flag.short === "h")) {
      throw new Error(`command flag -${flag.short} clashes with another flag`);
    }
    long.set(flag.name, { kind: "command", flag });
    if (flag.short !== undefined) short.set(flag.short, { kind: "command", flag });
  }
  return { long, short, fileOnly };
}

function takesValue(target: Target): boolean {
  return target.kind === "config" ? target.spec.type.kind !== "bool" : target.flag.type !== "bool";
}

export function parseArgs(args: readonly string[], commandFlags: readonly CommandFlag[] = []): ParsedArgs {
  const table = flagTable(commandFlags);
  const config = new Map<string, RawValue>();
  const command: Record<string, string | boolean | readonly string[] | undefined> = {};
  const positionals: string[] = [];
  const problems: ConfigProblem[] = [];
  let help = false;

  for (let index = 0; index < args.length; index++) {
    const arg = args[index] ?? "";
    if (arg === "--") {
      positionals.push(...args.slice(index + 1));
      break;
    }
    if (arg === "-h" || arg === "--help") {
      help = true;
      continue;
    }
    if (arg === "-" || !arg.startsWith("-")) {
      positionals.push(arg);
      continue;
    }

    // `--name`, `--name=value`, `-x`, `-x=value`, `-xvalue`
    const isLong = arg.startsWith("--");
    let name: string;
    let inline: string | undefined;
    if (isLong) {
      const equals = arg.indexOf("=");
      name = equals === -1 ? arg.slice(2) : arg.slice(2, equals);
      inline = equals === -1 ? undefined : arg.slice(equals + 1);
    } else {
      name = arg.slice(1, 2);
      const rest = arg.slice(2);
      inline = rest === "" ? undefined : rest.startsWith("=") ? rest.slice(1) : rest;
    }
    const shown = isLong ? `--${name}` : `-${name}`;
    const target = isLong ? table.long.get(name) : table.short.get(name);
    if (target === undefined) {
      problems.push(unknownFlag(shown, name, isLong, table));
      continue;
    }

    let value: string;
    if (!takesValue(target)) {
      value = inline ?? "true";
    } else if (inline !== undefined) {
      value = inline;
    } else if (index + 1 < args.length) {
      index++;
      value = args[index] ?? "";
    } else {
      problems.push(cliUsage(shown, `flag needs an argument: ${shown}`));
      continue;
    }

    if (target.kind === "config") {
      recordConfigFlag(config, target.spec, value, `--${target.spec.key}`);
    } else {
      const problem = recordCommandFlag(command, target.flag, value, shown);
      if (problem) problems.push(problem);
    }
  }

  for (const flag of commandFlags) {
    if (command[flag.name] !== undefined) continue;
    if (flag.required && !help)
      problems.push(cliUsage(`--${flag.name}`, `required flag --${flag.name} is missing`));
    command[flag.name] = flag.type === "bool" ? false : flag.type === "stringList" ? [] : flag.default;
  }
  return { config, command, positionals, help, problems };
}

function unknownFlag(shown: string, name: string, isLong: boolean, table: FlagTable): ConfigProblem {
  if (isLong && table.fileOnly.has(name)) {
    return cliUsage(shown, `unknown flag ${shown}: ${name} can only be set in the --config file`);
  }
  const candidates = isLong ? [...table.long.keys()].map((flag) => `--${flag}`) : [];
  return cliUsage(shown, `unknown flag ${shown}${didYouMean(shown, candidates, false)}`);
}

function recordConfigFlag(config: Map<string, RawValue>, spec: KeySpec, value: string, flag: string): void {
  const source = { kind: "flag", flag } as const;
  const previous = config.get(spec.key);
  // A list flag given several times collects every value (pflag's StringSlice); others keep the last.
  if (spec.type.kind === "stringList" && previous?.from === "texts") {
    config.set(spec.key, { from: "texts", texts: [...previous.texts, value], source });
  } else if (spec.type.kind === "stringList") {
    config.set(spec.key, { from: "texts", texts: [value], source });
  } else {
    config.set(spec.key, { from: "text", text: value, source });
  }
}

function recordCommandFlag(
  command: Record<string, string | boolean | readonly string[] | undefined>,
  flag: CommandFlag,
  value: string,
  shown: string,
): ConfigProblem | undefined {
  switch (flag.type) {
    case "bool":
      if (TRUE_TEXT.has(value)) command[flag.name] = true;
      else if (FALSE_TEXT.has(value)) command[flag.name] = false;
      else
        return cliUsage(shown, `invalid value ${JSON.stringify(value)} for ${shown}: expected true or false`);
      return undefined;
    case "stringList": {
      const previous = command[flag.name];
      command[flag.name] = [...(Array.isArray(previous) ? previous : []), value];
      return undefined;
    }
    case "string":
      if (flag.values !== undefined && !flag.values.includes(value)) {
        return cliUsage(
          shown,
          `invalid value ${JSON.stringify(value)} for ${shown}: expected one of ${flag.values.join(", ")}`,
        );
      }
      command[flag.name] = value;
      return undefined;
  }
}
