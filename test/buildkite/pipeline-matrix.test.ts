import { describe, expect, it } from "vitest";
import { caught, envOf, jobsOf } from "./pipeline-helpers.ts";

function commands(yaml: string): string[] {
  return jobsOf(yaml).map((job) => job.command);
}

describe("build matrix", () => {
  it.each([
    [
      "the list form, with {{matrix}}",
      "matrix: [linux, darwin, 7, true]",
      "build {{matrix}}",
      ["build linux", "build darwin", "build 7", "build true"],
    ],
    ["setup as a list", "matrix: {setup: [a, b]}", "t {{matrix}}", ["t a", "t b"]],
    [
      "named dimensions, the first varying slowest",
      "matrix: {setup: {os: [linux, darwin], arch: [amd64, arm64]}}",
      "build {{matrix.os}}/{{matrix.arch}}",
      ["build linux/amd64", "build linux/arm64", "build darwin/amd64", "build darwin/arm64"],
    ],
    ["tokens with spaces inside the braces", "matrix: [a]", "x {{ matrix }} {{  matrix  }}", ["x a a"]],
    ["a command with no token", "matrix: [a, b]", "same", ["same", "same"]],
    [
      "an adjustment that skips a combination",
      "matrix: {setup: {os: [linux, darwin], arch: [amd64, arm64]}, adjustments: [{with: {os: darwin, arch: amd64}, skip: true}]}",
      "{{matrix.os}}-{{matrix.arch}}",
      ["linux-amd64", "linux-arm64", "darwin-arm64"],
    ],
    [
      "a skip with a reason",
      "matrix: {setup: [a, b, c], adjustments: [{with: b, skip: 'broken on b'}]}",
      "{{matrix}}",
      ["a", "c"],
    ],
    [
      "skip: false keeps the combination",
      "matrix: {setup: [a, b], adjustments: [{with: b, skip: false}]}",
      "{{matrix}}",
      ["a", "b"],
    ],
    [
      "an adjustment that adds a combination, after the setup's",
      "matrix: {setup: {os: [linux], arch: [amd64]}, adjustments: [{with: {os: windows, arch: amd64}}, {with: {arch: arm64, os: linux}}]}",
      "{{matrix.os}}-{{matrix.arch}}",
      ["linux-amd64", "windows-amd64", "linux-arm64"],
    ],
    [
      "an adjustment of an existing combination (soft_fail) adds no job",
      "matrix: {setup: [a, b], adjustments: [{with: a, soft_fail: true}]}",
      "{{matrix}}",
      ["a", "b"],
    ],
    [
      "a skip wins over an addition of the same combination",
      "matrix: {setup: [a], adjustments: [{with: z}, {with: z, skip: true}]}",
      "{{matrix}}",
      ["a"],
    ],
    [
      "every combination skipped",
      "matrix: {setup: [a], adjustments: [{with: a, skip: true}]}",
      "{{matrix}}",
      [],
    ],
    [
      "an empty dimension filled by adjustments",
      "matrix: {setup: {os: [], arch: [x]}, adjustments: [{with: {os: plan9, arch: x}}]}",
      "{{matrix.os}} {{matrix.arch}}",
      ["plan9 x"],
    ],
  ])("%s", (_name, matrix, command, expected) => {
    expect(commands(`steps:\n  - command: "${command}"\n    ${matrix}\n`)).toEqual(expected);
  });

  it("interpolates label, env values, plugins (names and config) and agents", () => {
    const yaml = [
      "agents: {queue: 'shared-{{matrix.arch}}'}",
      "steps:",
      "  - label: ':{{matrix.os}}: {{matrix.arch}}'",
      "    key: build",
      "    command: build",
      "    image: golang:1.23-{{matrix.os}}",
      "    env:",
      "      GOOS: '{{matrix.os}}'",
      "      '{{matrix.os}}_NAME': kept",
      "    agents: {queue: 'builder-{{matrix.arch}}', '{{matrix.os}}': 'yes'}",
      "    plugins:",
      "      - artifacts#{{matrix.os}}: {upload: 'out/{{matrix.arch}}.gz', '{{matrix.os}}': ['x-{{matrix.arch}}']}",
      "    matrix:",
      "      setup:",
      "        os: [linux]",
      "        arch: [arm64]",
    ].join("\n");
    const [job] = jobsOf(yaml);
    expect(envOf(job!)).toMatchObject({
      BUILDKITE_LABEL: ":linux: arm64",
      BUILDKITE_STEP_KEY: "build",
      BUILDKITE_IMAGE: "golang:1.23-linux",
      GOOS: "linux",
      "{{matrix.os}}_NAME": "kept",
      BUILDKITE_PLUGINS:
        '[{"github.com/buildkite-plugins/artifacts-buildkite-plugin#linux":{"upload":"out/arm64.gz","linux":["x-arm64"]}}]',
    });
    expect(job!.agentQueryRules).toEqual(["queue=builder-arm64", "linux=yes"]);
  });

  it("leaves {{matrix}} text alone on a step without a matrix", () => {
    expect(commands('steps:\n  - command: "echo {{matrix}}"\n')).toEqual(["echo {{matrix}}"]);
  });

  it("gives each combination its own uuid", () => {
    const jobs = jobsOf("steps:\n  - command: x\n    matrix: [a, b, c]\n");
    expect(new Set(jobs.map((job) => job.uuid)).size).toBe(3);
  });

  it.each([
    [
      "a token naming no dimension",
      "matrix: {setup: {os: [linux]}}",
      "command: 'go build {{matrix.arch}}'",
      "steps[0].command",
      "unknown matrix token {{matrix.arch}}: this matrix has {{matrix.os}}",
    ],
    [
      "{{matrix}} in a matrix with named dimensions",
      "matrix: {setup: {os: [linux]}}",
      "command: 'go build {{matrix}}'",
      "steps[0].command",
      "unknown matrix token {{matrix}}",
    ],
    [
      "{{matrix.os}} in a single-dimension matrix",
      "matrix: [linux]",
      "command: x\n    env: {A: '{{matrix.os}}'}",
      "steps[0].env.A",
      "this matrix has {{matrix}}",
    ],
    [
      "matrix together with parallelism",
      "matrix: [a]\n    parallelism: 2",
      "command: x",
      "steps[0]",
      "`matrix` and `parallelism` cannot be used on the same step",
    ],
    [
      "a matrix token in the step key",
      "matrix: [a]",
      "command: x\n    key: 'k-{{matrix}}'",
      "steps[0].key",
      "matrix values cannot be used in a step key",
    ],
    ["a matrix that is a string", "matrix: linux", "command: x", "steps[0].matrix", 'got the string "linux"'],
    [
      "a matrix mapping without setup",
      "matrix: {adjustments: []}",
      "command: x",
      "steps[0].matrix.setup",
      "needs a `setup`",
    ],
    [
      "an unknown matrix key",
      "matrix: {setup: [a], exclude: [a]}",
      "command: x",
      "steps[0].matrix.exclude",
      "is not supported",
    ],
    ["an empty list", "matrix: []", "command: x", "steps[0].matrix", "expected at least one matrix value"],
    [
      "an empty setup mapping",
      "matrix: {setup: {}}",
      "command: x",
      "steps[0].matrix.setup",
      "at least one matrix dimension",
    ],
    [
      "a dimension name with a dot",
      "matrix: {setup: {a.b: [x]}}",
      "command: x",
      'steps[0].matrix.setup["a.b"]',
      "letters, digits and `_`",
    ],
    [
      "a dimension that is not a list",
      "matrix: {setup: {os: linux}}",
      "command: x",
      "steps[0].matrix.setup.os",
      "a list of matrix values",
    ],
    ["a nested matrix value", "matrix: [[a]]", "command: x", "steps[0].matrix[0]", "got a list"],
    ["a null matrix value", "matrix: [a, ~]", "command: x", "steps[0].matrix[1]", "got null"],
    [
      "an adjustment missing a dimension",
      "matrix: {setup: {os: [a], arch: [b]}, adjustments: [{with: {os: a}}]}",
      "command: x",
      "steps[0].matrix.adjustments[0].with",
      "missing arch",
    ],
    [
      "an adjustment with an unknown dimension",
      "matrix: {setup: {os: [a]}, adjustments: [{with: {os: a, cpu: b}}]}",
      "command: x",
      "steps[0].matrix.adjustments[0].with.cpu",
      "is not a dimension of this matrix (os)",
    ],
    [
      "a list `with` on a single-dimension matrix",
      "matrix: {setup: [a], adjustments: [{with: [b, c]}]}",
      "command: x",
      "steps[0].matrix.adjustments[0].with",
      "write one adjustment per value",
    ],
    [
      "an adjustment without `with`",
      "matrix: {setup: [a], adjustments: [{skip: true}]}",
      "command: x",
      "steps[0].matrix.adjustments[0].with",
      "needs `with`",
    ],
    [
      "an unknown adjustment key",
      "matrix: {setup: [a], adjustments: [{with: a, timeout_in_minutes: 5}]}",
      "command: x",
      "steps[0].matrix.adjustments[0].timeout_in_minutes",
      "is not supported in a matrix adjustment",
    ],
    [
      "a skip that is a number",
      "matrix: {setup: [a], adjustments: [{with: a, skip: 1}]}",
      "command: x",
      "steps[0].matrix.adjustments[0].skip",
      "expected true, false or a reason",
    ],
  ])("refuses %s", (_name, matrix, step, path, message) => {
    const error = caught(() => jobsOf(`steps:\n  - ${step}\n    ${matrix}\n`), "ASK_INPUT_INVALID");
    expect(error.path).toBe(path);
    expect(error.message).toContain(`${path}: `);
    expect(error.message).toContain(message);
  });
});
