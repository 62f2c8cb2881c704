/**
 * Rewrites the README's generated tables: configuration (between `<!-- config-table:start -->` and
 * `<!-- config-table:end -->`, from `src/config/schema.ts`) and error codes (from `src/errors.ts`). Run with `npm run docs`;
 * a test fails when the checked-in README is out of date.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { withConfigurationTable } from "../src/config/help.ts";
import { withErrorCodesTable } from "./readme-error-codes.ts";

const README = join(dirname(fileURLToPath(import.meta.url)), "..", "README.md");

const before = existsSync(README) ? readFileSync(README, "utf8") : "";
const after = withErrorCodesTable(withConfigurationTable(before));
if (after === before) {
  process.stdout.write("README.md: configuration and error-code tables are up to date\n");
} else {
  writeFileSync(README, after);
  process.stdout.write("README.md: configuration and error-code tables rewritten\n");
}
