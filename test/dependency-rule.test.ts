/**
 * design.md: `src/` is the pure core; it imports nothing from the adapters around it. The CLI
 * (`cli/main.ts`) loads the command modules; they never import it back, so a command's `--help` loads
 * its own module and no other command's.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { expect, test } from "vitest";

const ROOT = new URL("../", import.meta.url).pathname;

function importsOf(path: string): Array<{ specifier: string; dynamic: boolean }> {
  const text = readFileSync(path, "utf8");
  return [...text.matchAll(/from\s+"([^"]+)"|import\(\s*"([^"]+)"\s*\)/g)].map((m) => ({
    specifier: m[1] ?? m[2] ?? "",
    dynamic: m[2] !== undefined,
  }));
}

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

test("the command modules (launcher/, webhook/, certs/, diagnose/, runtime/) import nothing from cli/", () => {
  const offenders = ["launcher", "webhook", "certs", "diagnose", "runtime"].flatMap((dir) =>
    files(join(ROOT, dir)).flatMap((path) =>
      importsOf(path)
        .filter(({ specifier }) => specifier.startsWith(".") && /(^|\/)cli\//.test(specifier))
        .map(({ specifier }) => `${relative(ROOT, path)} imports ${specifier}`),
    ),
  );
  expect(offenders).toEqual([]);
});

test("cli/main.ts loads every command module on use, never up front", () => {
  const commandModules = importsOf(join(ROOT, "cli/main.ts")).filter(({ specifier }) =>
    /^\.\.?\/(render|lint|schema)\.ts$|^\.\.\/(launcher|webhook|certs|diagnose)\//.test(specifier),
  );
  expect(commandModules.length).toBeGreaterThan(0);
  expect(commandModules.filter(({ dynamic }) => !dynamic)).toEqual([]);
});
