/**
 * The values tables of the chart's README (`charts/agent-stack-k8s/README.md`, what `helm show readme`
 * prints): every value of values.yaml and of the values schema, with its type (from the schema), its
 * default (values.yaml, else the schema's) and its description (the comment right above it in
 * values.yaml, else the schema's). The keys under `config` get a table of their own. `npm run docs`
 * writes them; a test fails when they are stale, and generating fails on a value nobody described.
 */
import { readFileSync } from "node:fs";
import { isMap, isScalar, type Pair, parseDocument, stringify, type YAMLMap } from "yaml";
import { chartValuesSchema } from "./chart-values-schema.ts";
import { withBlock } from "./docs-block.ts";

export const CHART_DIRECTORY = new URL("../charts/agent-stack-k8s/", import.meta.url).pathname;
export const VALUES_START = "<!-- values-table:start -->";
export const VALUES_END = "<!-- values-table:end -->";
export const CONFIG_VALUES_START = "<!-- config-values-table:start -->";
export const CONFIG_VALUES_END = "<!-- config-values-table:end -->";

interface Schema {
  readonly type?: string | readonly string[];
  readonly description?: string;
  readonly default?: unknown;
  readonly enum?: readonly unknown[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly items?: Schema;
  readonly properties?: Readonly<Record<string, Schema>>;
}

interface Row {
  readonly key: string;
  readonly type: string;
  readonly default: string;
  readonly description: string;
}

const UNDESCRIBED =
  "have no description: add a comment right above it in values.yaml, or a description in scripts/chart-values-schema.ts";

/** The README with both tables brought up to date from `values.yaml` (its text) and the schema. */
export function withChartValuesTables(readme: string, valuesYaml = readValuesYaml()): string {
  const { values, config } = valuesTables(valuesYaml);
  return withBlock(
    withBlock(readme, VALUES_START, VALUES_END, values),
    CONFIG_VALUES_START,
    CONFIG_VALUES_END,
    config,
  );
}

export function readValuesYaml(): string {
  return readFileSync(`${CHART_DIRECTORY}values.yaml`, "utf8");
}

export function valuesTables(valuesYaml: string): { values: string; config: string } {
  const document = parseDocument(valuesYaml);
  if (document.errors.length > 0) throw new Error(`values.yaml: ${document.errors[0]?.message}`);
  if (!isMap(document.contents)) throw new Error("values.yaml: not a map of values");
  const schema = chartValuesSchema() as Schema;
  const top = document.contents;
  const configPair = pairOf(top, "config");
  const rows = valueRows(top, schema, "");
  const configSchema = schema.properties?.config ?? {};
  const configValues = isMap(configPair?.value) ? configPair.value : undefined;
  const configRows = Object.entries(configSchema.properties ?? {}).map(([key, keySchema]) => {
    const given = configValues === undefined ? undefined : pairOf(configValues, key);
    return row(`config.${key}`, keySchema, given, keySchema.description);
  });
  const undescribed = [...rows, ...configRows].filter((row) => row.description === "").map((row) => row.key);
  if (undescribed.length > 0) throw new Error(`values ${undescribed.join(", ")} ${UNDESCRIBED}`);
  return { values: table(rows), config: table(configRows) };
}

function valueRows(map: YAMLMap, schema: Schema, prefix: string): Row[] {
  const properties = schema.properties ?? {};
  const keys = [
    ...map.items.map((pair) => String(isScalar(pair.key) ? pair.key.value : pair.key)),
    ...Object.keys(properties),
  ].filter((key, index, all) => all.indexOf(key) === index);
  return keys.flatMap((key, index) => {
    const path = `${prefix}${key}`;
    const keySchema = properties[key] ?? {};
    const pair = pairOf(map, key);
    // The comment above a map's first key belongs to the map's value node, not to the key.
    const comment = commentOf(pair) ?? (index === 0 ? lastParagraph(map.commentBefore) : undefined);
    // `config` is one row here: its keys have the second table.
    if (isMap(pair?.value) && pair.value.items.length > 0 && isGroup(keySchema) && path !== "config") {
      return valueRows(pair.value, keySchema, `${path}.`);
    }
    return [row(path, keySchema, pair, comment ?? keySchema.description)];
  });
}

/**
 * A value whose schema lists fields of its own, one of them a scalar, gets a row per field; a
 * Kubernetes-shaped value (resources: requests and limits) stays one row with its whole default.
 */
function isGroup(schema: Schema): boolean {
  return Object.values(schema.properties ?? {}).some((field) => [field.type].flat()[0] !== "object");
}

function row(key: string, schema: Schema, pair: Pair | undefined, description: string | undefined): Row {
  const value =
    pair === undefined ? schema.default : (pair.toJSON() as Record<string, unknown>)[keyName(pair)];
  return {
    key,
    type: typeText(schema),
    default: defaultText(value),
    description: oneLine(description ?? ""),
  };
}

function pairOf(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((pair) => keyName(pair) === key);
}

function keyName(pair: Pair): string {
  return String(isScalar(pair.key) ? pair.key.value : pair.key);
}

/** The comment right above a key: its last paragraph (a paragraph followed by a blank line is a heading). */
function commentOf(pair: Pair | undefined): string | undefined {
  return pair !== undefined && isScalar(pair.key) ? lastParagraph(pair.key.commentBefore) : undefined;
}

function lastParagraph(comment: string | null | undefined): string | undefined {
  if (comment == null) return undefined;
  const paragraphs = comment.split(/\n[ \t]*\n/);
  const last = paragraphs.at(-1) ?? "";
  // A comment that ends with a blank line stands above a group of keys, not this one.
  if (/\n[ \t]*$/.test(comment) || last.trim() === "") return undefined;
  return last;
}

function typeText(schema: Schema): string {
  if (schema.enum !== undefined) return schema.enum.map((value) => `\`${JSON.stringify(value)}\``).join(", ");
  const types = schema.type === undefined ? ["any"] : [schema.type].flat().filter((type) => type !== "null");
  let text = types.join(" or ");
  if (types.includes("array") && schema.items?.type !== undefined)
    text = text.replace("array", `array of ${[schema.items.type].flat()[0]}`);
  if (schema.minimum !== undefined && schema.maximum !== undefined)
    return `${text} ${schema.minimum}–${schema.maximum}`;
  if (schema.minimum !== undefined) return `${text} ≥ ${schema.minimum}`;
  if (schema.maximum !== undefined) return `${text} ≤ ${schema.maximum}`;
  return text;
}

function defaultText(value: unknown): string {
  if (value === undefined) return "none";
  const text =
    typeof value === "string"
      ? value === ""
        ? '""'
        : value
      : stringify(value, { collectionStyle: "flow", lineWidth: 0 }).trim();
  return `\`${text.replaceAll("|", "\\|")}\``;
}

/** A comment or description as one table cell: lines joined, `|` and `<` escaped for Markdown. */
function oneLine(text: string): string {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .join(" ")
    .replaceAll("|", "\\|")
    .replaceAll("<", "\\<");
}

function table(rows: readonly Row[]): string {
  return [
    "| value | type | default | description |",
    "| --- | --- | --- | --- |",
    ...rows.map((row) => `| \`${row.key}\` | ${row.type} | ${row.default} | ${row.description} |`),
  ].join("\n");
}
