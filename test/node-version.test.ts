/**
 * The Node the project needs, and what a machine without it is told: package.json asks for Node 24,
 * `npm ci` brings it where the registry has a runtime package, and on an older Node the CLI and every
 * npm script that runs our code stop with one line naming what to install.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";

const ROOT = new URL("../", import.meta.url).pathname;
// Plain JavaScript that must parse on old Nodes, so it has no types of its own.
const { BROUGHT_BY_NPM, nodeVersionProblem, REQUIRED_MAJOR } = (await import(
  new URL("../bin/node-version.js", import.meta.url).href
)) as {
  BROUGHT_BY_NPM: readonly string[];
  REQUIRED_MAJOR: number;
  nodeVersionProblem: (version?: string, execPath?: string, platform?: string) => string | undefined;
};
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  engines: { node: string };
  scripts: Record<string, string>;
  optionalDependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
  packages: Record<string, { version: string; os?: string | string[]; cpu?: string | string[] }>;
};

describe("the Node version check", () => {
  test("Node 24 and newer pass", () => {
    expect(nodeVersionProblem("v24.0.0", "/n", "linux-x64")).toBeUndefined();
    expect(nodeVersionProblem("v26.1.0", "/n", "linux-x64")).toBeUndefined();
    expect(nodeVersionProblem(process.version)).toBeUndefined();
  });

  test("an older Node gets one line: the version found, where, and that npm ci brings Node 24 here", () => {
    const problem = nodeVersionProblem("v20.20.2", "/usr/bin/node", "linux-x64") ?? "";
    expect(problem).not.toContain("\n");
    expect(problem).toContain("needs Node.js 24 or newer");
    expect(problem).toContain("Node v20.20.2 (/usr/bin/node)");
    expect(problem).toContain("npm ci");
  });

  test("where npm brings no Node 24, the line says to install it and names the platform", () => {
    const problem = nodeVersionProblem("v22.3.0", "/opt/homebrew/bin/node", "darwin-arm64") ?? "";
    expect(problem).not.toContain("\n");
    expect(problem).toContain("install Node.js 24 LTS");
    expect(problem).toContain("npm brings no Node 24 for darwin-arm64");
  });
});

describe("package.json", () => {
  test(`asks for Node ${REQUIRED_MAJOR} or newer`, () => {
    expect(pkg.engines.node).toBe(`>=${REQUIRED_MAJOR}`);
  });

  test("brings a Node 24 runtime for exactly the platforms the check says npm brings one for", () => {
    const platforms = Object.entries(pkg.optionalDependencies)
      .filter(([name]) => name.startsWith("node-"))
      .map(([name, version]) => {
        expect(version, name).toMatch(/^24\.\d+\.\d+$/);
        const locked = lock.packages[`node_modules/${name}`];
        expect(locked?.version, `${name} in package-lock.json`).toBe(version);
        const [os, cpu] = [locked?.os, locked?.cpu].map((field) => (Array.isArray(field) ? field[0] : field));
        expect(`node-${os === "win32" ? "win" : os}-${cpu}`, `${name}'s os and cpu`).toBe(name);
        return `${os}-${cpu}`;
      });
    expect(platforms.sort()).toEqual([...BROUGHT_BY_NPM].sort());
  });

  test("every script that runs the project's code with node checks the version first", () => {
    for (const [name, script] of Object.entries(pkg.scripts)) {
      if (!/\bnode |vitest/.test(script)) continue;
      expect(script, `npm run ${name}`).toMatch(/^node bin\/node-version\.js( --quiet)? && /);
    }
    expect(pkg.scripts.test).toMatch(/^node bin\/node-version\.js && /);
  });
});

/** A Node older than 24 on this machine, outside node_modules (the one npm ci brings is 24). */
function olderNode(): string | undefined {
  for (const candidate of ["/usr/bin/node", "/usr/local/bin/node"]) {
    if (!existsSync(candidate)) continue;
    const version = spawnSync(candidate, ["-p", "process.versions.node"], { encoding: "utf8" }).stdout.trim();
    if (Number(version.split(".")[0]) < REQUIRED_MAJOR) return candidate;
  }
  return undefined;
}

const older = olderNode();
if (older === undefined)
  process.stderr.write("test/node-version.test.ts: no Node older than 24 here; the run on one is skipped\n");

describe.skipIf(older === undefined)(`on an older Node (${older})`, () => {
  test.for([
    ["the CLI", ["bin/agent-stack-k8s.js", "version"]],
    ["an npm script's check", ["bin/node-version.js"]],
  ] as const)("%s stops with one line naming what to install", ([, args]) => {
    const result = spawnSync(older as string, args, { cwd: ROOT, encoding: "utf8", timeout: 30_000 });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    const lines = result.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^agent-stack-k8s needs Node\.js 24 or newer, but this is Node v\d+/);
  });
});

test("run by npm test's first step, the check prints the Node it runs on", () => {
  const result = spawnSync(process.execPath, ["bin/node-version.js"], { cwd: ROOT, encoding: "utf8" });
  expect(result.status).toBe(0);
  expect(result.stdout).toBe(`Node ${process.version} (${process.execPath})\n`);
  const quiet = spawnSync(process.execPath, ["bin/node-version.js", "--quiet"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  expect(quiet.stdout).toBe("");
});
