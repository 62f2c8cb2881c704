/**
 * Rewrites the README's configuration table (between `<!-- config-table:start -->` and
 * `<!-- config-table:end -->`) from the key table in `src/config/schema.ts`. Run with `npm run docs`;
 * a test fails when the checked-in README is out of date.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { withConfigurationTable } from "../src/config/help.ts";

const README = join(dirname(fileURLToPath(import.meta.url)), "..", "README.md");

const before = existsSync(README) ? readFileSync(README, "utf8") : "";
const after = withConfigurationTable(before);
if (after === before) {
  process.stdout.write("README.md: configuration table is up to date\n");
} else {
  writeFileSync(README, after);
  process.stdout.write("README.md: configuration table rewritten\n");
}
