/**
 * Rewrites every generated part of the documentation, each between its start and end markers:
 *
 * - docs/configuration.md: the configuration table (`src/config/schema.ts`);
 * - docs/errors.md: the error codes (`src/errors.ts`);
 * - docs/permissions.md: the Kubernetes permissions of each component (`src/k8s/permissions.ts`);
 * - docs/plugin.md: the fields of the `kubernetes` plugin (its decoding schema and field docs);
 * - docs/migration.md: the upstream keys and what they become (`scripts/migration-keys.ts`);
 * - the chart's `values.schema.json` (from the key table) and the values tables of its README (from
 *   values.yaml and that schema).
 *
 * Run with `npm run docs`; tests fail when a checked-in file is out of date.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { withConfigurationTable } from "../src/config/help.ts";
import { withChartValuesTables } from "./chart-readme.ts";
import { chartValuesSchemaText } from "./chart-values-schema.ts";
import { withErrorCodesTable } from "./docs-error-codes.ts";
import { withMigrationTables } from "./docs-migration.ts";
import { withPermissionsTable } from "./docs-permissions.ts";
import { withPluginFieldsTable } from "./docs-plugin-reference.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Each generated file and how it is brought up to date from its current text. */
export const GENERATED_DOCS: ReadonlyArray<readonly [path: string, update: (before: string) => string]> = [
  ["docs/configuration.md", withConfigurationTable],
  ["docs/errors.md", withErrorCodesTable],
  ["docs/permissions.md", withPermissionsTable],
  ["docs/plugin.md", withPluginFieldsTable],
  ["docs/migration.md", withMigrationTables],
  ["charts/agent-stack-k8s/values.schema.json", () => chartValuesSchemaText()],
  ["charts/agent-stack-k8s/README.md", withChartValuesTables],
];

function rewrite(relativePath: string, update: (before: string) => string): void {
  const path = join(ROOT, relativePath);
  const before = existsSync(path) ? readFileSync(path, "utf8") : "";
  const after = update(before);
  if (after === before) {
    process.stdout.write(`${relativePath}: up to date\n`);
  } else {
    writeFileSync(path, after);
    process.stdout.write(`${relativePath}: rewritten\n`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [path, update] of GENERATED_DOCS) rewrite(path, update);
}
