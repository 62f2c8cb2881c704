import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterEach, beforeEach, expect, test } from "vitest";
import { openArchive } from "../../diagnose/archive.ts";
import { filesOfTgz } from "../../scripts/archives.ts";
import { isAgentStackError } from "../../src/errors.ts";

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), "archive-"));
});
afterEach(() => {
  rmSync(work, { recursive: true, force: true });
});

const LONG_POD = `buildkite-0195a2b0-1111-4000-8000-00000000000a-${"x".repeat(8)}`;
const LONG_PATH = `jobs/logs/${LONG_POD}/${"a-sidecar-with-a-long-name-".repeat(2)}container.previous.log`;

test("writes a gzipped ustar archive under one directory, long paths and binary content included", async () => {
  const path = join(work, "out.tar.gz");
  const mtime = new Date("2025-06-01T12:00:00Z");
  const archive = await openArchive(path, "support-2025", mtime);
  const binary = Buffer.from([0, 1, 2, 255, 254, 0]);
  await archive.add("summary.txt", "✓ stack\n");
  await archive.add(LONG_PATH, "line\n".repeat(1000));
  await archive.add("empty.txt", "");
  await archive.add("binary.bin", binary);
  const bytes = await archive.close();
  expect(bytes).toBe(readFileSync(path).length);
  expect(readdirSync(work)).toEqual(["out.tar.gz"]);
  expect(archive.entries.map((entry) => [entry.path, entry.bytes])).toEqual([
    ["summary.txt", Buffer.byteLength("✓ stack\n")],
    [LONG_PATH, 5000],
    ["empty.txt", 0],
    ["binary.bin", 6],
  ]);
  const files = filesOfTgz(readFileSync(path));
  expect([...files.keys()]).toEqual(archive.entries.map((entry) => `support-2025/${entry.path}`));
  expect(files.get("support-2025/summary.txt")?.toString("utf8")).toBe("✓ stack\n");
  expect(files.get(`support-2025/${LONG_PATH}`)?.length).toBe(5000);
  expect(files.get("support-2025/binary.bin")).toEqual(binary);
  // Every header's checksum is right: tar reads it, names and times as written.
  const tar = gunzipSync(readFileSync(path));
  const header = tar.subarray(0, 512);
  const stored = Number.parseInt(header.subarray(148, 154).toString("ascii"), 8);
  const computed = [...header].reduce(
    (sum, byte, index) => sum + (index >= 148 && index < 156 ? 32 : byte),
    0,
  );
  expect(stored).toBe(computed);
  if (spawnSync("tar", ["--version"]).status === 0) {
    const listed = spawnSync("tar", ["-tvzf", path], { encoding: "utf8" });
    expect(listed.stderr).toBe("");
    expect(listed.stdout).toContain(`support-2025/${LONG_PATH}`);
    expect(listed.stdout).toContain("2025-06-01");
  }
});

test("an archive that is abandoned leaves nothing behind, and one that cannot be created fails at once", async () => {
  const path = join(work, "out.tar.gz");
  const archive = await openArchive(path, "root", new Date());
  await archive.add("a.txt", "a");
  archive.abandon();
  expect(existsSync(path)).toBe(false);
  expect(readdirSync(work)).toEqual([]);
  const failure = await openArchive(join(work, "missing", "out.tar.gz"), "root", new Date()).catch(
    (error) => error,
  );
  expect(isAgentStackError(failure, "ASK_DIAGNOSE_OUTPUT")).toBe(true);
  expect((failure as Error).message).toMatch(/^--out .*missing\/out\.tar\.gz: cannot write it: ENOENT/);
});
