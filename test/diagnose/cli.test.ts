/**
 * `agent-stack-k8s diagnose` as users run it: registered in the CLI, its help without the Kubernetes
 * client loaded, and the README's example as a real process against the fake API server (KUBECONFIG).
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, test } from "vitest";
import { main } from "../../cli/main.ts";
import { filesOfTgz } from "../../scripts/archives.ts";
import { HELM, SKIP_REASON } from "../chart/render.ts";
import { capturedIo } from "../support/command-io.ts";
import { installStack, NS } from "./stack-on-fakes.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const ENTRYPOINT = join(ROOT, "bin/agent-stack-k8s.js");
const run = promisify(execFile);

test("is a subcommand of the CLI, with help for its flags", async () => {
  const usage = capturedIo();
  expect(await main(["--help"], usage.io)).toBe(0);
  expect(usage.stdout()).toMatch(/\n {2}diagnose +collect what support asks for/);
  const help = capturedIo();
  expect(await main(["diagnose", "--help"], help.io)).toBe(0);
  for (const flag of ["--release NAME", "--job UUID", "--since DURATION", "--out FILE", "--namespace NS"]) {
    expect(help.stdout()).toContain(flag);
  }
});

/** Which modules a CLI run loads: Node's own module hooks, in a fresh process. */
async function loadsKubernetesClient(args: readonly string[]): Promise<boolean> {
  const script = `
    import { registerHooks } from "node:module";
    const loaded = [];
    registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
    const { main } = await import(${JSON.stringify(join(ROOT, "cli/main.ts"))});
    const io = { stdout() {}, stderr() {}, readInput() { throw new Error("no input"); }, env: {} };
    await main(${JSON.stringify(args)}, io).catch(() => {});
    process.stdout.write(JSON.stringify(loaded.some((url) => url.includes("@kubernetes/client-node"))));
  `;
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT });
  return JSON.parse(stdout) as boolean;
}

test("loads the Kubernetes client only when it runs, not for --help", async () => {
  expect(await loadsKubernetesClient(["diagnose", "--help"])).toBe(false);
  expect(await loadsKubernetesClient(["diagnose", "--job", "bad"])).toBe(false);
  expect(await loadsKubernetesClient(["diagnose", "--out", "/nonexistent/dir/x.tar.gz"])).toBe(true);
});

test.skipIf(HELM === undefined)(`runs as the README shows it, with KUBECONFIG${SKIP_REASON}`, async () => {
  const stack = await installStack();
  const work = mkdtempSync(join(tmpdir(), "diagnose-cli-"));
  try {
    const kubeconfig = join(work, "kubeconfig");
    writeFileSync(kubeconfig, stack.kubernetes.kubeConfig().exportConfig());
    const out = join(work, "support.tar.gz");
    const { stdout } = await run(
      process.execPath,
      [ENTRYPOINT, "diagnose", "--namespace", NS, "--since", "1h", "--out", out],
      { env: { ...process.env, KUBECONFIG: kubeconfig, HOME: work }, cwd: work },
    );
    expect(stdout).toMatch(/^agent-stack-k8s diagnose /);
    expect(stdout).toMatch(/\n✓ permissions +21 of 21 granted\n/);
    expect(stdout).toContain(`\nWrote ${out} (`);
    expect(existsSync(out)).toBe(true);
    expect([...filesOfTgz(readFileSync(out)).keys()]).toContain("support/summary.txt");
  } finally {
    rmSync(work, { recursive: true, force: true });
    await stack.close();
  }
});
