/** design.md: `src/` is the pure core; it imports nothing from the adapters around it. */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { expect, test } from "vitest";

const ROOT = new URL("../", import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith(".ts") ? [path] : [];
  });
}

test("src/ imports nothing from cli/, webhook/, launcher/, certs/ or runtime/", () => {
  const offenders = files(join(ROOT, "src")).flatMap((path) => {
    const text = readFileSync(path, "utf8");
    const imports = [...text.matchAll(/from\s+"([^"]+)"|import\(\s*"([^"]+)"\s*\)/g)].map(
      (m) => m[1] ?? m[2] ?? "",
    );
    return imports
      .filter(
        (specifier) =>
          /(^|\/)(cli|webhook|launcher|certs|runtime)\//.test(specifier) && specifier.startsWith("."),
      )
      .map((specifier) => `${relative(ROOT, path)} imports ${specifier}`);
  });
  expect(offenders).toEqual([]);
});
