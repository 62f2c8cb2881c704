/**
 * The long-running commands set their own V8 heap flags (bin/heap-flags.js): the memory they are
 * measured at must not depend on the chart passing NODE_OPTIONS. A flag given by the user wins over
 * the same flag, and the others are still set.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";

const CLI = new URL("../../bin/agent-stack-k8s.js", import.meta.url).pathname;
const { HEAP_FLAGS } = (await import(new URL("../../bin/heap-flags.js", import.meta.url).href)) as {
  HEAP_FLAGS: Record<"launcher" | "webhook" | "certs", string[]>;
};
/** Writes the V8 flags of the process that ends (after the re-exec, the one that runs the command). */
const RECORD = `data:text/javascript,${encodeURIComponent(
  'import { writeFileSync } from "node:fs"; process.on("exit", () => writeFileSync(process.env.EXEC_ARGV_FILE, JSON.stringify(process.execArgv)));',
)}`;

function flagsOf(args: readonly string[], nodeOptions = ""): string[] {
  const directory = mkdtempSync(join(tmpdir(), "heap-flags-"));
  const file = join(directory, "exec-argv.json");
  const result = spawnSync(process.execPath, ["--import", RECORD, CLI, ...args], {
    encoding: "utf8",
    env: { ...process.env, EXEC_ARGV_FILE: file, NODE_OPTIONS: nodeOptions },
    timeout: 30_000,
  });
  expect(result.status, result.stderr).toBe(0);
  const execArgv = JSON.parse(readFileSync(file, "utf8")) as string[];
  return execArgv.filter((arg) => arg.startsWith("--max-semi-space-size") || arg.startsWith("--heap-"));
}

describe("heap flags", () => {
  test("a long-running command sets its own", () => {
    const out = mkdtempSync(join(tmpdir(), "certs-"));
    expect(flagsOf(["certs", "--out-dir", out])).toEqual(HEAP_FLAGS.certs);
  });

  test("one given in NODE_OPTIONS wins over the same flag, the others are still set", () => {
    const out = mkdtempSync(join(tmpdir(), "certs-"));
    const rest = HEAP_FLAGS.certs.filter((flag) => !flag.startsWith("--max-semi-space-size="));
    expect(flagsOf(["certs", "--out-dir", out], "--max-semi-space-size=4")).toEqual(rest);
  });

  test("the other commands, and --help, run with V8's defaults", () => {
    expect(flagsOf(["version"])).toEqual([]);
    expect(flagsOf(["webhook", "--help"])).toEqual([]);
  });
});
