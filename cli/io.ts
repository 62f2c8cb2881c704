/** The process-facing side of the commands: reading input files and writing documents. */
import { readFileSync } from "node:fs";
import { stringify } from "yaml";
import { AgentStackError } from "../src/errors.ts";

export interface CommandIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Reads a file, or standard input for `-`. */
  readonly readInput: (path: string) => string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export function processIo(): CommandIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    readInput: (path) => readFileSync(path === "-" ? 0 : path, "utf8"),
    env: process.env,
  };
}

export function readInput(io: CommandIo, path: string, flag: string): string {
  try {
    return io.readInput(path);
  } catch (error) {
    throw new AgentStackError(
      "ASK_INPUT_UNREADABLE",
      `${flag} ${path}: cannot read it: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

export type OutputFormat = "yaml" | "json";

/**
 * YAML documents separated by `---`, or JSON: one object, or a `List` of several. Keys are sorted, as
 * kubectl prints YAML, so the output never depends on the order anything was written in.
 */
export function formatObjects(unsorted: readonly unknown[], format: OutputFormat): string {
  const objects = unsorted.map(sortKeys);
  if (format === "json") {
    const value = objects.length === 1 ? objects[0] : { apiVersion: "v1", kind: "List", items: objects };
    return `${JSON.stringify(value, null, 2)}\n`;
  }
  return objects
    .map((object) => stringify(object, { lineWidth: 0, aliasDuplicateObjects: false }))
    .join("---\n");
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== "object" || value === null) return value;
  const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries.map(([key, item]) => [key, sortKeys(item)]));
}
