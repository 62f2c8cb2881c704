/**
 * Rewrites the generated documentation: the README's configuration table (between
 * `<!-- config-table:start -->` and `<!-- config-table:end -->`, from `src/config/schema.ts`),
 * error-code table (from `src/errors.ts`) and permission table (from `src/k8s/permissions.ts`), and
 * the chart's `values.schema.json` (from the same key table) and the values tables of the chart's README (from
 * values.yaml and that schema). Run with `npm run docs`; tests fail when a checked-in file is out of date.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { withConfigurationTable } from "../src/config/help.ts";
import { withChartValuesTables } from "./chart-readme.ts";
import { chartValuesSchemaText } from "./chart-values-schema.ts";
import { withErrorCodesTable } from "./readme-error-codes.ts";
import { withPermissionsTable } from "./readme-permissions.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

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

rewrite("README.md", (readme) => withPermissionsTable(withErrorCodesTable(withConfigurationTable(readme))));
rewrite("charts/agent-stack-k8s/values.schema.json", () => chartValuesSchemaText());
rewrite("charts/agent-stack-k8s/README.md", (readme) => withChartValuesTables(readme));
