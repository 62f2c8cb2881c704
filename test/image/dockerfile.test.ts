/**
 * The container image, without a Docker engine: the Dockerfile is linted (dockerfile-utils, the
 * validator behind VS Code's Docker support), checked for the properties the chart relies on, and its
 * build stage is replayed in a temporary directory (the files it copies, its `npm ci`, the
 * precompilation and pruning of scripts/build-image.ts, the compile cache), where the entrypoint must
 * run and every module must load, as JavaScript, with what the image keeps of the dependencies.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { Arg, Label } from "dockerfile-ast";
import { validate } from "dockerfile-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { VERSION } from "../../src/version.ts";
import {
  copiedFromContext,
  copiedFromStages,
  DOCKERFILE,
  type Replay,
  ROOT,
  replayBuildStage,
  type Stage,
  stages,
} from "../support/image-replay.ts";

const PACKAGE = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  version: string;
  license: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

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

  it("builds in a slim Node 24 image, with production dependencies only, into a distroless image", () => {
    const [build, final] = stages() as [Stage, Stage];
    expect(stages()).toHaveLength(2);
    expect(build.from).toMatch(/^node:24(\.\d+){0,2}-[a-z]+-slim$/);
    const install = build.instructions.find((instruction) => instruction.getKeyword() === "RUN");
    expect(install?.getArgumentsContent()).toMatch(/^npm ci --omit=dev --omit=optional --ignore-scripts\b/);
    expect(final.from).toMatch(/^gcr\.io\/distroless\/cc-debian\d+/);
    // Node itself, from the same release as the build stage, and the app the build stage made.
    expect(copiedFromStages(final).map(({ source }) => source)).toEqual(
      expect.arrayContaining(["/usr/local/bin/node", "/app"]),
    );
  });

  it("runs as a non-root user by number, with the entrypoint agent-stack-k8s run by Node", () => {
    const final = stages().at(-1) as Stage;
    const user = final.instructions.filter((instruction) => instruction.getKeyword() === "USER").at(-1);
    const [uid] = (user?.getArgumentsContent() ?? "").split(":");
    expect(Number(uid)).toBeGreaterThan(0);
    const entrypoint = final.instructions.find((instruction) => instruction.getKeyword() === "ENTRYPOINT");
    expect(JSON.parse(entrypoint?.getArgumentsContent() ?? "null")).toEqual([
      "/usr/local/bin/node",
      "/app/bin/agent-stack-k8s.js",
    ]);
  });

  it("has what the chart's pods run besides the entrypoint (the webhook's preStop sleep)", () => {
    const chart = readFileSync(join(ROOT, "charts/agent-stack-k8s/templates/webhook.yaml"), "utf8");
    const programs = [...chart.matchAll(/command: \["([^"]+)"/g)].map((match) => match[1] as string);
    expect(programs).toContain("sleep");
    const copied = copiedFromStages(stages().at(-1) as Stage).map(({ target }) => target);
    for (const program of programs) expect(copied, program).toContain(`/usr/bin/${program}`);
  });

  it("copies every file the entrypoint can load, and the .dockerignore lets them in", () => {
    const copied = copiedFromContext(stages()[0] as Stage);
    const ignore = readFileSync(join(ROOT, ".dockerignore"), "utf8");
    for (const file of productionImports().files) {
      const path = relative(ROOT, file);
      const top = path.split("/")[0] as string;
      expect(copied, `${path} is loaded by the entrypoint`).toContain(top);
      expect(ignore, `.dockerignore must let ${top}/ in`).toContain(
        `!${top}${path.includes("/") ? "/" : ""}`,
      );
    }
    expect(copied).toContain("scripts/build-image.ts");
    expect(ignore).toContain("!scripts/build-image.ts");
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
    // The image's base is the final stage's.
    expect(resolved("base.name")).toBe(globalArg("BASE_IMAGE"));
    expect(resolved("base.name")).toBe(final.from);
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
describe("the image's files: precompiled code and the dependencies that can run", () => {
  let replay: Replay;

  beforeAll(() => {
    replay = replayBuildStage(mkdtempSync(join(tmpdir(), "image-")));
  }, 300_000);

  afterAll(() => rmSync(replay.root, { recursive: true, force: true }));

  function run(args: readonly string[], env: Record<string, string> = {}) {
    return spawnSync(process.execPath, [join(replay.app, "bin/agent-stack-k8s.js"), ...args], {
      cwd: replay.app,
      encoding: "utf8",
      timeout: 60_000,
      env: { PATH: process.env.PATH ?? "", NODE_ENV: "production", ...env },
    });
  }

  function files(directory: string): string[] {
    return readdirSync(directory, { withFileTypes: true, recursive: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name));
  }

  it("holds JavaScript only: no TypeScript, declarations or source maps", ({ skip }) => {
    if (replay.skip) skip(replay.skip);
    const app = files(replay.app).map((file) => relative(replay.app, file));
    expect(app.filter((file) => /\.(ts|mts|cts|map)$/.test(file))).toEqual([]);
    expect(app).toContain("cli/main.js");
  });

  it("installs no development-only package", ({ skip }) => {
    if (replay.skip) skip(replay.skip);
    const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const devOnly = Object.entries(lock.packages).filter(
      ([path, entry]) => path !== "" && entry.dev === true,
    );
    expect(devOnly.length).toBeGreaterThan(0);
    for (const [path] of devOnly) expect(existsSync(join(replay.app, path)), path).toBe(false);
  });

  it("keeps none of the Kubernetes client's generated API and model modules", ({ skip }) => {
    if (replay.skip) skip(replay.skip);
    const client = join(replay.app, "node_modules/@kubernetes/client-node");
    expect(existsSync(join(client, "dist/config.js"))).toBe(true);
    expect(existsSync(join(client, "dist/gen/models/ObjectSerializer.js"))).toBe(false);
    expect(existsSync(join(client, "dist/gen/apis/BatchV1Api.js"))).toBe(false);
  });

  it("prints its version and renders a job", ({ skip }) => {
    if (replay.skip) skip(replay.skip);
    const version = run(["version"]);
    expect(version.stdout.trim(), version.stderr).toBe(VERSION);
    const rendered = run(["render", "--job", join(ROOT, "examples/job.json"), "-o", "json"]);
    expect(rendered.status, rendered.stderr).toBe(0);
    expect(JSON.parse(rendered.stdout)).toMatchObject({ kind: "Job" });
  });

  it("loads every module, the Kubernetes client's included", ({ skip }) => {
    if (replay.skip) skip(replay.skip);
    const modules = files(replay.app).filter(
      (file) => file.endsWith(".js") && !file.includes("/node_modules/") && !file.includes("/bin/"),
    );
    expect(modules.length).toBeGreaterThan(100);
    const loaded = spawnSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `for (const file of ${JSON.stringify(modules)}) await import(file); process.stdout.write("loaded");`,
      ],
      { cwd: replay.app, encoding: "utf8", timeout: 120_000 },
    );
    expect(loaded.stderr).toBe("");
    expect(loaded.stdout).toBe("loaded");
  });

  it.for(["launcher", "webhook", "certs", "diagnose"])(
    "prints the %s command's help",
    (command, { skip }) => {
      if (replay.skip) skip(replay.skip);
      const help = run([command, "--help"]);
      expect(help.status, help.stderr).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^Usage: agent-stack-k8s ${command}`));
    },
  );

  it("starts from the compile cache made at build time, which it only reads", ({ skip }) => {
    if (replay.skip) skip(replay.skip);
    const cache = join(replay.app, "compile-cache");
    expect(files(cache).length).toBeGreaterThan(100);
    // As the image's root filesystem is: nothing can be written there.
    for (const entry of [
      cache,
      ...readdirSync(cache, { recursive: true }).map((name) => join(cache, String(name))),
    ]) {
      chmodSync(entry, 0o555);
    }
    const traced = run(["version"], { NODE_COMPILE_CACHE: cache, NODE_DEBUG_NATIVE: "COMPILE_CACHE" });
    expect(traced.status, traced.stderr).toBe(0);
    expect(traced.stdout.trim()).toBe(VERSION);
    expect(traced.stderr).toMatch(/V8 code cache for ESM file:\/\/\S+\/cli\/main\.js was accepted/);
    // A long-running command starts again with its heap flags, which Node keys the cache by too.
    const directory = mkdtempSync(join(tmpdir(), "image-certs-"));
    const certs = run(["certs", "--out-dir", directory], {
      NODE_COMPILE_CACHE: cache,
      NODE_DEBUG_NATIVE: "COMPILE_CACHE",
    });
    expect(certs.status, certs.stderr).toBe(0);
    expect(certs.stderr).toMatch(/V8 code cache for ESM file:\/\/\S+\/certs\/run\.js was accepted/);
    expect(readdirSync(cache)).toHaveLength(2);
  });
});
