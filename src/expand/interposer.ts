/**
 * Interposers turn a container's `command` and `args` into the one `BUILDKITE_COMMAND` string the
 * agent runs in that container (podspec-expansion.md §3).
 */
import type { Interposer } from "../params/types.ts";
import { quoteJoin } from "./shell-quote.ts";

export function interpose(
  interposer: Interposer,
  command: readonly string[],
  args: readonly string[],
): string {
  switch (interposer) {
    case "":
    case "buildkite":
      return buildkiteCommand(command, args);
    case "vector":
      return quoteJoin([...command, ...args]);
    case "legacy":
      return [...command, ...args].join(" ");
    default:
      return unknownInterposer(interposer);
  }
}

/** Decoding refuses unknown interposers; one that slips through must fail loudly, not run `undefined`. */
function unknownInterposer(interposer: never): never {
  throw new Error(`invalid interposer ${JSON.stringify(interposer)}`);
}

/**
 * Each `command` item is a line of script, so items are joined with newlines and left unquoted;
 * `args` are words appended to the last line. With no command the result starts with the space
 * (upstream does the same, and the shell ignores it).
 */
function buildkiteCommand(command: readonly string[], args: readonly string[]): string {
  const script = command.join("\n");
  return args.length === 0 ? script : `${script} ${quoteJoin(args)}`;
}
