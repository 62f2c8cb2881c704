/**
 * What every subcommand shares with the process around it: its input and output (`CommandIo`, so that
 * tests run a command in process and capture what it prints), input files, log lines written through
 * its stdout, and the termination signals. Only Node's own modules are loaded here: `cli/main.ts` and
 * every command's `--help` load this module.
 */
import { readFileSync } from "node:fs";
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
    stdout: batched(process.stdout),
    stderr: (text) => process.stderr.write(text),
    readInput: (path) => readFileSync(path === "-" ? 0 : path, "utf8"),
    env: process.env,
  };
}

/** Flushed at least this often in bytes; otherwise once per turn of the event loop. */
const BATCH_BYTES = 64 * 1024;

/**
 * Standard output, written once per turn of the event loop with everything printed during it. Writes
 * to files and pipes are synchronous system calls in Node: a busy webhook logs a line per admission,
 * and one write of many lines costs what one line did. What is pending is written as the process exits.
 */
function batched(stream: NodeJS.WriteStream): (text: string) => void {
  let pending = "";
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending === "") return;
    const text = pending;
    pending = "";
    stream.write(text);
  };
  process.on("exit", flush);
  return (text) => {
    pending += text;
    if (pending.length >= BATCH_BYTES) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}

export function readInput(io: CommandIo, path: string, flag: string): string {
  try {
    return io.readInput(path);
  } catch (error) {
    throw new AgentStackError(
      "ASK_INPUT_UNREADABLE",
      `${flag} ${path}: cannot read it: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** Log lines written through a command's own output (its stdout), so an in-process run captures them. */
export function lineStream(write: (text: string) => void): { write(line: string): boolean } {
  return {
    write(line: string) {
      write(line);
      return true;
    },
  };
}

const EXIT_STATUS: Readonly<Record<string, number>> = { SIGINT: 130, SIGTERM: 143 };

/**
 * The first SIGTERM or SIGINT calls `stop` (a graceful shutdown); a second one ends the process at
 * once, with 128 + the signal's number as a shell reports a process the signal killed. Returns what
 * removes the handlers.
 */
export function onTermination(stop: (signal: NodeJS.Signals) => void): () => void {
  const exitNow = (signal: NodeJS.Signals) => process.exit(EXIT_STATUS[signal] ?? 1);
  const first = (signal: NodeJS.Signals) => {
    process.off("SIGTERM", first);
    process.off("SIGINT", first);
    process.once("SIGTERM", exitNow);
    process.once("SIGINT", exitNow);
    stop(signal);
  };
  process.on("SIGTERM", first);
  process.on("SIGINT", first);
  return () => {
    for (const handler of [first, exitNow]) {
      process.off("SIGTERM", handler);
      process.off("SIGINT", handler);
    }
  };
}
