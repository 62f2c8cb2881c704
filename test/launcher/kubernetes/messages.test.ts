import { describe, expect, test } from "vitest";
import { eventsTable } from "../../../launcher/kubernetes/events-text.ts";
import { goDurationSeconds, humanDuration } from "../../../launcher/kubernetes/human-duration.ts";
import { jobSnapshot, podCount } from "../../../launcher/kubernetes/job-snapshot.ts";
import { podSnapshot } from "../../../launcher/kubernetes/pod-snapshot.ts";
import { roundedTable } from "../../../launcher/kubernetes/text-table.ts";

const S = 1_000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe("human durations, as Kubernetes' HumanDuration writes them", () => {
  test.each([
    [-2 * S, "<invalid>"],
    [-500, "0s"],
    [0, "0s"],
    [119 * S, "119s"],
    [2 * M, "2m"],
    [3 * M + 20 * S, "3m20s"],
    [10 * M + 59 * S, "10m"],
    [179 * M, "179m"],
    [3 * H, "3h"],
    [7 * H + 59 * M, "7h59m"],
    [8 * H, "8h"],
    [47 * H, "47h"],
    [2 * D, "2d"],
    [7 * D + 23 * H, "7d23h"],
    [8 * D, "8d"],
    [729 * D, "729d"],
    [3 * 365 * D + 5 * D, "3y5d"],
    [8 * 365 * D, "8y"],
  ])("%d ms is %s", (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });

  test("Go durations rounded to the second, as HEAD's pending-timeout message prints them", () => {
    expect(goDurationSeconds(0)).toBe("0s");
    expect(goDurationSeconds(45_400)).toBe("45s");
    expect(goDurationSeconds(15 * M)).toBe("15m0s");
    expect(goDurationSeconds(H + 2 * M + 3_600)).toBe("1h2m4s");
  });
});

describe("tables in failure messages", () => {
  test("are drawn with rounded borders, one line per cell, long cells wrapped", () => {
    const table = roundedTable(["A", "B"], [["x\ny", "a b c d e f g h i j k l"]], { maxCellWidth: 10 });
    expect(table.split("\n")).toEqual([
      "╭─────┬───────────╮",
      "│ A   │ B         │",
      "├─────┼───────────┤",
      "│ x y │ a b c d e │",
      "│     │ f g h i j │",
      "│     │ k l       │",
      "╰─────┴───────────╯",
    ]);
  });

  test("events: none when there are none; series and counts say how often", () => {
    expect(eventsTable([])).toBe("Events: none");
    const table = eventsTable([
      {
        type: "Warning",
        reason: "FailedCreate",
        message: "quota",
        eventTime: "2025-01-01T00:00:00.000000Z",
        series: { count: 5, lastObservedTime: "2025-01-01T00:03:20.000000Z" },
      },
      {
        type: "Normal",
        reason: "SuccessfulCreate",
        message: "Created pod: p",
        firstTimestamp: new Date("2024-12-31T23:59:00Z"),
        lastTimestamp: new Date("2024-12-31T23:59:00Z"),
        count: 1,
      },
      {
        type: "Warning",
        reason: "BackoffLimitExceeded",
        message: "m",
        lastTimestamp: "2025-01-01T00:05:00Z",
        count: 3,
      },
    ]);
    const rows = table.split("\n").slice(3, -1);
    expect(rows[0]).toMatch(/^│ 2024-12-31T23:59:00Z │ - +│ Normal +│ SuccessfulCreate/);
    expect(rows[1]).toMatch(/^│ 2025-01-01T00:03:20Z │ x5 over 3m20s │ Warning │ FailedCreate/);
    expect(rows[2]).toMatch(/^│ 2025-01-01T00:05:00Z │ x3 +│ Warning │ BackoffLimitExceeded/);
  });
});

describe("snapshots kept in the informer caches", () => {
  test("read a Job from a watch (strings) and from a list (Dates) alike, and count its pods as HEAD does", () => {
    const plain = {
      metadata: {
        name: "j",
        uid: "u",
        resourceVersion: "7",
        labels: { "buildkite.com/job-uuid": "abc", "tag.buildkite.com/queue": "q" },
      },
      spec: { activeDeadlineSeconds: 60, suspend: true },
      status: {
        startTime: "2025-01-01T00:00:00Z",
        active: 1,
        terminating: 1,
        uncountedTerminatedPods: { failed: ["x"] },
        conditions: [{ type: "Failed", status: "False", reason: "R" }],
      },
    };
    const fromWatch = jobSnapshot(plain)!;
    const fromList = jobSnapshot({
      ...plain,
      status: { ...plain.status, startTime: new Date("2025-01-01T00:00:00Z") },
    })!;
    expect(fromWatch).toEqual(fromList);
    expect(fromWatch).toMatchObject({ uuid: "abc", tags: ["queue=q"], suspended: true, finished: true });
    expect(podCount(fromWatch)).toBe(3);
    expect(jobSnapshot({ metadata: {} })).toBeUndefined();
    expect(jobSnapshot("nonsense")).toBeUndefined();
  });

  test("a pod's agent has started when it runs or its termination has a start time", () => {
    const pod = (state: unknown) =>
      podSnapshot({
        metadata: { name: "p" },
        spec: { containers: [{ name: "agent", image: "a" }] },
        status: { containerStatuses: [{ name: "agent", image: "a", state }] },
      })!.containers[0]!.everStarted;
    expect(pod({ running: { startedAt: "2025-01-01T00:00:00Z" } })).toBe(true);
    expect(
      pod({ terminated: { exitCode: 137, reason: "OOMKilled", startedAt: "2025-01-01T00:00:00Z" } }),
    ).toBe(true);
    expect(pod({ terminated: { exitCode: 137, reason: "ContainerStatusUnknown" } })).toBe(false);
    expect(pod({ waiting: { reason: "ContainerCreating" } })).toBe(false);
    expect(pod(undefined)).toBe(false);
  });
});
