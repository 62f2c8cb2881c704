/**
 * Start-up is a feature: each command loads what it needs and no more. The CLI runs as a real process
 * with a preload that records every module it resolves; a command that does not talk to a cluster must
 * never load the Kubernetes client, and `--help` never loads what does the work.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { AGENT_TOKEN_SECRET, NS, startFakes } from "../launcher/harness.ts";
import { eventually, freePort, newCertificates } from "../webhook/harness.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const CLI = join(ROOT, "bin/agent-stack-k8s.js");
const TRACE = join(ROOT, "test/support/trace-modules.ts");
const HEAVY = ["@kubernetes/client-node", "fastify", "prom-client", "pino", "graphql", "graphql-request"];

function traceFile(): string {
  return join(mkdtempSync(join(tmpdir(), "trace-")), "modules.json");
}

/** The packages among the modules a run loaded. */
function packagesIn(file: string): Set<string> {
  const urls = JSON.parse(readFileSync(file, "utf8")) as string[];
  const packages = new Set<string>();
  for (const url of urls) {
    const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (match) packages.add(match[1] as string);
  }
  return packages;
}

function run(args: readonly string[]): { status: number | null; stdout: string; packages: Set<string> } {
  const file = traceFile();
  const result = spawnSync(process.execPath, ["--import", TRACE, CLI, ...args], {
    encoding: "utf8",
    env: { ...process.env, TRACE_MODULES_FILE: file },
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, packages: packagesIn(file) };
}

/**
 * Runs a long-lived command with the module trace until its output says `ready`, stops it with SIGTERM
 * (it must exit 0), and returns the packages it loaded.
 */
async function serveTraced(
  args: readonly string[],
  env: Record<string, string>,
  ready: string,
): Promise<Set<string>> {
  const file = traceFile();
  const child = spawn(process.execPath, ["--import", TRACE, CLI, ...args], {
    env: { ...process.env, ...env, TRACE_MODULES_FILE: file },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  await eventually(`"${ready}" in the output of ${args[0]}`, () => output.includes(ready), 20_000);
  child.kill("SIGTERM");
  expect(await exited).toBe(0);
  return packagesIn(file);
}

describe("what a command loads", () => {
  test("version loads no package at all", () => {
    const { status, stdout, packages } = run(["version"]);
    expect(status).toBe(0);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect([...packages]).toEqual([]);
  });

  test.for(["launcher", "webhook", "certs", "render", "lint", "schema", "diagnose"])(
    "%s --help loads neither the Kubernetes client nor what serves or logs",
    (command) => {
      const { status, stdout, packages } = run([command, "--help"]);
      expect(status).toBe(0);
      expect(stdout).toMatch(new RegExp(`^Usage: agent-stack-k8s ${command}`));
      for (const name of HEAVY) expect(packages.has(name), name).toBe(false);
    },
  );

  test("certs --out-dir makes its files without loading the Kubernetes client", () => {
    const directory = mkdtempSync(join(tmpdir(), "certs-"));
    const { status, packages } = run(["certs", "--out-dir", directory]);
    expect(status).toBe(0);
    expect(readFileSync(join(directory, "tls.crt"), "utf8")).toContain("BEGIN CERTIFICATE");
    expect(packages.has("@kubernetes/client-node")).toBe(false);
  });

  test("webhook --pod-templates none serves without ever loading the Kubernetes client", async () => {
    const certificates = await newCertificates();
    const directory = mkdtempSync(join(tmpdir(), "webhook-"));
    writeFileSync(join(directory, "tls.crt"), certificates.cert);
    writeFileSync(join(directory, "tls.key"), certificates.key);
    const port = await freePort();
    const packages = await serveTraced(
      [
        "webhook",
        ...["--tls-cert-file", join(directory, "tls.crt"), "--tls-key-file", join(directory, "tls.key")],
        ...["--host", "127.0.0.1", "--port", String(port), "--pod-templates", "none"],
      ],
      {},
      "webhook listening",
    );
    expect(packages.has("fastify")).toBe(true);
    expect(packages.has("@kubernetes/client-node")).toBe(false);
  });

  test.for([
    ["stacks", false],
    ["graphql", true],
  ] as const)(
    "launcher, job-source %s: the GraphQL client is loaded only for the GraphQL API",
    async ([source, graphql]) => {
      const fakes = await startFakes();
      try {
        const directory = mkdtempSync(join(tmpdir(), "launcher-"));
        writeFileSync(join(directory, "kubeconfig"), fakes.kubernetes.kubeConfig().exportConfig());
        const config = [
          `job-source: ${source}`,
          `org: ${fakes.buildkite.org}`,
          `graphql-endpoint: ${fakes.buildkite.graphqlUrl}`,
          `namespace: ${NS}`,
          `agent-token-secret: ${AGENT_TOKEN_SECRET}`,
          "agent-config:",
          `  endpoint: ${fakes.buildkite.agentUrl}`,
        ];
        writeFileSync(join(directory, "launcher.yaml"), config.join("\n"));
        const packages = await serveTraced(
          ["launcher", "--config", join(directory, "launcher.yaml"), "--port", "0"],
          { KUBECONFIG: join(directory, "kubeconfig"), BUILDKITE_TOKEN: fakes.buildkite.apiToken },
          "launcher started",
        );
        expect(packages.has("@kubernetes/client-node")).toBe(true);
        expect(packages.has("graphql-request"), "graphql-request").toBe(graphql);
        expect(packages.has("graphql"), "graphql").toBe(graphql);
      } finally {
        await fakes.close();
      }
    },
  );

  test("the Kubernetes client loads without its generated API and model modules", () => {
    // runtime/kube.ts's resolve hook gives KubeConfig's module its two helpers directly. If an
    // upgrade of @kubernetes/client-node changes what that module takes from the generated index,
    // this fails (with the missing export named) instead of the cost coming back silently.
    const file = traceFile();
    const script = [
      `const { KubeConfig } = await import(${JSON.stringify(join(ROOT, "runtime/kube.ts"))});`,
      "const config = new KubeConfig();",
      "config.loadFromClusterAndUser({ name: 'c', server: 'https://127.0.0.1:6443', skipTLSVerify: true }, { name: 'u', token: 't' });",
      "process.stdout.write(config.getCurrentCluster().server);",
    ].join("\n");
    const result = spawnSync(process.execPath, ["--import", TRACE, "--input-type=module", "-e", script], {
      encoding: "utf8",
      env: { ...process.env, TRACE_MODULES_FILE: file },
      timeout: 30_000,
    });
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe("https://127.0.0.1:6443");
    const urls = JSON.parse(readFileSync(file, "utf8")) as string[];
    const client = urls.filter((url) => url.includes("/@kubernetes/client-node/dist/"));
    expect(client.some((url) => url.endsWith("/dist/config.js"))).toBe(true);
    expect(client.filter((url) => /\/dist\/gen\/(models|apis)\/|\/dist\/gen\/index\.js$/.test(url))).toEqual(
      [],
    );
  });
});
