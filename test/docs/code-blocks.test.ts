/**
 * The documentation's code blocks, run. Each document's blocks run in order in a fresh copy of the
 * repository (node_modules linked), as a reader would type them:
 *
 * - `sh` blocks run in bash (`-euo pipefail`): `npx agent-stack-k8s …` for real, with `KUBECONFIG`
 *   pointing at the fake Kubernetes API where the chart is installed as `agent-stack-k8s` in `buildkite`
 *   (for `diagnose` and `certs --secret`), the pinned helm on the PATH, and the tokens the install page
 *   reads from the environment set to dummies. `npm ci` lines are not run again: these tests run after it;
 * - `console` blocks are transcripts: each `$ command` runs, and what it prints (stdout and stderr) must be
 *   the lines under it;
 * - `yaml` and `json` blocks must parse.
 *
 * A `<!-- doc-test: … -->` comment above a block says more (test/docs/markdown.ts reads it): `file NAME`
 * writes the block for later blocks, `pipeline` lints it strictly, `helm-template` runs `helm install` as
 * `helm template`, `server URL [CA]` starts the block, waits for URL and stops it, `skip CATEGORY: why`
 * leaves it out for one of the reasons below.
 *
 * Then every `kubectl` command of the documentation, in a block or inline, must parse: run against an API
 * server that refuses connections, it must get as far as calling it.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, type ExpectStatic, expect, test } from "vitest";
import { parseAllDocuments } from "yaml";
import { CONFIG_KEYS, envVarOf, type KeySpec } from "../../src/config/schema.ts";
import { HELM, SKIP_REASON } from "../chart/render.ts";
import { installStack, type StackOnFakes } from "../diagnose/stack-on-fakes.ts";
import { run } from "../support/cli.ts";
import {
  type CodeBlock,
  codeBlocks,
  documentationFiles,
  inlineCode,
  ROOT,
  readDoc,
  shellWords,
} from "./markdown.ts";

/** Why a block may be left out; a skip marker must name one of these. */
const SKIP_CATEGORIES: Readonly<Record<string, string>> = {
  cluster: "needs a Kubernetes cluster: no API server here serves kubectl or helm install",
  docker: "needs a Docker engine, which the machines the tests run on do not have",
  recursion: "is `npm test`, which runs this test",
  minutes: "takes minutes: benchmarks are never part of npm test",
  registry: "fetches from an OCI registry: there is no network here, and nothing is published yet",
};

/** Lines of a shell block that the tests have already run. */
const DONE_BEFORE = new Map([["npm ci", "the tests run after npm ci (.ci/run runs it on a clean clone)"]]);

const SHELL = new Set(["sh", "bash", "shell"]);
const NAMESPACE = "buildkite";
const RELEASE = "agent-stack-k8s";
const BLOCK_TIMEOUT_MS = 120_000;

const blocks = documentationFiles().flatMap((file) => codeBlocks(file));
const where = (block: CodeBlock) => `${block.file}:${block.line}`;

interface Outcome {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a script in bash, in its own process group so that a timeout ends all of it. */
function bash(script: string, cwd: string, env: NodeJS.ProcessEnv, options: { strict?: boolean } = {}) {
  const flags = options.strict === false ? ["-o", "pipefail"] : ["-euo", "pipefail"];
  const child = spawn("bash", [...flags, "-c", script], { cwd, env, detached: true });
  return { child, done: outcomeOf(child, BLOCK_TIMEOUT_MS) };
}

function outcomeOf(child: ChildProcess, timeoutMs: number): Promise<Outcome> {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => stopGroup(child), timeoutMs);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

function stopGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    // Already gone.
  }
}

/** A copy of the repository to run a document's blocks in, so that what they write stays there. */
function repositoryCopy(): string {
  const work = mkdtempSync(join(tmpdir(), "doc-blocks-"));
  const skipped = new Set(["node_modules", ".git", "dist", "coverage"]);
  cpSync(ROOT, work, {
    recursive: true,
    filter: (source) => !skipped.has(source.slice(ROOT.length).split("/")[0] ?? ""),
  });
  symlinkSync(join(ROOT, "node_modules"), join(work, "node_modules"));
  return work;
}

/** The environment of every block: no configuration of the machine's own, and the fake cluster's. */
function blockEnvironment(kubeconfig: string | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const spec of CONFIG_KEYS as readonly KeySpec[]) {
    const name = envVarOf(spec);
    if (name !== undefined) delete env[name];
  }
  return {
    ...env,
    PATH: [join(ROOT, "node_modules/.bin"), HELM === undefined ? undefined : dirname(HELM), process.env.PATH]
      .filter((part) => part !== undefined)
      .join(":"),
    KUBECONFIG: kubeconfig ?? join(tmpdir(), "no-kubeconfig-for-doc-tests"),
    BUILDKITE_AGENT_TOKEN: "doc-test-agent-token",
    BUILDKITE_GRAPHQL_TOKEN: "doc-test-graphql-token",
    npm_config_update_notifier: "false",
  };
}

function needsCluster(block: CodeBlock): boolean {
  return block.marker?.kind === "helm-template" || /\bdiagnose\b|--secret\b/.test(block.text);
}

/** The commands of a console transcript, each with the lines printed under it. */
function transcript(text: string): { command: string; expected: string }[] {
  const steps: { command: string; lines: string[] }[] = [];
  for (const line of text.trimEnd().split("\n")) {
    if (line.startsWith("$ ")) steps.push({ command: line.slice(2), lines: [] });
    else steps.at(-1)?.lines.push(line);
  }
  return steps.map((step) => ({ command: step.command, expected: step.lines.join("\n") }));
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, () => server.close(() => resolve(true)));
  });
}

/** GET `url` until it answers 200, trusting `ca`; false if it never does within the time. */
async function answers(url: string, ca: Buffer | undefined, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = await new Promise<number | undefined>((resolve) => {
      const req = request(url, { ca, timeout: 2_000 }, (response) => {
        response.resume();
        resolve(response.statusCode);
      });
      req.on("error", () => resolve(undefined));
      req.on("timeout", () => req.destroy());
      req.end();
    });
    if (status === 200) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

let stack: StackOnFakes | undefined;
let kubeconfig: string | undefined;
const scratch = mkdtempSync(join(tmpdir(), "doc-tests-"));

beforeAll(async () => {
  if (HELM === undefined) return;
  stack = await installStack({ namespace: NAMESPACE, release: RELEASE });
  kubeconfig = join(scratch, "kubeconfig");
  writeFileSync(kubeconfig, stack.kubernetes.kubeConfig().exportConfig());
}, 60_000);

afterAll(async () => {
  await stack?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe("every block says what it is", () => {
  test.each(blocks.map((block) => [where(block), block] as const))("%s", (_where, block) => {
    expect(block.badMarker, "a doc-test comment that cannot be read").toBeUndefined();
    const marker = block.marker;
    if (marker?.kind === "skip") {
      expect(Object.keys(SKIP_CATEGORIES), `skip category of ${where(block)}`).toContain(marker.category);
      expect(SHELL.has(block.lang), "only commands are skipped").toBe(true);
    }
    if (marker?.kind === "pipeline" || marker?.kind === "file")
      expect(["yaml", "json"]).toContain(block.lang);
    if (marker?.kind === "helm-template") expect(block.text).toMatch(/\bhelm install\b/);
    if (marker?.kind === "server") expect(SHELL.has(block.lang)).toBe(true);
    if (block.lang === "yaml") {
      for (const document of parseAllDocuments(block.text)) expect(document.errors).toEqual([]);
    }
    if (block.lang === "json") expect(() => JSON.parse(block.text)).not.toThrow();
  });
});

test("the README stays a ten-minute read: the rest belongs in docs/", () => {
  expect(readDoc("README.md").length).toBeLessThan(12_000);
});

test("the README goes from nothing to a rendered Job in two commands", () => {
  const [first] = codeBlocks("README.md").filter((block) => SHELL.has(block.lang));
  expect(first?.text.trim().split("\n")).toEqual([
    "npm ci",
    "npx agent-stack-k8s render --pipeline examples/pipeline.yaml",
  ]);
});

/** The blocks a test runs or writes, by document. */
const byFile = new Map<string, CodeBlock[]>();
for (const block of blocks) {
  if (SHELL.has(block.lang) || block.lang === "console" || block.marker !== undefined) {
    byFile.set(block.file, [...(byFile.get(block.file) ?? []), block]);
  }
}

/** Why a block is left out, or undefined when it runs. */
function leftOut(block: CodeBlock): string | undefined {
  const marker = block.marker;
  if (marker?.kind === "skip") return `${marker.category}: ${SKIP_CATEGORIES[marker.category]}`;
  if (HELM === undefined && needsCluster(block)) return `the fake cluster needs helm${SKIP_REASON}`;
  return undefined;
}

const label = (block: CodeBlock) =>
  `${where(block)} ${block.marker ? `(${block.marker.kind}) ` : ""}${block.text.split("\n")[0]}`;

describe("blocks left out", () => {
  const skipped = [...byFile.values()].flat().filter((block) => leftOut(block) !== undefined);
  for (const block of skipped) test.skip(`${label(block)} — ${leftOut(block)}`, () => {});
});

/** Runs one block in `work`, as a reader would. */
async function runBlock(block: CodeBlock, work: string, check: ExpectStatic): Promise<void> {
  const marker = block.marker;
  if (marker?.kind === "file") {
    mkdirSync(dirname(join(work, marker.path)), { recursive: true });
    writeFileSync(join(work, marker.path), block.text);
    return;
  }
  if (marker?.kind === "pipeline") {
    const linted = await run(["lint", "--strict", "pipeline.yaml"], { "pipeline.yaml": block.text });
    check(`${linted.stdout}${linted.stderr}`, `${where(block)}: lint --strict`).toBe("");
    check(linted.status, `${where(block)}: lint --strict`).toBe(0);
    return;
  }
  const env = blockEnvironment(kubeconfig);
  if (block.lang === "console") {
    for (const { command, expected } of transcript(block.text)) {
      const outcome = await bash(`${command} 2>&1`, work, env, { strict: false }).done;
      check(outcome.stdout.trimEnd(), `${where(block)}: $ ${command}`).toBe(expected.trimEnd());
    }
    return;
  }
  let script = block.text
    .split("\n")
    .filter((line) => !DONE_BEFORE.has(line.trim()))
    .join("\n");
  if (marker?.kind === "helm-template") script = script.replace(/\bhelm install\b/g, "helm template");
  if (marker?.kind === "server") {
    const url = new URL(marker.url);
    if (!(await portIsFree(Number(url.port)))) {
      // Another process has the port the documentation names: nothing to learn from this run.
      console.warn(`${where(block)} not run: port ${url.port} is in use on this machine`);
      return;
    }
    const server = bash(script, work, env);
    const ca = marker.ca === undefined ? undefined : readFileSync(join(work, marker.ca));
    const ready = await answers(marker.url, ca, 60_000);
    stopGroup(server.child);
    const outcome = await server.done;
    check(ready, `${where(block)}: ${marker.url} answered 200\n${outcome.stdout}${outcome.stderr}`).toBe(
      true,
    );
    return;
  }
  const outcome = await bash(script, work, env).done;
  check(outcome.status, `${where(block)} exited ${outcome.status}:\n${outcome.stdout}${outcome.stderr}`).toBe(
    0,
  );
}

// Documents are independent (each has its own copy of the repository), so they run side by side; the
// blocks of one document run in order, since later blocks use what earlier ones wrote.
describe.concurrent("each document's blocks, in order", () => {
  for (const [file, fileBlocks] of byFile) {
    const runs = fileBlocks.filter((block) => leftOut(block) === undefined);
    if (runs.length === 0) continue;
    test(
      `${file}: ${runs.map((block) => block.line).join(", ")}`,
      async ({ expect: check }) => {
        const work = repositoryCopy();
        try {
          for (const block of runs) await runBlock(block, work, check);
        } finally {
          rmSync(work, { recursive: true, force: true });
        }
      },
      runs.length * BLOCK_TIMEOUT_MS,
    );
  }
});

/** Every kubectl command of the documentation: inline, and the lines of its shell blocks. */
function kubectlCommands(): { where: string; words: string[] }[] {
  const commands: { where: string; words: string[] }[] = [];
  for (const file of documentationFiles()) {
    for (const code of inlineCode(readDoc(file))) {
      if (code.startsWith("kubectl ")) commands.push({ where: file, words: shellWords(code) });
    }
  }
  for (const block of blocks.filter((candidate) => SHELL.has(candidate.lang))) {
    for (const line of block.text.replace(/\\\n/g, " ").split("\n")) {
      if (line.trim().startsWith("kubectl ")) commands.push({ where: where(block), words: shellWords(line) });
    }
  }
  return commands;
}

const kubectl = await promisify(execFile)("kubectl", ["version", "--client"]).then(
  () => true,
  () => false,
);

describe.skipIf(!kubectl)(`kubectl commands${kubectl ? "" : " (skipped: no kubectl)"}`, () => {
  const commands = kubectlCommands();
  test("there are some", () => expect(commands.length).toBeGreaterThan(10));
  let files = "";
  beforeAll(() => {
    // The files the commands name (job.yaml…), as the documentation's `file` blocks write them.
    files = mkdtempSync(join(tmpdir(), "doc-kubectl-"));
    for (const block of blocks) {
      if (block.marker?.kind === "file") writeFileSync(join(files, block.marker.path), block.text);
    }
    writeFileSync(
      join(files, "kubeconfig"),
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters: [{name: nowhere, cluster: {server: 'https://127.0.0.1:1'}}]",
        "contexts: [{name: nowhere, context: {cluster: nowhere, user: nobody}}]",
        "users: [{name: nobody, user: {token: none}}]",
        "current-context: nowhere",
      ].join("\n"),
    );
  });
  afterAll(() => rmSync(files, { recursive: true, force: true }));

  test.each(commands.map((command) => [command.words.join(" "), command] as const))(
    "%s",
    async (_line, command) => {
      const outcome = await new Promise<Outcome>((resolve) => {
        const child = spawn("kubectl", [...command.words.slice(1), "--request-timeout=2s"], {
          cwd: files,
          env: { ...process.env, KUBECONFIG: join(files, "kubeconfig") },
        });
        child.stdin.end();
        void outcomeOf(child, 30_000).then(resolve);
      });
      expect(
        `${outcome.stdout}${outcome.stderr}`,
        `${command.where}: \`${command.words.join(" ")}\` stops before it calls the API server`,
      ).toMatch(/127\.0\.0\.1:1\b.*connection refused|connection refused.*127\.0\.0\.1:1\b/);
    },
  );
});
