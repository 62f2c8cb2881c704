import { describe, expect, test } from "vitest";
import { formatDuration, HOUR, MINUTE, parseDuration, SECOND } from "../../src/config/duration.ts";

// Cases from Go's time package tests (ParseDuration / Duration.String).
const parsed: ReadonlyArray<readonly [string, number]> = [
  ["0", 0],
  ["5s", 5 * SECOND],
  ["30s", 30 * SECOND],
  ["1478s", 1478 * SECOND],
  ["-5s", -5 * SECOND],
  ["+5s", 5 * SECOND],
  ["-0", 0],
  ["+0", 0],
  ["5.0s", 5 * SECOND],
  ["5.6s", 5 * SECOND + 600_000_000],
  ["5.s", 5 * SECOND],
  [".5s", 500_000_000],
  ["1.0s", SECOND],
  ["1.00s", SECOND],
  ["1.004s", SECOND + 4_000_000],
  ["1.0040s", SECOND + 4_000_000],
  ["100.00100s", 100 * SECOND + 1_000_000],
  ["10ns", 10],
  ["11us", 11_000],
  ["12µs", 12_000],
  ["12μs", 12_000],
  ["13ms", 13_000_000],
  ["14s", 14 * SECOND],
  ["15m", 15 * MINUTE],
  ["16h", 16 * HOUR],
  ["3h30m", 3 * HOUR + 30 * MINUTE],
  ["2h45m", 2 * HOUR + 45 * MINUTE],
  ["1.5h", 90 * MINUTE],
  ["300ms", 300_000_000],
  ["10.5s4m", 4 * MINUTE + 10 * SECOND + 500_000_000],
  ["-2m3.4s", -(2 * MINUTE + 3 * SECOND + 400_000_000)],
  ["1h2m3s4ms5us6ns", HOUR + 2 * MINUTE + 3 * SECOND + 4_000_000 + 5_000 + 6],
  ["39h9m14.425s", 39 * HOUR + 9 * MINUTE + 14 * SECOND + 425_000_000],
  ["52763797000ns", 52_763_797_000],
  ["0.3333333333333333333h", 20 * MINUTE],
];

const rejected: ReadonlyArray<readonly [string, string]> = [
  ["", 'time: invalid duration ""'],
  ["3", 'time: missing unit in duration "3"'],
  ["-", 'time: invalid duration "-"'],
  ["s", 'time: invalid duration "s"'],
  [".", 'time: invalid duration "."'],
  ["-.", 'time: invalid duration "-."'],
  [".s", 'time: invalid duration ".s"'],
  ["+.s", 'time: invalid duration "+.s"'],
  ["1d", 'time: unknown unit "d" in duration "1d"'],
  ["1h 30m", 'time: unknown unit "h " in duration "1h 30m"'],
  ["5 s", 'time: unknown unit " s" in duration "5 s"'],
  ["9223372036854775808ns", 'time: invalid duration "9223372036854775808ns"'],
  ["3000000h", 'time: invalid duration "3000000h"'],
];

const printed: ReadonlyArray<readonly [number, string]> = [
  [0, "0s"],
  [1, "1ns"],
  [1_100, "1.1µs"],
  [1_500, "1.5µs"],
  [2_200_000, "2.2ms"],
  [500_000_000, "500ms"],
  [3_300_000_000, "3.3s"],
  [5 * MINUTE, "5m0s"],
  [90 * SECOND, "1m30s"],
  [HOUR, "1h0m0s"],
  [4 * MINUTE + 5 * SECOND, "4m5s"],
  [4 * MINUTE + 5_001_000_000, "4m5.001s"],
  [5 * HOUR + 6 * MINUTE + 7_001_000_000, "5h6m7.001s"],
  [8 * MINUTE + 1, "8m0.000000001s"],
  [-1, "-1ns"],
  [-(2 * HOUR + 45 * MINUTE), "-2h45m0s"],
  [10 * MINUTE, "10m0s"],
];

describe("parseDuration reads Go duration text as nanoseconds", () => {
  test.each(parsed)("%s", (text, nanoseconds) => {
    expect(parseDuration(text)).toEqual({ ok: true, nanoseconds });
  });
});

describe("parseDuration rejects what Go rejects, with Go's message", () => {
  test.each(rejected)("%j", (text, error) => {
    expect(parseDuration(text)).toEqual({ ok: false, error });
  });
});

describe("formatDuration prints Go's Duration.String() text", () => {
  test.each(printed)("%d ns", (nanoseconds, text) => {
    expect(formatDuration(nanoseconds)).toBe(text);
  });
});

test("formatting then parsing gives the same duration back", () => {
  for (const [, nanoseconds] of parsed) {
    const again = parseDuration(formatDuration(nanoseconds));
    expect(again).toEqual({ ok: true, nanoseconds });
  }
});
