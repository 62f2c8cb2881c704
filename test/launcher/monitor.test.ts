/** The poll loop: filtering, intervals with jitter, back-off, one log line per distinct error. */
import { PassThrough } from "node:stream";
import { Registry } from "prom-client";
import { expect, test } from "vitest";
import { createLauncherMetrics } from "../../launcher/metrics.ts";
import { runMonitor } from "../../launcher/monitor.ts";
import type { ScheduledJob, SchedulerClock } from "../../launcher/scheduler.ts";
import { controllerTags, matchesTags } from "../../launcher/tag-filter.ts";
import type { JobSource } from "../../launcher/types.ts";
import { createLogger } from "../../runtime/logger.ts";
import type { BuildkiteJob } from "../../src/buildkite/job.ts";
import { testJob } from "../support/fixtures.ts";

function recordingClock(): SchedulerClock & { sleeps: number[] } {
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => 0,
    wallNow: () => 0,
    random: () => 0.5,
    sleep: async (ms, signal) => {
      sleeps.push(Math.round(ms));
      await new Promise((resolve) => setImmediate(resolve));
      if (signal.aborted) throw signal.reason;
    },
  };
}

function run(polls: Array<BuildkiteJob[] | Error>, options: { fatal?: (error: unknown) => boolean } = {}) {
  const offered: ScheduledJob[][] = [];
  const clock = recordingClock();
  const controller = new AbortController();
  let calls = 0;
  const source: JobSource = {
    async scheduledJobs() {
      const next = polls[calls++];
      if (next === undefined) {
        controller.abort(new Error("done"));
        return [];
      }
      if (next instanceof Error) throw next;
      return next;
    },
    jobState: async () => undefined,
    cancelJob: async () => undefined,
  };
  const stream = new PassThrough();
  let logs = "";
  stream.on("data", (chunk: Buffer) => {
    logs += chunk.toString();
  });
  const promise = runMonitor(
    {
      source,
      offer: (jobs) => offered.push([...jobs]),
      tags: controllerTags({ tags: ["queue=kubernetes", "os=linux"], queue: "" }),
      intervalMs: 1_000,
      isFatal: options.fatal ?? (() => false),
      logger: createLogger({
        name: "monitor",
        config: { logLevel: "info", logFormat: "json" },
        destination: stream,
      }),
      metrics: createLauncherMetrics(new Registry(), () => 0, 0),
      clock,
    },
    controller.signal,
  );
  return { promise, offered, clock, logs: () => logs };
}

test("offers the jobs whose every rule is a tag of this launcher", async () => {
  const mine = testJob({
    uuid: "0000000a-0000-4000-8000-000000000000",
    agentQueryRules: ["queue=kubernetes", "os=linux"],
  });
  const anyOs = testJob({
    uuid: "0000000b-0000-4000-8000-000000000000",
    agentQueryRules: ["queue=kubernetes", "os=*"],
  });
  const windows = testJob({
    uuid: "0000000c-0000-4000-8000-000000000000",
    agentQueryRules: ["queue=kubernetes", "os=windows"],
  });
  const { promise, offered } = run([[mine, anyOs, windows]]);
  await promise;
  expect(offered[0]?.map((entry) => entry.job.uuid)).toEqual([mine.uuid, anyOs.uuid]);
});

test("polls every interval with ±10 % jitter", async () => {
  const { promise, clock } = run([[], [], []]);
  await promise;
  expect(clock.sleeps.slice(0, 3)).toEqual([1_000, 1_000, 1_000]);
});

test("failures back off exponentially and are logged once per distinct error", async () => {
  const down = new Error("returned error 502: Bad Gateway");
  const { promise, clock, logs } = run([down, down, down, new Error("timeout"), []]);
  await promise;
  expect(clock.sleeps.slice(0, 5)).toEqual([2_000, 4_000, 8_000, 16_000, 1_000]);
  const lines = logs()
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as { msg: string; err?: string });
  expect(lines.filter((line) => line.err === down.message).length).toBe(1);
  expect(lines.filter((line) => line.err === "timeout").length).toBe(1);
  expect(lines.some((line) => line.msg === "polling Buildkite for scheduled jobs recovered")).toBe(true);
});

test("a fatal error ends the loop", async () => {
  const invalid = new Error('invalid organization: "nope"');
  const { promise } = run([invalid], { fatal: (error) => error === invalid });
  await expect(promise).rejects.toBe(invalid);
});

test.each([
  [["queue=kubernetes"], true],
  [["queue=kubernetes", "resource_class=large"], true],
  [["queue=other"], false],
  [["queue=kubernetes", "gpu=true"], false],
  [["queue"], false],
])("rules %j match the tags queue=kubernetes: %s", (rules, expected) => {
  expect(matchesTags(rules, controllerTags({ tags: ["queue=kubernetes"], queue: "" }))).toBe(expected);
});

test("the queue key replaces the queue tag", () => {
  expect([...controllerTags({ tags: ["queue=a", "os=linux"], queue: "b" })]).toEqual([
    ["queue", "b"],
    ["os", "linux"],
  ]);
});

test("jobs a source hands on early are offered at once; the poll's whole list replaces them", async () => {
  const first = testJob({
    uuid: "0000000c-0000-4000-8000-000000000000",
    agentQueryRules: ["queue=kubernetes"],
  });
  const second = testJob({
    uuid: "0000000d-0000-4000-8000-000000000000",
    agentQueryRules: ["queue=kubernetes"],
  });
  const other = testJob({ uuid: "0000000e-0000-4000-8000-000000000000", agentQueryRules: ["queue=other"] });
  const offered: string[][] = [];
  const controller = new AbortController();
  const source: JobSource = {
    async scheduledJobs(_signal, early) {
      early?.([first, other]);
      controller.abort(new Error("done"));
      return [first, second, other];
    },
    jobState: async () => undefined,
  };
  await runMonitor(
    {
      source,
      offer: (jobs) => offered.push(jobs.map((entry) => entry.job.uuid)),
      tags: controllerTags({ tags: ["queue=kubernetes"], queue: "" }),
      intervalMs: 1_000,
      isFatal: () => false,
      logger: createLogger({ name: "monitor", config: { logLevel: "info", logFormat: "json" } }),
      metrics: createLauncherMetrics(new Registry(), () => 0, 0),
      clock: recordingClock(),
    },
    controller.signal,
  );
  expect(offered).toEqual([[first.uuid], [first.uuid, second.uuid]]);
});
