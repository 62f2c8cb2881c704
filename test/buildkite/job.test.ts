import { describe, expect, it } from "vitest";
import { jobEnv, parseBuildkiteJob } from "../../src/buildkite/job.ts";
import { caught } from "./pipeline-helpers.ts";

const UUID = "01938a6e-5c1f-4c3b-9d7e-2f4a8b6c0d1e";

function validJob(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    uuid: UUID,
    command: "make test",
    env: ["BUILDKITE_BRANCH=main", "BUILDKITE_COMMAND=make test"],
    agentQueryRules: ["queue=kubernetes"],
    priority: { number: 3 },
    ...overrides,
  };
}

describe("parseBuildkiteJob", () => {
  it("reads a JobTypeCommand as the GraphQL API returns it", () => {
    expect(parseBuildkiteJob(validJob(), "job.json")).toEqual({
      uuid: UUID,
      command: "make test",
      env: ["BUILDKITE_BRANCH=main", "BUILDKITE_COMMAND=make test"],
      agentQueryRules: ["queue=kubernetes"],
      priority: { number: 3 },
    });
  });

  it("ignores fields the stack does not read, so a query may select more", () => {
    const job = parseBuildkiteJob(
      validJob({ id: "Sm9iLS0t", label: ":golang: Test", state: "SCHEDULED" }),
      "job.json",
    );
    expect(Object.keys(job).sort()).toEqual(["agentQueryRules", "command", "env", "priority", "uuid"]);
  });

  it.each([
    ["priority absent", { priority: undefined }, { priority: { number: 0 } }],
    ["priority null", { priority: null }, { priority: { number: 0 } }],
    ["priority.number null (nullable Int)", { priority: { number: null } }, { priority: { number: 0 } }],
    ["negative priority", { priority: { number: -5 } }, { priority: { number: -5 } }],
    ["empty command", { command: "" }, { command: "" }],
    ["command null (nullable String)", { command: null }, { command: "" }],
    ["env null", { env: null }, { env: [] }],
    ["agentQueryRules absent", { agentQueryRules: undefined }, { agentQueryRules: [] }],
    ["an env value holding '='", { env: ["A=b=c"] }, { env: ["A=b=c"] }],
    ["an env entry with an empty value", { env: ["A="] }, { env: ["A="] }],
  ])("accepts %s", (_name, overrides, expected) => {
    expect(parseBuildkiteJob(validJob(overrides), "job.json")).toMatchObject(expected);
  });

  it.each([
    ["not an object", [], "$", "expected a JobTypeCommand object, got array"],
    ["a missing uuid", validJob({ uuid: undefined }), "$.uuid", "expected a job UUID"],
    ["an empty uuid", validJob({ uuid: "" }), "$.uuid", 'got ""'],
    [
      "an uppercase uuid",
      validJob({ uuid: UUID.toUpperCase() }),
      "$.uuid",
      "lowercase hex digits and dashes",
    ],
    ["a uuid with other characters", validJob({ uuid: "job_1" }), "$.uuid", 'got "job_1"'],
    ["a uuid ending in a dash", validJob({ uuid: "abc-" }), "$.uuid", "expected a job UUID"],
    [
      "a uuid too long for a label value",
      validJob({ uuid: "a".repeat(64) }),
      "$.uuid",
      "at most 63 characters",
    ],
    ["a numeric command", validJob({ command: 42 }), "$.command", "expected a string, got number"],
    ["env as a map", validJob({ env: { A: "b" } }), "$.env", "expected a list of strings, got object"],
    [
      "a number in env",
      validJob({ env: ["A=1", "B=2", "C=3", 4] }),
      "$.env[3]",
      'expected a "K=V" string, got number',
    ],
    [
      "an env entry without '='",
      validJob({ env: ["A=1", "NOEQUALS"] }),
      "$.env[1]",
      'got a string of 8 characters (no "=")',
    ],
    ["an env entry with an empty name", validJob({ env: ["=x"] }), "$.env[0]", "(empty name)"],
    ["a non-string agent rule", validJob({ agentQueryRules: [true] }), "$.agentQueryRules[0]", "got boolean"],
    [
      "priority as a bare number",
      validJob({ priority: 5 }),
      "$.priority",
      'expected a JobPriority object {"number": N}',
    ],
    ["a fractional priority", validJob({ priority: { number: 1.5 } }), "$.priority.number", "got number 1.5"],
    [
      "a priority beyond Int",
      validJob({ priority: { number: 2 ** 31 } }),
      "$.priority.number",
      "32-bit integer",
    ],
  ])("refuses %s with the JSON path", (_name, value, path, message) => {
    const error = caught(() => parseBuildkiteJob(value, "job.json"), "ASK_JOB_INVALID");
    expect(error.path).toBe(path);
    expect(error.message).toContain(`job.json: ${path}: `);
    expect(error.message).toContain(message);
  });
});

describe("the job's env values never appear in a message, whatever is wrong with them", () => {
  const SECRET = "SECRET_TOKEN=hunter2-do-not-quote";
  it.each([
    ["env as a string", { env: SECRET }],
    ["env as a map", { env: { SECRET_TOKEN: SECRET } }],
    ["an entry without '='", { env: ["A=1", SECRET.replace("=", "")] }],
    ["an entry with an empty name", { env: [`=${SECRET}`] }],
    ["a list inside env", { env: [[SECRET]] }],
  ])("%s", (_name, fields) => {
    const error = caught(() => parseBuildkiteJob(validJob(fields), "job.json"), "ASK_JOB_INVALID");
    expect(error.message).not.toMatch(/hunter2|SECRET/);
  });

  it("nor in jobEnv's, for a job that was not parsed", () => {
    const job = { uuid: UUID, command: "", env: ["hunter2"], agentQueryRules: [], priority: { number: 0 } };
    expect(caught(() => jobEnv(job), "ASK_JOB_INVALID").message).not.toContain("hunter2");
  });
});

describe("jobEnv", () => {
  it("splits each entry at its first '='", () => {
    const job = parseBuildkiteJob(validJob({ env: ["URL=https://x/?a=b", "EMPTY="] }), "job.json");
    expect(jobEnv(job)).toEqual(
      new Map([
        ["URL", "https://x/?a=b"],
        ["EMPTY", ""],
      ]),
    );
  });

  it("lets a later duplicate win, as filling a Go map does", () => {
    const job = parseBuildkiteJob(validJob({ env: ["A=first", "B=x", "A=second"] }), "job.json");
    expect(jobEnv(job).get("A")).toBe("second");
    expect([...jobEnv(job).keys()]).toEqual(["A", "B"]);
  });

  it("refuses an entry without '=' in a job that was not parsed", () => {
    const job = {
      uuid: UUID,
      command: "",
      env: ["OK=1", "BROKEN"],
      agentQueryRules: [],
      priority: { number: 0 },
    };
    const error = caught(() => jobEnv(job), "ASK_JOB_INVALID");
    expect(error.path).toBe("$.env[1]");
  });
});
