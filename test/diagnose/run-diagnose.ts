/** Runs `diagnose` in this process against a fake API server and reads its archive back. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import type { KubeConfig } from "@kubernetes/client-node";
import type { CallLimits } from "../../diagnose/cluster.ts";
import { diagnoseCommand } from "../../diagnose/command.ts";
import { filesOfTgz } from "../../scripts/archives.ts";
import { type AgentStackError, isAgentStackError } from "../../src/errors.ts";
import { capturedIo } from "../support/command-io.ts";

/** Short timeouts and quick retries: tests wait for nothing real. */
export const TEST_LIMITS: CallLimits = {
  timeoutMs: 2_000,
  logTimeoutMs: 2_000,
  retry: { attempts: 2, initialDelayMs: 10, maxDelayMs: 50 },
};

export interface DiagnoseResult {
  /** What the command returned; undefined when it threw `error`. */
  readonly status: number | undefined;
  readonly error: AgentStackError | undefined;
  readonly stdout: string;
  /** The archive's files, by path under its root directory; empty when none was written. */
  readonly files: Map<string, string>;
  /** The archive gunzipped, every byte: to search for what must not be there. */
  readonly tar: Buffer;
  readonly tgz: Buffer;
  /** What is left in the output directory besides the archive (a `.partial`…). */
  readonly leftovers: readonly string[];
}

export async function runDiagnose(
  kubeConfig: KubeConfig,
  args: readonly string[],
  options: { limits?: CallLimits; out?: (directory: string) => string } = {},
): Promise<DiagnoseResult> {
  const work = mkdtempSync(join(tmpdir(), "diagnose-"));
  const out = options.out?.(work) ?? join(work, "support.tar.gz");
  const captured = capturedIo();
  try {
    let status: number | undefined;
    let error: AgentStackError | undefined;
    try {
      status = await diagnoseCommand([...args, "--out", out], captured.io, {
        kubeConfig,
        limits: options.limits ?? TEST_LIMITS,
      });
    } catch (caught) {
      if (!isAgentStackError(caught)) throw caught;
      error = caught;
    }
    const tgz = existsSync(out) ? readFileSync(out) : Buffer.alloc(0);
    const files = new Map(
      tgz.length === 0
        ? []
        : [...filesOfTgz(tgz)].map(([path, content]) => [
            path.slice("support/".length),
            content.toString("utf8"),
          ]),
    );
    const leftovers = readdirSync(work).filter((name) => join(work, name) !== out);
    return {
      status,
      error,
      stdout: captured.stdout() + captured.stderr(),
      files,
      tar: tgz.length === 0 ? tgz : gunzipSync(tgz),
      tgz,
      leftovers,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The summary line of a part: `✓ stack …`. */
export function lineOf(stdout: string, part: string): string {
  const line = stdout.split("\n").find((candidate) => candidate.slice(2).startsWith(`${part} `));
  if (line === undefined) throw new Error(`no line for ${part} in:\n${stdout}`);
  return line;
}

/** The mark of each part, in order: `{ stack: "✓", … }`. */
export function marksOf(stdout: string, parts: readonly string[]): Record<string, string> {
  return Object.fromEntries(parts.map((part) => [part, lineOf(stdout, part).slice(0, 1)]));
}
