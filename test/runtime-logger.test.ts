import { PassThrough } from "node:stream";
import { describe, expect, test } from "vitest";
import { loggableValue, MAX_FIELD } from "../runtime/log-values.ts";
import { createLogger, toLogfmt } from "../runtime/logger.ts";

function capture(format: "json" | "logfmt") {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => {
    text += chunk.toString("utf8");
  });
  const logger = createLogger({
    name: "test",
    config: { logLevel: "info", logFormat: format },
    destination: stream,
  });
  return { logger, text: () => text };
}

test("json lines carry the level as a word, the name and the fields", async () => {
  const { logger, text } = capture("json");
  logger.info({ jobUuid: "abc" }, "expanded");
  logger.debug("not at info");
  await new Promise((resolve) => setImmediate(resolve));
  const [line, ...rest] = text().trim().split("\n");
  expect(rest).toEqual([]);
  expect(JSON.parse(line!)).toMatchObject({ level: "info", name: "test", msg: "expanded", jobUuid: "abc" });
});

test("logfmt quotes what needs quoting", () => {
  expect(
    toLogfmt(
      JSON.stringify({
        time: "t",
        level: "warn",
        name: "w",
        msg: "config reloaded",
        path: "/etc/config.yaml",
        n: 2,
      }),
    ),
  ).toBe('time=t level=warn name=w msg="config reloaded" path=/etc/config.yaml n=2');
});

test("tokens and keys are redacted even if passed by mistake", async () => {
  const { logger, text } = capture("json");
  logger.info({ token: "bkua_secret", tls: { key: "-----BEGIN PRIVATE KEY-----" } }, "oops");
  await new Promise((resolve) => setImmediate(resolve));
  expect(text()).not.toContain("bkua_secret");
  expect(text()).not.toContain("BEGIN PRIVATE KEY");
});

describe("every value is escaped and bounded, in both formats", () => {
  const hostile = {
    uid: `abc\u001b[31mred\u0007\u009b2J\u202eevil`,
    job: "x".repeat(100_000),
    operation: "CREATE\r\nlevel=error msg=forged",
  };

  test.each(["json", "logfmt"] as const)(
    "%s: no raw control character, no line over a few KB",
    async (format) => {
      const { logger, text } = capture(format);
      logger.warn(hostile, `admission of ${"y".repeat(50_000)}\u001b]0;title\u0007`);
      logger.error({ err: new Error(`boom ${"z".repeat(20_000)}\u001b[2J`) }, "failed");
      await new Promise((resolve) => setImmediate(resolve));
      const lines = text().trimEnd().split("\n");
      expect(lines).toHaveLength(2);
      for (const line of lines) {
        // biome-ignore lint/suspicious/noControlCharactersInRegex: what the test looks for.
        expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202e]/);
        expect(line.length).toBeLessThan(12_000);
      }
      expect(text()).toContain("more characters]");
      expect(text()).toContain("\\\\u009b");
      if (format === "logfmt") expect(lines[0]).toMatch(/ operation="CREATE\\r\\nlevel=error msg=forged"/);
      else expect(JSON.parse(lines[0] as string).operation).toBe(hostile.operation);
    },
  );

  test("a large object is cut, not dropped", () => {
    const value = loggableValue({ list: Array.from({ length: 10_000 }, (_, i) => `item-${i}`) }) as {
      list: string[];
    };
    expect(value.list.length).toBeLessThan(2_000);
    expect(value.list.at(-1)).toMatch(/more items\]$/);
    expect(JSON.stringify(value).length).toBeLessThan(2 * MAX_FIELD);
  });
});
