import { PassThrough } from "node:stream";
import { expect, test } from "vitest";
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
