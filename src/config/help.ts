/**
 * `--help` text and the configuration table of docs/configuration.md, both generated from the key table
 * so neither can drift from what the loader accepts.
 */
import type { CommandFlag } from "./args.ts";
import { formatDuration } from "./duration.ts";
import {
  CONFIG_KEYS,
  type ConfigSubcommand,
  configSubcommandOf,
  envVarOf,
  flagOf,
  type KeyGroup,
  type KeySpec,
  type KeyType,
  type StringRule,
} from "./schema.ts";

export const PRECEDENCE = "flag > environment variable > --config file > default";

const GROUP_ORDER: readonly KeyGroup[] = [
  "Configuration file",
  "Buildkite",
  "Launcher",
  "Kubernetes",
  "Job and pod",
  "Job and pod (file only)",
  "Logging and monitoring",
];

const KEYS = CONFIG_KEYS as readonly KeySpec[];

/** pflag's value names, which users of the upstream controller know from its help. */
function valueName(type: KeyType): string {
  switch (type.kind) {
    case "bool":
      return "";
    case "int":
      return "int";
    case "port":
      return "uint16";
    case "duration":
      return "duration";
    case "stringList":
      return "strings";
    case "enum":
      return type.values.filter((value) => value !== "").join("|");
    case "string":
      return "string";
    case "structured":
      return type.shape;
  }
}

/** The default as help prints it, or undefined when it is the type's zero value (as pflag omits it). */
function defaultText(spec: KeySpec): string | undefined {
  if (spec.secret) return undefined;
  const type = spec.type;
  switch (type.kind) {
    case "bool":
      return type.default ? "true" : undefined;
    case "int":
    case "port":
      return type.default === 0 ? undefined : String(type.default);
    case "duration":
      return type.default === 0 ? undefined : formatDuration(type.default);
    case "stringList":
      return type.default.length === 0 ? undefined : `[${type.default.join(",")}]`;
    case "enum":
    case "string":
      return type.default === "" ? undefined : JSON.stringify(type.default);
    case "structured":
      return undefined;
  }
}

function keysFor(subcommand: ConfigSubcommand | undefined): KeySpec[] {
  return KEYS.filter(
    (spec) => spec.key === "config" || (subcommand !== undefined && spec.usedBy.includes(subcommand)),
  );
}

function alignedRows(rows: ReadonlyArray<readonly [string, string]>): string[] {
  const width = Math.min(Math.max(0, ...rows.map(([left]) => left.length)), 52);
  return rows.map(([left, right]) =>
    left.length > width ? `  ${left}\n  ${" ".repeat(width)}  ${right}` : `  ${left.padEnd(width)}  ${right}`,
  );
}

function commandFlagRow(flag: CommandFlag): readonly [string, string] {
  const names = flag.short === undefined ? `    --${flag.name}` : `-${flag.short}, --${flag.name}`;
  const value = flag.type === "bool" ? "" : ` ${commandFlagValueName(flag)}`;
  const details = [
    flag.type === "stringList" ? "repeatable" : undefined,
    flag.default !== undefined ? `default ${JSON.stringify(flag.default)}` : undefined,
    flag.required ? "required" : undefined,
  ].filter((detail) => detail !== undefined);
  return [
    `${names}${value}`,
    details.length > 0 ? `${flag.description} (${details.join("; ")})` : flag.description,
  ];
}

/** A flag with a closed set of values shows them (`-o, --output yaml|json`); others their value's name. */
function commandFlagValueName(flag: CommandFlag): string {
  if (flag.values !== undefined) return flag.values.join("|");
  return flag.valueName ?? "string";
}

function configRow(spec: KeySpec, subcommand: ConfigSubcommand | undefined): readonly [string, string] {
  const flag = flagOf(spec);
  const value = valueName(spec.type);
  const left =
    flag === undefined
      ? `    ${spec.key}: ${value}`
      : `${spec.short === undefined ? "    " : `-${spec.short}, `}--${flag}${value === "" ? "" : ` ${value}`}`;
  const details: string[] = [];
  const shownDefault = defaultText(spec);
  if (shownDefault !== undefined) details.push(`default ${shownDefault}`);
  const env = envVarOf(spec);
  if (env !== undefined) details.push(`$${env}`);
  if (subcommand !== undefined && isRequiredWithoutDefault(spec, subcommand)) details.push("required");
  return [left, details.length > 0 ? `${spec.description} (${details.join("; ")})` : spec.description];
}

/**
 * "required" is for keys the user has to set: a key with a default is only an error when set empty,
 * which its validation says when it happens.
 */
function isRequiredWithoutDefault(spec: KeySpec, subcommand: ConfigSubcommand): boolean {
  return spec.requiredBy?.includes(subcommand) === true && defaultText(spec) === undefined;
}

export interface HelpOptions {
  /** The usage line after `agent-stack-k8s <subcommand> `, e.g. `[flags] FILE...`. */
  readonly arguments?: string;
  /** A sentence or two under the usage line: what the command does. */
  readonly summary?: string;
  /** The subcommand refuses flags of the other subcommands (`loadConfig`'s `refuseOtherCommandsFlags`). */
  readonly refusesOtherCommandsFlags?: boolean;
}

/**
 * The help of one subcommand: its own flags, then the configuration keys it uses, grouped as in the
 * configuration reference, with defaults and environment variables. Keys of other subcommands are left
 * out to keep the page short.
 */
export function formatHelp(
  subcommand: string,
  commandFlags: readonly CommandFlag[] = [],
  options: HelpOptions = {},
): string {
  const configSubcommand = configSubcommandOf(subcommand);
  const lines: string[] = [`Usage: agent-stack-k8s ${subcommand} ${options.arguments ?? "[flags]"}`, ""];
  if (options.summary !== undefined) lines.push(options.summary, "");

  lines.push("Flags:");
  lines.push(...alignedRows([...commandFlags.map(commandFlagRow), ["-h, --help", "show this help"]]));
  lines.push("");

  lines.push(`Configuration (${PRECEDENCE}; file keys are the flag names):`);
  const keys = keysFor(configSubcommand);
  const rows = keys.map((spec) => configRow(spec, configSubcommand));
  const aligned = alignedRows(rows);
  for (const group of GROUP_ORDER) {
    const members = keys.flatMap((spec, index) => (spec.group === group ? [aligned[index] ?? ""] : []));
    if (members.length === 0) continue;
    lines.push("", `${group}:`, ...members);
  }
  lines.push("", otherKeysNote(configSubcommand, options));
  return `${lines.join("\n")}\n`;
}

function otherKeysNote(configSubcommand: ConfigSubcommand | undefined, options: HelpOptions): string {
  if (configSubcommand === undefined) {
    return "Every configuration flag is accepted; `agent-stack-k8s launcher|webhook|render --help` lists them.";
  }
  if (options.refusesOtherCommandsFlags) {
    return "Flags of the other subcommands are refused; their keys in the --config file are ignored, so the stack's own file can be used.";
  }
  return "Flags of the other subcommands are accepted too; docs/configuration.md lists every key.";
}

const RULE_NAMES: Readonly<Record<StringRule, string>> = {
  hostnamePort: "host:port",
  imageReference: "image reference",
  cpuLimit: "quantity",
  memoryLimit: "quantity",
  labelValue: "label value",
  dnsLabel: "DNS label",
  dnsSubdomain: "DNS subdomain",
  jobPrefix: "name prefix",
  httpUrl: "URL",
  uuid: "UUID",
};

function typeText(spec: KeySpec): string {
  const type = spec.type;
  switch (type.kind) {
    case "string":
      return type.rule === undefined ? "string" : `string (${RULE_NAMES[type.rule]})`;
    case "bool":
      return "bool";
    case "int":
      if (type.min !== undefined && type.max !== undefined) return `int ${type.min}–${type.max}`;
      if (type.min !== undefined) return `int ≥ ${type.min}`;
      return "int";
    case "port":
      return "port 0–65535";
    case "duration":
      return "duration";
    case "stringList":
      return "list of strings";
    case "enum":
      return type.values.map((value) => (value === "" ? "empty" : `\`${value}\``)).join(" \\| ");
    case "structured":
      return type.shape;
  }
}

/** A key's default as the configuration table shows it (`10m0s`, empty, none). */
export function defaultCell(spec: KeySpec): string {
  const type = spec.type;
  switch (type.kind) {
    case "bool":
    case "int":
    case "port":
      return `\`${type.default}\``;
    case "duration":
      return `\`${formatDuration(type.default)}\``;
    case "stringList":
      return type.default.length === 0 ? "empty" : `\`${type.default.join(",")}\``;
    case "enum":
    case "string":
      return type.default === "" ? "empty" : `\`${type.default}\``;
    case "structured":
      return type.default === undefined ? "none" : "`{}`";
  }
}

function sourcesCell(spec: KeySpec): string {
  const flag = flagOf(spec);
  const env = envVarOf(spec);
  if (flag === undefined) return "file only";
  const flags = spec.short === undefined ? `\`--${flag}\`` : `\`-${spec.short}\`, \`--${flag}\``;
  const notInFile = spec.inFile === false ? " (not in the file)" : "";
  return `${flags}${env === undefined ? "" : ` / \`${env}\``}${notInFile}`;
}

function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

/** The configuration table of docs/configuration.md (Markdown), every key in table order. */
export function configurationTableMarkdown(): string {
  const header = [
    `Precedence: ${PRECEDENCE}. Environment variables that are set but empty count as unset; list values`,
    "in flags and environment variables are comma-separated; durations use Go syntax (`300ms`, `1.5h`, `2h45m`).",
    "",
    "| key | flag / env | type | default | used by | description |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  const rows = KEYS.map((spec) =>
    [
      `\`${spec.key}\``,
      sourcesCell(spec),
      // typeText escapes its own pipes (enum alternatives); the others have none.
      typeText(spec),
      defaultCell(spec),
      spec.usedBy.join(", "),
      cell(spec.description),
    ].join(" | "),
  ).map((row) => `| ${row} |`);
  return [...header, ...rows].join("\n");
}

export const CONFIG_TABLE_START = "<!-- config-table:start -->";
export const CONFIG_TABLE_END = "<!-- config-table:end -->";

/**
 * A document with the text between the config-table markers replaced by the current table; one
 * without markers gets a `## Configuration` section with them appended.
 */
export function withConfigurationTable(readme: string): string {
  const block = `${CONFIG_TABLE_START}\n${configurationTableMarkdown()}\n${CONFIG_TABLE_END}`;
  const start = readme.indexOf(CONFIG_TABLE_START);
  const end = readme.indexOf(CONFIG_TABLE_END);
  if (start === -1 || end === -1 || end < start) {
    const separator = readme === "" || readme.endsWith("\n\n") ? "" : readme.endsWith("\n") ? "\n" : "\n\n";
    return `${readme}${separator}## Configuration\n\n${block}\n`;
  }
  return `${readme.slice(0, start)}${block}${readme.slice(end + CONFIG_TABLE_END.length)}`;
}
