import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { ERRORS } from "../src/errors.ts";

const ROOT = new URL("../", import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith(".ts") ? [path] : [];
  });
}

test("every code in the catalog is raised somewhere", () => {
  const code = ["src", "cli", "webhook", "certs", "launcher", "runtime", "diagnose"]
    .flatMap((dir) => (existsSync(join(ROOT, dir)) ? sources(join(ROOT, dir)) : []))
    .filter((path) => !path.endsWith("errors.ts"))
    .map((path) => readFileSync(path, "utf8"))
    .join("\n");
  const unused = Object.keys(ERRORS).filter((name) => !code.includes(`"${name}"`));
  expect(unused).toEqual([]);
});
