/**
 * The migration guide's tables (scripts/migration-keys.ts) against the stack: every upstream key is
 * listed, what is listed as existing here exists (the configuration key table, the decoding tables of
 * the structured keys, the chart's values schema), what is listed as refused is refused with the message
 * shown (the configuration loader, `helm template`), what is ignored loads, and a configuration file
 * and a values file with every upstream key of each version load and install.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { stringify } from "yaml";
import {
  CONFIG_KEY_ROWS,
  type ConfigKeyRow,
  KEYS_ONLY_HERE,
  MEMBERS_ROWS,
  type Outcome,
  UPSTREAM,
  VALUES_ONLY_HERE,
  VALUES_ROWS,
} from "../../scripts/migration-keys.ts";
import { CONFIG_DEFINITIONS } from "../../src/config/file-schemas.ts";
import { ConfigError } from "../../src/config/problems.ts";
import { CONFIG_KEYS, IGNORED_UPSTREAM_KEYS, type KeySpec, keySpec } from "../../src/config/schema.ts";
import { CHART, HELM, renderChart, SKIP_REASON } from "../chart/render.ts";
import { load } from "../config/helpers.ts";
import { ROOT } from "./markdown.ts";

type Version = "v0.26.0" | "HEAD";
const VERSIONS: readonly Version[] = ["v0.26.0", "HEAD"];

interface SchemaNode {
  readonly properties?: Readonly<Record<string, SchemaNode>>;
}
const VALUES_SCHEMA = JSON.parse(readFileSync(join(CHART, "values.schema.json"), "utf8")) as SchemaNode;

function inValuesSchema(path: string): boolean {
  let node: SchemaNode | undefined = VALUES_SCHEMA;
  for (const part of path.split(".")) node = node?.properties?.[part];
  return node !== undefined;
}

const sorted = (items: Iterable<string>) => [...items].sort();
const chartOutcome = (row: ConfigKeyRow): Outcome => row.chart ?? row.here;
const exists = (outcome: Outcome) => outcome.kind === "same" || outcome.kind === "changed";

/** The error of a configuration file that the loader refuses, or undefined when it loads. */
function refusal(file: string): string | undefined {
  try {
    load({ file });
    return undefined;
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
}

/** A values object with `value` at a dotted path. */
function valuesWith(path: string, value: unknown): Record<string, unknown> {
  return path
    .split(".")
    .reverse()
    .reduce<unknown>((inner, key) => ({ [key]: inner }), value) as Record<string, unknown>;
}

/** What a values file needs besides the value under test (the tokens, as the launcher needs them today). */
const BASE_VALUES = { agentToken: "agent-token", graphqlToken: "graphql-token", config: { org: "acme" } };

function merged(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const existing = result[key];
    result[key] =
      typeof existing === "object" &&
      existing !== null &&
      !Array.isArray(existing) &&
      typeof value === "object"
        ? merged(existing as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return result;
}

describe("every upstream key is listed", () => {
  test("the configuration keys of v0.26.0 (§1.3, §1.4) and of HEAD (§1.8)", () => {
    const v026 = UPSTREAM["v0.26.0"].configKeys;
    expect(sorted(CONFIG_KEY_ROWS.filter((row) => row["v0.26.0"]).map((row) => row.key))).toEqual(
      sorted(v026),
    );
    const removed = new Set<string>(UPSTREAM.HEAD.configKeysRemoved);
    const atHead = [...v026.filter((key) => !removed.has(key)), ...UPSTREAM.HEAD.configKeysAdded];
    expect(
      sorted(
        CONFIG_KEY_ROWS.filter((row) => row.HEAD !== undefined && row.HEAD !== "removed").map(
          (row) => row.key,
        ),
      ),
    ).toEqual(sorted(atHead));
    expect(sorted(CONFIG_KEY_ROWS.filter((row) => row.HEAD === "removed").map((row) => row.key))).toEqual(
      sorted(removed),
    );
    expect(new Set(CONFIG_KEY_ROWS.map((row) => row.key)).size).toBe(CONFIG_KEY_ROWS.length);
  });

  test("the chart's values of v0.26.0 (§7.1) and of HEAD (§7.3)", () => {
    const v026 = UPSTREAM["v0.26.0"].values;
    expect(sorted(VALUES_ROWS.filter((row) => row["v0.26.0"]).map((row) => row.path))).toEqual(sorted(v026));
    expect(sorted(VALUES_ROWS.filter((row) => row.HEAD).map((row) => row.path))).toEqual(
      sorted([...v026, ...UPSTREAM.HEAD.valuesAdded]),
    );
  });

  test("every key of this stack's table is an upstream key of the version it says, or this stack's own", () => {
    for (const spec of CONFIG_KEYS as readonly KeySpec[]) {
      expect(Object.hasOwn(KEYS_ONLY_HERE, spec.key), `${spec.key}: only here`).toBe(spec.since === "here");
      if (spec.since === "here") continue;
      const row = CONFIG_KEY_ROWS.find((candidate) => candidate.key === spec.key);
      expect(row, `${spec.key} is in the migration table`).toBeDefined();
      const since = row?.["v0.26.0"] ? "v0.26.0" : "HEAD";
      expect(spec.since, `${spec.key}: since`).toBe(since);
    }
  });

  test("every value and configuration key of the chart's schema is an upstream one or this chart's own", () => {
    const topLevel = Object.keys(VALUES_SCHEMA.properties ?? {});
    const upstreamTop = new Set(VALUES_ROWS.map((row) => row.path.split(".")[0] as string));
    expect(topLevel.filter((key) => !upstreamTop.has(key) && !VALUES_ONLY_HERE.includes(key))).toEqual([]);
    const chartConfig = Object.keys(VALUES_SCHEMA.properties?.config?.properties ?? {});
    const listed = new Set([
      ...CONFIG_KEY_ROWS.map((row) => row.key),
      ...Object.keys(KEYS_ONLY_HERE),
      ...VALUES_ROWS.map((row) => row.path.replace(/^config\./, "")),
    ]);
    expect(chartConfig.filter((key) => !listed.has(key))).toEqual([]);
  });
});

describe("what is listed as here exists here", () => {
  test.each(CONFIG_KEY_ROWS.map((row) => [row.key, row] as const))("configuration key %s", (key, row) => {
    const outcome = row.here;
    if (exists(outcome)) expect(keySpec(key), `${key} is a configuration key`).toBeDefined();
    if (outcome.kind === "renamed") expect(keySpec(outcome.to), `${outcome.to}`).toBeDefined();
    if (outcome.kind === "ignored") {
      expect(keySpec(key) !== undefined || Object.hasOwn(IGNORED_UPSTREAM_KEYS, key), key).toBe(true);
    }
    if (exists(chartOutcome(row)))
      expect(inValuesSchema(`config.${key}`), `config.${key} in the chart`).toBe(true);
  });

  test.each(VALUES_ROWS.map((row) => [row.path, row] as const))("value %s", (path, row) => {
    if (exists(row.here)) expect(inValuesSchema(path), `${path} in values.schema.json`).toBe(true);
    if (row.here.kind === "renamed") expect(inValuesSchema(row.here.to), row.here.to).toBe(true);
  });

  test.each(MEMBERS_ROWS.map((row) => [row.key, row] as const))("the members of %s", (_key, row) => {
    const definition = CONFIG_DEFINITIONS[row.definition];
    expect(definition, row.definition).toBeDefined();
    expect(sorted(Object.keys(definition?.fields ?? {}))).toEqual(sorted([...row["v0.26.0"], ...row.HEAD]));
  });
});

describe("a configuration file written for upstream", () => {
  test.each(VERSIONS)("with every %s key at its default loads", (version) => {
    const file: Record<string, unknown> = {};
    for (const row of CONFIG_KEY_ROWS) {
      const upstream = row[version];
      if (upstream === undefined || upstream === "removed" || upstream.default === null) continue;
      if (row.key === "config" || row.here.kind === "refused") continue;
      file[row.key] = upstream.default;
    }
    expect(Object.keys(file).length).toBeGreaterThan(25);
    expect(refusal(stringify(file))).toBeUndefined();
  });

  test.each(CONFIG_KEY_ROWS.filter((row) => row.here.kind === "refused" || row.here.kind === "ignored"))(
    "$key: $here.kind",
    (row) => {
      const outcome = row.here;
      if (outcome.kind !== "refused" && outcome.kind !== "ignored") throw new Error("filtered");
      const text = stringify({ [row.key]: outcome.sample });
      if (outcome.kind === "refused") {
        expect(refusal(text)).toContain(outcome.message);
        return;
      }
      const loaded = load({ file: text });
      if (Object.hasOwn(IGNORED_UPSTREAM_KEYS, row.key)) {
        expect(loaded.warnings.join("\n")).toContain(`${row.key} (in file`);
        expect(loaded.warnings.join("\n")).toContain("is ignored");
      }
    },
  );
});

describe.skipIf(HELM === undefined)(`the chart, with upstream's values${SKIP_REASON}`, () => {
  const refusedConfig = CONFIG_KEY_ROWS.filter((row) => chartOutcome(row).kind === "refused");
  test.each(refusedConfig.map((row) => [row.key, row] as const))("config.%s is refused", (key, row) => {
    const outcome = chartOutcome(row);
    if (outcome.kind !== "refused") throw new Error("filtered");
    const rendered = renderChart({ values: merged(BASE_VALUES, { config: { [key]: outcome.sample } }) });
    expect(rendered.ok).toBe(false);
    if (!rendered.ok) expect(rendered.error).toContain(outcome.message);
  });

  const refusedValues = VALUES_ROWS.filter((row) => row.here.kind === "refused");
  test.each(refusedValues.map((row) => [row.path, row] as const))("%s is refused", (path, row) => {
    if (row.here.kind !== "refused") throw new Error("filtered");
    const rendered = renderChart({ values: merged(BASE_VALUES, valuesWith(path, row.here.sample)) });
    expect(rendered.ok).toBe(false);
    if (!rendered.ok) expect(rendered.error).toContain(row.here.message);
  });

  test.each(VERSIONS)("a values file with every %s value installs", (version) => {
    let values: Record<string, unknown> = {};
    for (const row of VALUES_ROWS) {
      if (row[version] === undefined || !exists(row.here)) continue;
      values = merged(values, valuesWith(row.path, row.sample));
    }
    if (version === "HEAD") values = merged(values, { config: UPSTREAM.HEAD.chartConfigDefaults });
    const rendered = renderChart({ values });
    expect(rendered.ok ? "installs" : rendered.error).toBe("installs");
  });
});

test("the guide says what the tests check", () => {
  const guide = readFileSync(join(ROOT, "docs/migration.md"), "utf8");
  expect(guide).toContain("test/docs/migration.test.ts");
  for (const kind of ["same", "changed", "refused", "ignored"]) expect(guide).toContain(`**${kind}**`);
});
