/**
 * The container image, without a Docker engine: the Dockerfile is linted (dockerfile-utils, the
 * validator behind VS Code's Docker support), checked for the properties the chart relies on, and its
 * steps are replayed in a temporary directory (the files it copies, its `npm ci`), where the
 * entrypoint must run and load every command with production dependencies only.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { Arg, Copy, DockerfileParser, type Instruction, Label } from "dockerfile-ast";
import { validate } from "dockerfile-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { VERSION } from "../../src/version.ts";

const ROOT = resolve(new URL("../..", import.meta.url).pathname);
const DOCKERFILE = readFileSync(join(ROOT, "Dockerfile"), "utf8");
const PACKAGE = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  version: string;
  license: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

interface Stage {
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

function stages(): Stage[] {
  const result: Stage[] = [];
  for (const instruction of DockerfileParser.parse(DOCKERFILE).getInstructions()) {
    if (instruction.getKeyword() === "FROM") {
      const args = instruction.getArguments().map((arg) => arg.getValue());
      const as = args.findIndex((arg) => arg.toUpperCase() === "AS");
      result.push({ name: as === -1 ? undefined : args[as + 1], instructions: [] });
    } else {
      result.at(-1)?.instructions.push(instruction);
    }
  }
  return result;
}

function argumentsOf(instruction: Instruction): string[] {
  return instruction.getArguments().map((arg) => arg.getValue());
}

/** The build-context sources the final stage copies (COPY without --from), as repository paths. */
function copiedFromContext(stage: Stage): string[] {
  return stage.instructions
    .filter(
      (instruction): instruction is Copy => instruction instanceof Copy && instruction.getFromFlag() === null,
    )
    .flatMap((instruction) => argumentsOf(instruction).slice(0, -1));
}

const IMPORT =
  /(?:^|[^\w.])(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/gm;

/** Every file the entrypoint can load (static and dynamic imports), and the packages they import. */
function productionImports(): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [join(ROOT, "bin/agent-stack-k8s.js")];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (files.has(file)) continue;
    files.add(file);
    for (const match of readFileSync(file, "utf8").matchAll(IMPORT)) {
      const specifier = (match[1] ?? match[2]) as string;
      if (specifier.startsWith(".")) {
        queue.push(resolve(dirname(file), specifier));
      } else if (!specifier.startsWith("node:") && !builtinModules.includes(specifier)) {
        const parts = specifier.split("/");
        packages.add(specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] as string));
      }
    }
  }
  return { files, packages };
}

describe("the Dockerfile", () => {
  it("passes the linter", () => {
    // The linter does find problems: an instruction it does not know and a FROM without an image.
    expect(validate("FROM\nFOO bar\n", {}).length).toBeGreaterThan(0);
    expect(validate(DOCKERFILE, {})).toEqual([]);
  });

  it("builds in two stages from a slim Node 24 image, with production dependencies only", () => {
    const all = stages();
    expect(all.length).toBe(2);
    const base = /^ARG NODE_IMAGE=(\S+)$/m.exec(DOCKERFILE)?.[1];
    expect(base).toMatch(/^node:24(\.\d+){0,2}-[a-z]+-slim$/);
    const install = all[0]?.instructions.find((instruction) => instruction.getKeyword() === "RUN");
    expect(install?.getArgumentsContent()).toMatch(/^npm ci --omit=dev --omit=optional --ignore-scripts\b/);
  });

  it("runs as a non-root user by number, with the entrypoint agent-stack-k8s", () => {
    const final = stages().at(-1) as Stage;
    const user = final.instructions.filter((instruction) => instruction.getKeyword() === "USER").at(-1);
    const [uid] = (user?.getArgumentsContent() ?? "").split(":");
    expect(Number(uid)).toBeGreaterThan(0);
    const entrypoint = final.instructions.find((instruction) => instruction.getKeyword() === "ENTRYPOINT");
    expect(JSON.parse(entrypoint?.getArgumentsContent() ?? "null")).toEqual(["agent-stack-k8s"]);
  });

  it("copies every file the entrypoint can load, and the .dockerignore lets them in", () => {
    const copied = copiedFromContext(stages().at(-1) as Stage);
    const ignore = readFileSync(join(ROOT, ".dockerignore"), "utf8");
    for (const file of productionImports().files) {
      const path = relative(ROOT, file);
      const top = path.split("/")[0] as string;
      expect(copied, `${path} is loaded by the entrypoint`).toContain(top);
      expect(ignore, `.dockerignore must let ${top}/ in`).toContain(
        `!${top}${path.includes("/") ? "/" : ""}`,
      );
    }
    for (const source of copied) expect(existsSync(join(ROOT, source)), source).toBe(true);
  });

  it("labels the image with the OCI annotations, version and revision from build arguments", () => {
    const final = stages().at(-1) as Stage;
    const args = new Map<string, string | undefined>();
    for (const instruction of final.instructions) {
      const property = instruction instanceof Arg ? instruction.getProperty() : null;
      if (property) args.set(property.getName(), property.getValue() ?? undefined);
    }
    // An ARG without a value in a stage takes the one declared before the first FROM.
    const globalArg = (name: string) => new RegExp(`^ARG ${name}=(\\S+)$`, "m").exec(DOCKERFILE)?.[1];
    const labels = new Map<string, string>();
    for (const instruction of final.instructions) {
      if (!(instruction instanceof Label)) continue;
      for (const property of instruction.getProperties())
        labels.set(property.getName(), (property.getUnescapedValue() ?? "").replace(/^"(.*)"$/s, "$1"));
    }
    const resolved = (name: string) =>
      labels.get(`org.opencontainers.image.${name}`)?.replace(/\$\{(\w+)\}/g, (_, arg: string) => {
        expect(args.has(arg), `ARG ${arg} is declared in the final stage`).toBe(true);
        return args.get(arg) ?? globalArg(arg) ?? "";
      });

    // What `docker buildx build --build-arg VERSION=… --build-arg REVISION=…` sets.
    expect(labels.get("org.opencontainers.image.version")).toBe(`\${VERSION}`);
    expect(labels.get("org.opencontainers.image.revision")).toBe(`\${REVISION}`);
    // Their defaults, for a plain `docker build .`.
    expect(resolved("version")).toBe(PACKAGE.version);
    expect(resolved("revision")).toBe("unknown");
    expect(resolved("title")).toBe("agent-stack-k8s");
    expect(resolved("description")).toMatch(/Buildkite/);
    expect(resolved("licenses")).toBe(PACKAGE.license);
    const chart = parse(readFileSync(join(ROOT, "charts/agent-stack-k8s/Chart.yaml"), "utf8")) as {
      home: string;
    };
    expect(resolved("source")).toBe(chart.home);
    expect(resolved("url")).toBe(chart.home);
    expect(resolved("documentation")).toBe(`${chart.home}#readme`);
    expect(resolved("base.name")).toBe(globalArg("NODE_IMAGE"));
  });

  it("declares the per-build arguments after the last RUN, so a new revision rebuilds no layer", () => {
    const final = stages().at(-1) as Stage;
    const lastRun = final.instructions.findLastIndex((instruction) => instruction.getKeyword() === "RUN");
    const perBuild = final.instructions.findIndex(
      (instruction) =>
        instruction instanceof Arg &&
        ["VERSION", "REVISION"].includes(instruction.getProperty()?.getName() ?? ""),
    );
    expect(perBuild).toBeGreaterThan(lastRun);
  });

  it("needs no development dependency at run time", () => {
    const { packages } = productionImports();
    for (const name of packages) {
      expect(Object.keys(PACKAGE.devDependencies), `${name} is a dev dependency`).not.toContain(name);
      expect(Object.keys(PACKAGE.dependencies), `${name} is imported but not a dependency`).toContain(name);
    }
  });
});

/** The image's /app, rebuilt here from the Dockerfile's own steps. */
describe("the image's files, with production dependencies only", () => {
  let app: string;
  let skip: string | undefined;

  beforeAll(() => {
    app = mkdtempSync(join(tmpdir(), "image-app-"));
    const [dependencies, final] = stages() as [Stage, Stage];
    for (const source of copiedFromContext(final)) {
      const from = join(ROOT, source);
      cpSync(from, join(app, source), { recursive: statSync(from).isDirectory() });
    }
    const install = dependencies.instructions.find((instruction) => instruction.getKeyword() === "RUN");
    const command = (install?.getArgumentsContent() ?? "").split("&&")[0]?.trim().split(/\s+/) ?? [];
    cpSync(join(ROOT, "package-lock.json"), join(app, "package-lock.json"));
    mkdirSync(join(app, "node_modules"), { recursive: true });
    const result = spawnSync(command[0] as string, command.slice(1), {
      cwd: app,
      encoding: "utf8",
      timeout: 240_000,
    });
    if (result.error || result.status !== 0) {
      skip = `npm ci failed (${result.error?.message ?? result.stderr.trim().split("\n").at(-1)})`;
    }
  }, 300_000);

  afterAll(() => rmSync(app, { recursive: true, force: true }));

  function run(args: readonly string[]) {
    return spawnSync(process.execPath, [join(app, "bin/agent-stack-k8s.js"), ...args], {
      cwd: app,
      encoding: "utf8",
      timeout: 60_000,
      env: { PATH: process.env.PATH ?? "", NODE_ENV: "production" },
    });
  }

  it("installs no development-only package", ({ skip: skipTest }) => {
    if (skip) skipTest(skip);
    const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const devOnly = Object.entries(lock.packages).filter(
      ([path, entry]) => path !== "" && entry.dev === true,
    );
    expect(devOnly.length).toBeGreaterThan(0);
    for (const [path] of devOnly) expect(existsSync(join(app, path)), path).toBe(false);
  });

  it("prints its version and renders a job", ({ skip: skipTest }) => {
    if (skip) skipTest(skip);
    const version = run(["version"]);
    expect(version.stdout.trim(), version.stderr).toBe(VERSION);
    const rendered = run(["render", "--job", join(ROOT, "examples/job.json"), "-o", "json"]);
    expect(rendered.status, rendered.stderr).toBe(0);
    expect(JSON.parse(rendered.stdout)).toMatchObject({ kind: "Job" });
  });

  it.for(["launcher", "webhook", "certs"])("loads the %s command", (command, { skip: skipTest }) => {
    if (skip) skipTest(skip);
    const loaded = spawnSync(
      process.execPath,
      ["--input-type=module", "-e", `await import(${JSON.stringify(join(app, command, "command.ts"))});`],
      { cwd: app, encoding: "utf8", timeout: 60_000 },
    );
    expect(loaded.status, loaded.stderr).toBe(0);
    const help = run([command, "--help"]);
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(new RegExp(`^Usage: agent-stack-k8s ${command}`));
  });
});
