/**
 * Runs `kubectl patch --local --type strategic` on a Pod, the reference the strategic merge patch is
 * checked against. kubectl works offline with --local; where it is missing the callers skip.
 */
import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

export const POD_SPEC = "io.k8s.api.core.v1.PodSpec";
export const OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/** The kubectl binary, or undefined when it is not on PATH. */
export const KUBECTL = findOnPath("kubectl");

/** The title suffix that says why a kubectl-backed test is skipped. */
export const SKIP_REASON = KUBECTL === undefined ? " (skipped: kubectl is not on PATH)" : "";

export type KubectlResult =
  | { readonly ok: true; readonly pod: Record<string, unknown> }
  | { readonly ok: false; readonly error: string };

/** A scratch directory for pod files; `close` removes it. */
export async function kubectlWorkspace(): Promise<{ dir: string; close: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "smp-kubectl-"));
  return { dir, close: () => rm(dir, { recursive: true, force: true }) };
}

export function podOf(spec: unknown, metadata: unknown = { name: "p" }): Record<string, unknown> {
  return { apiVersion: "v1", kind: "Pod", metadata, spec };
}

let fileCounter = 0;

export async function kubectlPatch(dir: string, pod: unknown, patch: unknown): Promise<KubectlResult> {
  if (KUBECTL === undefined) throw new Error("kubectl is not on PATH");
  const file = join(dir, `pod-${process.pid}-${fileCounter++}.json`);
  await writeFile(file, JSON.stringify(pod));
  const args = [
    "patch",
    "--local",
    "-f",
    file,
    "--type",
    "strategic",
    "-p",
    JSON.stringify(patch),
    "-o",
    "json",
  ];
  try {
    return await new Promise<KubectlResult>((resolve) => {
      execFile(KUBECTL, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (error) resolve({ ok: false, error: firstLine(stderr) || error.message });
        else resolve({ ok: true, pod: JSON.parse(stdout) as Record<string, unknown> });
      });
    });
  } finally {
    await rm(file, { force: true });
  }
}

function firstLine(text: string): string {
  return text.split("\n").find((line) => line.trim() !== "") ?? "";
}

/** Runs `task` over `items` with at most `limit` at a time, keeping the results in order. */
export async function inPool<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
) {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
