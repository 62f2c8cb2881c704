/**
 * Thousands of random and malformed bodies from a seeded PRNG against the real server: every answer is a
 * 200 or a 4xx, no promise rejection goes unhandled, the log carries none of the env and plugin values
 * planted in the jobs and no line of unbounded length, and the server still expands a valid review at
 * the end. `WEBHOOK_FUZZ_SEED=… WEBHOOK_FUZZ_CASES=…` vary it; a failure prints the seed and the case.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { MAX_FIELD } from "../../runtime/log-values.ts";
import { baseReview, type Case, config, generate, PLANTED_SECRETS, prng } from "./fuzz-cases.ts";
import { startTestServer, type TestServer } from "./harness.ts";

const SEED = Number(process.env.WEBHOOK_FUZZ_SEED ?? 20_261_123);
const CASES = Number(process.env.WEBHOOK_FUZZ_CASES ?? 4_000);
const CONCURRENCY = 8;
/** Thousands of TLS requests: well over the default 30 s when other work shares the machine's two cores. */
const TIMEOUT_MS = 180_000;

let webhook: TestServer;
let unhandled = 0;
const onUnhandled = () => {
  unhandled += 1;
};

beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled);
  webhook = await startTestServer({ config });
});
afterAll(async () => {
  process.off("unhandledRejection", onUnhandled);
  await webhook.close();
});

test(
  `${CASES} random and malformed bodies get only 200 or 4xx answers (seed ${SEED})`,
  async () => {
    const random = prng(SEED);
    const cases = Array.from({ length: CASES }, () => generate(random));
    const statuses = new Map<string, number>();
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const index = next++;
        const item = cases[index] as Case;
        const answer = await webhook.client.post("/mutate", item.body, item.headers);
        const key = `${item.kind} → ${answer.status}`;
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        if (answer.status >= 500 || answer.status < 200 || (answer.status >= 300 && answer.status < 400)) {
          failures.push(
            `case ${index} (${item.kind}: ${item.note}): ${answer.status} ${answer.body.slice(0, 300)}`,
          );
        } else if (answer.status >= 400 && typeof answer.json().message !== "string") {
          failures.push(`case ${index} (${item.kind}): ${answer.status} without a message`);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    expect(failures, `seed ${SEED}:\n${failures.slice(0, 10).join("\n")}`).toEqual([]);
    // Every kind of case was tried, and most malformed ones were refused rather than expanded.
    const kinds = new Set([...statuses.keys()].map((key) => key.split(" → ")[0]));
    expect(kinds.size).toBe(10);
    await new Promise((resolve) => setImmediate(resolve));
    expect(unhandled).toBe(0);

    // The log: one line per request, none carrying a planted env or plugin value, none unbounded.
    const lines = webhook.logs.text().trimEnd().split("\n");
    expect(lines.length).toBeGreaterThanOrEqual(CASES);
    for (const secret of PLANTED_SECRETS) {
      expect(lines.filter((line) => line.includes(secret)).slice(0, 3), secret).toEqual([]);
    }
    const longest = Math.max(...lines.map((line) => line.length));
    expect(longest).toBeLessThan(2 * MAX_FIELD);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: what must never be written raw.
    expect(lines.filter((line) => /[\u0000-\u001f\u007f-\u009f]/.test(line)).slice(0, 3)).toEqual([]);

    const valid = await webhook.client.postJson("/mutate", baseReview);
    expect(valid.status).toBe(200);
    expect(valid.json()).toMatchObject({
      response: { uid: "fuzz-uid", allowed: true, patchType: "JSONPatch" },
    });
  },
  TIMEOUT_MS,
);
