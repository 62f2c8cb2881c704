import { describe, expect, it } from "vitest";
import { pipelineDocumentToJobs } from "../../src/buildkite/pipeline.ts";
import { caught, jobsOf, uuidCounter } from "./pipeline-helpers.ts";

describe("bad pipelines are refused with ASK_INPUT_INVALID and the place", () => {
  it.each([
    ["YAML that does not parse", "steps: [\n", "", "not valid YAML"],
    [
      "a duplicate key",
      "steps: []\nsteps: []\n",
      "",
      "not valid YAML: Map keys must be unique at line 2, column 1",
    ],
    [
      "several YAML documents",
      "steps: []\n---\nsteps: []\n",
      "",
      "not valid YAML: Source contains multiple documents",
    ],
    [
      "an empty document",
      "",
      "",
      "expected a pipeline (a mapping with `steps`, or a list of steps), got null",
    ],
    ["a scalar document", "hello\n", "", 'got the string "hello"'],
    ["a mapping without steps", "env: {A: b}\n", "steps", "expected a list of steps, got nothing"],
    ["steps that are a mapping", "steps: {command: x}\n", "steps", "expected a list of steps, got a mapping"],
    ["a step that is a number", "steps:\n  - 42\n", "steps[0]", "expected a step (a mapping"],
    ["a step that is null", "steps:\n  - command: a\n  -\n", "steps[1]", "got null"],
    ["an unknown step string", "steps:\n  - deploy\n", "steps[0]", 'got the string "deploy"'],
    [
      "a step of no known kind",
      "steps:\n  - label: Orphan\n    env: {A: b}\n",
      "steps[0]",
      "cannot tell what kind of step",
    ],
    ["an unknown step type", "steps:\n  - type: pray\n", "steps[0].type", 'unknown step type "pray"'],
    [
      "a non-string step type",
      "steps:\n  - type: 3\n    command: x\n",
      "steps[0].type",
      "expected a step type",
    ],
    [
      "a numeric command",
      "steps:\n  - command: 42\n",
      "steps[0].command",
      "expected a command string or a list",
    ],
    [
      "a mapping in a command list",
      "steps:\n  - commands: [a, {b: c}]\n",
      "steps[0].commands[1]",
      "expected a command string, got a mapping",
    ],
    [
      "both command and commands",
      "steps:\n  - command: a\n    commands: [b]\n",
      "steps[0]",
      "both `command` and `commands`",
    ],
    [
      "script as a string",
      "steps:\n  - script: make\n",
      "steps[0].script",
      "expected a nested command step mapping",
    ],
    [
      "a nested step with siblings",
      "steps:\n  - command: {command: a}\n    label: L\n",
      "steps[0].command",
      "must be the only key",
    ],
    [
      "a nested step nested again",
      "steps:\n  - command: {command: {command: a}}\n",
      "steps[0].command.command",
      "got a nested step",
    ],
    [
      "a group in a group",
      "steps:\n  - group: A\n    steps:\n      - group: B\n        steps: [{command: x}]\n",
      "steps[0].steps[0]",
      "cannot contain another group",
    ],
    [
      "a group without steps",
      "steps:\n  - group: A\n",
      "steps[0].steps",
      "expected a list of steps, got nothing",
    ],
    [
      "a bad step inside a group",
      "steps:\n  - group: A\n    steps: [{command: a}, 7]\n",
      "steps[0].steps[1]",
      "expected a step",
    ],
    ["a bad step in a bare list", "- command: a\n- 7\n", "[1]", "expected a step"],
    [
      "plugins as a string",
      "steps:\n  - plugins: docker#v1\n",
      "steps[0].plugins",
      "expected a list of plugins",
    ],
    [
      "a plugin entry with several keys",
      "steps:\n  - plugins:\n      - docker#v5: {image: a}\n        kubernetes: {}\n",
      "steps[0].plugins[0]",
      'got 2 keys ("docker#v5", "kubernetes")',
    ],
    [
      "a mis-indented plugin config",
      "steps:\n  - plugins:\n      - docker#v5:\n        image: node\n",
      "steps[0].plugins[0]",
      "exactly one key",
    ],
    ["an empty plugin entry", "steps:\n  - plugins: [{}]\n", "steps[0].plugins[0]", "got 0 keys"],
    [
      "a plugin entry that is a number",
      "steps:\n  - plugins: [3]\n",
      "steps[0].plugins[0]",
      "got the number 3",
    ],
    ["an empty plugin name", "steps:\n  - plugins: ['']\n", "steps[0].plugins[0]", "got an empty one"],
    [
      "a plugin config that is not JSON",
      "steps:\n  - plugins: [{p: {n: .inf}}]\n",
      "steps[0].plugins[0].n",
      "expected a finite number",
    ],
    [
      "env as a list",
      "steps:\n  - command: x\n    env: [A=b]\n",
      "steps[0].env",
      "expected a mapping of environment variables",
    ],
    [
      "a nested env value",
      "steps:\n  - command: x\n    env: {A: {b: c}}\n",
      "steps[0].env.A",
      "expected a string, number or boolean",
    ],
    [
      "an env name with '='",
      "steps:\n  - command: x\n    env: {'A=B': c}\n",
      'steps[0].env["A=B"]',
      'without "="',
    ],
    ["a bad pipeline env", "env: [A]\nsteps: []\n", "env", "expected a mapping of environment variables"],
    [
      "agents as a string",
      "steps:\n  - command: x\n    agents: queue=x\n",
      "steps[0].agents",
      "expected a mapping of agent tags",
    ],
    [
      "an agent rule without '='",
      "steps:\n  - command: x\n    agents: [queue]\n",
      "steps[0].agents[0]",
      'expected a "key=value" rule',
    ],
    [
      "a nested agent tag",
      "steps:\n  - command: x\n    agents: {queue: [a]}\n",
      "steps[0].agents.queue",
      "expected an agent tag value",
    ],
    [
      "a null agent tag",
      "steps:\n  - command: x\n    agents: {queue: ~}\n",
      "steps[0].agents.queue",
      "got null",
    ],
    ["a bad pipeline agents", "agents: 3\nsteps: []\n", "agents", "expected a mapping of agent tags"],
    [
      "a fractional priority",
      "steps:\n  - command: x\n    priority: 1.5\n",
      "steps[0].priority",
      "expected an integer priority",
    ],
    [
      "a string priority",
      "steps:\n  - command: x\n    priority: high\n",
      "steps[0].priority",
      "expected an integer priority",
    ],
    [
      "a priority beyond Int",
      "steps:\n  - command: x\n    priority: 3000000000\n",
      "steps[0].priority",
      "32-bit integer",
    ],
    [
      "zero parallelism",
      "steps:\n  - command: x\n    parallelism: 0\n",
      "steps[0].parallelism",
      "expected a positive integer, got 0",
    ],
    [
      "a string parallelism",
      "steps:\n  - command: x\n    parallelism: many\n",
      "steps[0].parallelism",
      "expected a positive integer",
    ],
    [
      "a mapping image",
      "steps:\n  - command: x\n    image: {name: a}\n",
      "steps[0].image",
      "expected a string",
    ],
    [
      "a skip that is a list",
      "steps:\n  - command: x\n    skip: [a]\n",
      "steps[0].skip",
      "expected true, false or a reason",
    ],
    ["a key that is a list", "steps:\n  - command: x\n    key: [a]\n", "steps[0].key", "expected a string"],
    [
      "an alias bomb",
      `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\nsteps: []\n`,
      "",
      "not valid YAML",
    ],
  ])("%s", (_name, yaml, path, message) => {
    const error = caught(() => jobsOf(yaml), "ASK_INPUT_INVALID");
    expect(error.path).toBe(path);
    expect(error.message).toContain(message);
    if (path !== "") expect(error.message).toContain(`${path}: `);
  });

  it("names the source file at the start of the message", () => {
    const error = caught(
      () => jobsOf("steps:\n  - plugins: [{a: 1, b: 2}]\n", { source: "ci/pipeline.yaml" }),
      "ASK_INPUT_INVALID",
    );
    expect(error.message).toMatch(/^ci\/pipeline\.yaml: steps\[0\]\.plugins\[0\]: expected a plugin entry/);
    expect(error.path).toBe("steps[0].plugins[0]");
  });

  it("refuses a build env name with '='", () => {
    const error = caught(() => jobsOf("steps: []\n", { buildEnv: { "A=B": "c" } }), "ASK_INPUT_INVALID");
    expect(error.path).toBe('buildEnv["A=B"]');
  });

  it("refuses a mapping key that is itself a mapping", () => {
    const error = caught(
      () => jobsOf("steps:\n  - command: x\n    env:\n      ? {a: b}\n      : c\n"),
      "ASK_INPUT_INVALID",
    );
    expect(error.path).toBe("steps[0].env");
    expect(error.message).toContain("expected mapping keys to be strings");
  });

  it("refuses a uuid factory that returns something unusable as a job uuid", () => {
    const error = caught(
      () => jobsOf("steps:\n  - command: x\n", { newUuid: () => "Job 1" }),
      "ASK_JOB_INVALID",
    );
    expect(error.message).toContain('"Job 1"');
  });

  it.each([
    ["undefined", undefined],
    ["a number", 7],
    ["a string", "steps: []"],
  ])("refuses a parsed document that is %s", (_name, document) => {
    const error = caught(
      () => pipelineDocumentToJobs(document, { newUuid: uuidCounter(), defaultAgentQueryRules: [] }),
      "ASK_INPUT_INVALID",
    );
    expect(error.message).toContain("expected a pipeline");
  });
});
