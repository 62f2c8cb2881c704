/**
 * The tables of docs/migration.md, from the rows of scripts/migration-keys.ts and the configuration
 * key table (for this stack's defaults). `npm run docs` writes them; a test fails when they are stale.
 */
import { defaultCell } from "../src/config/help.ts";
import { keySpec } from "../src/config/schema.ts";
import { withBlock } from "./docs-block.ts";
import {
  CONFIG_KEY_ROWS,
  KEYS_ONLY_HERE,
  MEMBERS_ROWS,
  type Outcome,
  type UpstreamKey,
  VALUES_ROWS,
} from "./migration-keys.ts";

export const MIGRATION_CONFIG_START = "<!-- migration-config:start -->";
export const MIGRATION_CONFIG_END = "<!-- migration-config:end -->";
export const MIGRATION_VALUES_START = "<!-- migration-values:start -->";
export const MIGRATION_VALUES_END = "<!-- migration-values:end -->";
export const MIGRATION_MEMBERS_START = "<!-- migration-members:start -->";
export const MIGRATION_MEMBERS_END = "<!-- migration-members:end -->";

function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

function valueText(value: UpstreamKey["default"]): string {
  if (value === null) return "none";
  if (value === "") return "empty";
  if (Array.isArray(value)) return `\`${value.join(",")}\``;
  return `\`${String(value)}\``;
}

function upstreamCell(key: UpstreamKey | "removed" | undefined): string {
  if (key === undefined) return "—";
  if (key === "removed") return "removed";
  return key.note === undefined ? valueText(key.default) : `${valueText(key.default)} (${key.note})`;
}

function outcomeText(outcome: Outcome): string {
  switch (outcome.kind) {
    case "same":
      return outcome.note === undefined ? "**same**" : `**same**: ${outcome.note}`;
    case "changed":
      return `**changed**: ${outcome.note}`;
    case "renamed":
      return `**renamed** \`${outcome.to}\`${outcome.note === undefined ? "" : `: ${outcome.note}`}`;
    case "refused":
      return `**refused**: “${outcome.message}…”${outcome.note === undefined ? "" : `; ${outcome.note}`}`;
    case "ignored":
      return `**ignored**: ${outcome.why}`;
  }
}

export function migrationConfigMarkdown(): string {
  const rows = CONFIG_KEY_ROWS.map((row) => {
    const spec = keySpec(row.key);
    const here = spec === undefined ? "—" : defaultCell(spec);
    const chart = row.chart === undefined ? "" : ` In the chart's \`config\`: ${outcomeText(row.chart)}.`;
    return `| \`${row.key}\` | ${cell(upstreamCell(row["v0.26.0"]))} | ${cell(upstreamCell(row.HEAD))} | ${here} | ${cell(`${outcomeText(row.here)}.${chart}`)} |`;
  });
  const ours = Object.entries(KEYS_ONLY_HERE).map(([key, what]) => {
    const spec = keySpec(key);
    const here = spec === undefined ? "—" : defaultCell(spec);
    return `| \`${key}\` | — | — | ${here} | **only here**: ${cell(what)}. |`;
  });
  return [
    "| key | v0.26.0 default | HEAD default | default here | here |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
    ...ours,
  ].join("\n");
}

export function migrationValuesMarkdown(): string {
  const rows = VALUES_ROWS.map(
    (row) =>
      `| \`${row.path}\` | ${cell(upstreamCell(row["v0.26.0"]))} | ${cell(upstreamCell(row.HEAD))} | ${cell(`${outcomeText(row.here)}.`)} |`,
  );
  return ["| value | v0.26.0 | HEAD | here |", "| --- | --- | --- | --- |", ...rows].join("\n");
}

export function migrationMembersMarkdown(): string {
  const list = (members: readonly string[]) =>
    members.length === 0 ? "—" : members.map((member) => `\`${member}\``).join(", ");
  const rows = MEMBERS_ROWS.map(
    (row) =>
      `| \`${row.key}\` | ${list(row["v0.26.0"])} | ${list(row.HEAD)} | ${cell(row.note === undefined ? "**same**, every member." : `**same**, every member; ${row.note}.`)} |`,
  );
  return ["| key | members at v0.26.0 | added at HEAD | here |", "| --- | --- | --- | --- |", ...rows].join(
    "\n",
  );
}

export function withMigrationTables(text: string): string {
  const where = "docs/migration.md";
  let result = withBlock(
    text,
    MIGRATION_CONFIG_START,
    MIGRATION_CONFIG_END,
    migrationConfigMarkdown(),
    where,
  );
  result = withBlock(result, MIGRATION_VALUES_START, MIGRATION_VALUES_END, migrationValuesMarkdown(), where);
  return withBlock(result, MIGRATION_MEMBERS_START, MIGRATION_MEMBERS_END, migrationMembersMarkdown(), where);
}
