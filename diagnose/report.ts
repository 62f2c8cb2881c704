/**
 * How a run reads: a line per part (a mark, its name, what it found or why it could not), details
 * indented under it; the same text as `summary.txt`, and a `manifest.json` for tools.
 */
import type { ArchiveEntry } from "./archive.ts";
import type { PartOutcome, PartStatus } from "./part.ts";

export interface PartResult extends PartOutcome {
  readonly name: string;
  /** The archive's files the part wrote. */
  readonly files: readonly string[];
}

const MARKS: Readonly<Record<PartStatus, string>> = {
  ok: "✓",
  problem: "✗",
  partial: "?",
  "not-collected": "?",
  skipped: "-",
};

const PREFIXES: Readonly<Record<PartStatus, string>> = {
  ok: "",
  problem: "",
  partial: "partly collected: ",
  "not-collected": "not collected: ",
  skipped: "skipped: ",
};

const NAME_WIDTH = 22;

export function partText(name: string, outcome: PartOutcome): string {
  const head = `${MARKS[outcome.status]} ${name.padEnd(NAME_WIDTH)} ${PREFIXES[outcome.status]}${outcome.summary}`;
  return [head, ...(outcome.details ?? []).map((line) => `    ${line}`)].map((line) => `${line}\n`).join("");
}

export const LEGEND =
  "✓ collected, nothing wrong seen · ✗ collected, shows a problem · ? not (all) collected · - skipped";

export interface RunDescription {
  readonly version: string;
  readonly createdAt: Date;
  readonly cluster: string;
  readonly namespace: string;
  readonly release: string | undefined;
  readonly jobs: readonly string[];
  readonly since: string | undefined;
}

export function headerText(run: RunDescription): string {
  return [
    `agent-stack-k8s diagnose ${run.version}, ${run.createdAt.toISOString()}`,
    `cluster ${run.cluster}, namespace ${run.namespace}${run.release === undefined ? "" : `, release ${run.release}`}${run.jobs.length > 0 ? `, jobs ${run.jobs.join(" ")}` : ""}${run.since === undefined ? "" : `, logs since ${run.since}`}`,
    LEGEND,
    "",
  ]
    .map((line) => `${line}\n`)
    .join("");
}

export function manifestText(
  run: RunDescription,
  results: readonly PartResult[],
  entries: readonly ArchiveEntry[],
): string {
  const manifest = {
    tool: "agent-stack-k8s diagnose",
    ...run,
    createdAt: run.createdAt.toISOString(),
    parts: results.map((result) => ({
      name: result.name,
      status: result.status,
      summary: result.summary,
      details: result.details ?? [],
      files: result.files,
    })),
    files: entries,
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** Whether the run found anything at all. */
export function collectedAnything(results: readonly PartResult[]): boolean {
  return results.some((result) => result.status !== "not-collected" && result.status !== "skipped");
}
