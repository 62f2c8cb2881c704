import { expect, test } from "vitest";
import { loggableConfig, REDACTED } from "../../src/config/loggable.ts";
import { load } from "./helpers.ts";

test("the logged configuration never shows the Buildkite token, and shows durations as Go prints them", () => {
  const { config } = load({ env: { BUILDKITE_TOKEN: "bkua_secret", JOB_TTL: "90s" } });
  const shown = loggableConfig(config);
  expect(shown["buildkite-token"]).toBe(REDACTED);
  expect(JSON.stringify(shown)).not.toContain("bkua_secret");
  expect(shown["job-ttl"]).toBe("1m30s");
  expect(shown["max-in-flight"]).toBe(25);
});

test("an unset token is shown as unset", () => {
  expect(loggableConfig(load().config)["buildkite-token"]).toBe("");
});
