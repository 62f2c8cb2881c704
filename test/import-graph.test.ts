/**
 * What each command loads: lint, schema and render never load the Kubernetes client, fastify,
 * prom-client or ajv (start-up and memory are features), and the webhook and the launcher never load
 * lint. Static imports only: `main.ts` loads the commands with `import()`, when they run.
 */
import { readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { expect, test } from "vitest";

const ROOT = new URL("../", import.meta.url).pathname;
const STATIC_IMPORT = /^\s*(?:import|export)\s[^;]*?\sfrom\s+"([^"]+)"|^\s*import\s+"([^"]+)"/gm;

/** Every module `entry` loads before any of its code runs: relative files and package names. */
function staticGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const pending = [join(ROOT, entry)];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (files.has(file)) continue;
    files.add(file);
    for (const [, from, bare] of readFileSync(file, "utf8").matchAll(STATIC_IMPORT)) {
      const specifier = (from ?? bare) as string;
      if (specifier.startsWith(".")) {
        if (specifier.endsWith(".ts")) pending.push(join(dirname(file), specifier));
      } else if (!specifier.startsWith("node:")) {
        packages.add(
          specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0]!,
        );
      }
    }
  }
  return { files: new Set([...files].map((file) => relative(ROOT, file))), packages };
}

const HEAVY = ["@kubernetes/client-node", "fastify", "prom-client", "ajv"];

test.each(["cli/lint.ts", "cli/schema.ts", "cli/render.ts"])(
  "%s loads none of the heavy packages",
  (entry) => {
    const { packages } = staticGraph(entry);
    expect([...packages].filter((name) => HEAVY.includes(name))).toEqual([]);
  },
);

test.each(["webhook/command.ts", "launcher/command.ts"])("%s does not load lint", (entry) => {
  const { files, packages } = staticGraph(entry);
  expect([...files].filter((file) => file.startsWith("src/lint/") || file === "cli/lint.ts")).toEqual([]);
  expect(packages.has("ajv")).toBe(false);
});

test("main.ts loads lint and schema only when they run", () => {
  const { files } = staticGraph("cli/main.ts");
  expect(
    [...files].filter(
      (file) => file === "cli/lint.ts" || file === "cli/schema.ts" || file.startsWith("src/lint/"),
    ),
  ).toEqual([]);
});

test("the walk sees what a command loads (the webhook loads fastify and the Kubernetes client)", () => {
  const { packages } = staticGraph("webhook/command.ts");
  expect(packages.has("fastify")).toBe(true);
  expect(packages.has("@kubernetes/client-node")).toBe(true);
});
