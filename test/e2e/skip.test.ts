/**
 * Where the kind e2e test cannot run, `npm test`'s default output says why on one line, and collecting
 * the skipped file leaves nothing behind (its temporary directory is made only when it runs).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";

const ROOT = new URL("../..", import.meta.url).pathname;
const VITEST = join(ROOT, "node_modules/vitest/vitest.mjs");

test("a skipped kind e2e run says why in the default reporter's output, and leaves no temporary directory", () => {
  const temporary = mkdtempSync(join(tmpdir(), "e2e-skip-"));
  try {
    const run = spawnSync(process.execPath, [VITEST, "run", "test/e2e/kind.test.ts"], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 60_000,
      env: { ...process.env, AGENT_STACK_K8S_E2E: "0", TMPDIR: temporary, CI: "1" },
    });
    const output = `${run.stdout}${run.stderr}`;
    expect(run.status, output).toBe(0);
    expect(output).toContain("test/e2e/kind.test.ts skipped: AGENT_STACK_K8S_E2E=0");
    expect(readdirSync(temporary).filter((name) => name.startsWith("ask-e2e-"))).toEqual([]);
  } finally {
    rmSync(temporary, { recursive: true, force: true });
  }
});
