import { describe, expect, it } from "vitest";
import { pipelineDocumentToJobs } from "../../src/buildkite/pipeline.ts";
import { envOf, jobsOf, onlyJob, uuid, uuidCounter } from "./pipeline-helpers.ts";

const K8S = "github.com/buildkite-plugins/kubernetes-buildkite-plugin";
const DOCKER = "github.com/buildkite-plugins/docker-buildkite-plugin";

describe("which steps give jobs", () => {
  it.each([
    ["a mapping with steps", "steps:\n  - command: a\n  - command: b\n", ["a", "b"]],
    ["a bare list of steps", "- command: a\n- command: b\n", ["a", "b"]],
    ["an empty steps list", "steps: []\n", []],
    [
      "wait, block, input and manual strings between commands",
      "steps:\n  - command: a\n  - wait\n  - waiter\n  - block\n  - input\n  - manual\n  - command: b\n",
      ["a", "b"],
    ],
    [
      "wait, block, input and trigger mappings",
      [
        "steps:",
        "  - wait: ~",
        "    continue_on_failure: true",
        '  - block: ":rocket: Release?"',
        "  - input: Details",
        "    fields: [{text: Name, key: name}]",
        "  - trigger: deploy-pipeline",
        "    build: {branch: main}",
        "  - command: a",
      ].join("\n"),
      ["a"],
    ],
    [
      "nested non-command steps",
      "steps:\n  - wait: {continue_on_failure: true}\n  - block: {label: Go}\n  - trigger: {trigger: other}\n  - command: a\n",
      ["a"],
    ],
    ["`type: command` with no command key", "steps:\n  - type: command\n    label: empty\n", [""]],
    ["`type: script`", "steps:\n  - type: script\n    command: s\n", ["s"]],
    ["`type: wait` on a mapping with a command key", "steps:\n  - type: wait\n    command: ignored\n", []],
    ["a step with only plugins", "steps:\n  - plugins: [docker#v5.9.0]\n", [""]],
    [
      "steps inside groups, flattened in order",
      "steps:\n  - command: a\n  - group: G\n    steps:\n      - command: b\n      - wait\n      - command: c\n  - command: d\n",
      ["a", "b", "c", "d"],
    ],
    ["a group named null", "steps:\n  - group: ~\n    steps: [{command: a}]\n", ["a"]],
    [
      "the nested command form",
      "steps:\n  - command:\n      command: inner\n      label: Nested\n  - script:\n      commands: [x, y]\n",
      ["inner", "x\ny"],
    ],
    [
      "a skipped step",
      "steps:\n  - command: a\n    skip: true\n  - command: b\n    skip: flaky\n  - command: c\n    skip: false\n",
      ["c"],
    ],
  ])("%s", (_name, yaml, commands) => {
    expect(jobsOf(yaml).map((job) => job.command)).toEqual(commands);
  });

  it("gives each job a uuid from the factory, in job order", () => {
    const jobs = jobsOf("steps:\n  - command: a\n  - command: b\n    parallelism: 2\n");
    expect(jobs.map((job) => job.uuid)).toEqual([uuid(1), uuid(2), uuid(3)]);
  });

  it("accepts a document already parsed from JSON", () => {
    const jobs = pipelineDocumentToJobs(
      { steps: [{ command: "a", agents: { queue: "big" } }] },
      { newUuid: uuidCounter(), defaultAgentQueryRules: [] },
    );
    expect(jobs).toEqual([
      {
        uuid: uuid(1),
        command: "a",
        env: ["BUILDKITE_COMMAND=a"],
        agentQueryRules: ["queue=big"],
        priority: { number: 0 },
      },
    ]);
  });
});

describe("command", () => {
  it.each([
    ["a string", "command: make test", "make test"],
    ["a block scalar", "command: |\n      echo one\n      echo two", "echo one\necho two\n"],
    ["a list under command", "command: [make lint, make test]", "make lint\nmake test"],
    ["a list under commands", "commands:\n      - make lint\n      - make test", "make lint\nmake test"],
    ["a single-item list", "commands: [make]", "make"],
    ["an empty list", "commands: []", ""],
    ["null", "command: ~", ""],
  ])("%s becomes the job command and BUILDKITE_COMMAND", (_name, field, expected) => {
    const job = onlyJob(`steps:\n  - ${field}\n`);
    expect(job.command).toBe(expected);
    expect(envOf(job).BUILDKITE_COMMAND).toBe(expected);
  });

  it("sets BUILDKITE_COMMAND to empty for a plugins-only step", () => {
    expect(envOf(onlyJob("steps:\n  - plugins: [kubernetes]\n")).BUILDKITE_COMMAND).toBe("");
  });
});

describe("plugins → BUILDKITE_PLUGINS", () => {
  it.each([
    [
      "the list form, with name expansion and step order kept",
      "plugins:\n      - docker#v5.9.0: {image: node:22}\n      - kubernetes: {podSpec: {containers: [{image: alpine}]}}",
      `[{"${DOCKER}#v5.9.0":{"image":"node:22"}},{"${K8S}":{"podSpec":{"containers":[{"image":"alpine"}]}}}]`,
    ],
    [
      "a bare name, whose config is null",
      "plugins:\n      - some-org/some-plugin#v1\n      - docker#v5.9.0: ~",
      `[{"github.com/some-org/some-plugin-buildkite-plugin#v1":null},{"${DOCKER}#v5.9.0":null}]`,
    ],
    [
      "the mapping form, in document order",
      "plugins:\n      kubernetes: {checkout: {skip: true}}\n      docker#v5.9.0: {image: x}",
      `[{"${K8S}":{"checkout":{"skip":true}}},{"${DOCKER}#v5.9.0":{"image":"x"}}]`,
    ],
    [
      "full URLs and local paths unchanged",
      "plugins:\n      - https://git.example.com/p.git#v1\n      - ./.buildkite/plugins/x: {a: 1}",
      `[{"https://git.example.com/p.git#v1":null},{"./.buildkite/plugins/x":{"a":1}}]`,
    ],
    [
      "config key order as written, numeric keys included",
      "plugins:\n      - acme/cfg#v1: {zeta: 1, '10': ten, alpha: [true, null, 1.5], '2': two}",
      `[{"github.com/acme/cfg-buildkite-plugin#v1":{"zeta":1,"10":"ten","alpha":[true,null,1.5],"2":"two"}}]`,
    ],
    [
      "YAML anchors and merge keys resolved",
      "plugins:\n      - kubernetes:\n          <<: {checkout: {skip: true}}\n          sidecars: [{image: redis}]",
      `[{"${K8S}":{"checkout":{"skip":true},"sidecars":[{"image":"redis"}]}}]`,
    ],
  ])("%s", (_name, field, expected) => {
    expect(envOf(onlyJob(`steps:\n  - command: x\n    ${field}\n`)).BUILDKITE_PLUGINS).toBe(expected);
  });

  it.each([
    ["no plugins key", ""],
    ["plugins: null", "\n    plugins: ~"],
    ["an empty plugin list", "\n    plugins: []"],
  ])("is absent with %s", (_name, field) => {
    expect(envOf(onlyJob(`steps:\n  - command: x${field}\n`))).not.toHaveProperty("BUILDKITE_PLUGINS");
  });
});

describe("env", () => {
  it("layers pipeline env, step env, the build env, then Buildkite's own variables", () => {
    const yaml = [
      "env:",
      "  LEVEL: pipeline",
      "  PIPELINE_ONLY: p",
      "  BUILDKITE_BRANCH: from-pipeline",
      "steps:",
      "  - command: make",
      "    env:",
      "      LEVEL: step",
      "      STEP_ONLY: s",
      "      BUILDKITE_COMMAND: not-the-command",
      "      BUILDKITE_REPO: from-step",
    ].join("\n");
    const env = envOf(
      onlyJob(yaml, { buildEnv: { BUILDKITE_BRANCH: "main", BUILDKITE_REPO: "git@github.com:acme/w.git" } }),
    );
    expect(env).toEqual({
      LEVEL: "step",
      PIPELINE_ONLY: "p",
      STEP_ONLY: "s",
      BUILDKITE_BRANCH: "main",
      BUILDKITE_REPO: "git@github.com:acme/w.git",
      BUILDKITE_COMMAND: "make",
    });
  });

  it("is sorted by name, whatever the order of keys", () => {
    const a = onlyJob("steps:\n  - command: x\n    env: {Z: 1, A: 2, m: 3, B_2: 4}\n", {
      buildEnv: { Q: "q" },
    });
    const b = onlyJob("steps:\n  - command: x\n    env: {m: 3, B_2: 4, A: 2, Z: 1}\n", {
      buildEnv: { Q: "q" },
    });
    expect(a.env).toEqual(["A=2", "BUILDKITE_COMMAND=x", "B_2=4", "Q=q", "Z=1", "m=3"]);
    expect(b.env).toEqual(a.env);
  });

  it.each([
    ["an integer", "1", "1"],
    ["a float", "1.50", "1.5"],
    ["a hex integer", "0x10", "16"],
    ["true", "true", "true"],
    ["false", "false", "false"],
    ["null", "~", ""],
    ["a quoted number", '"007"', "007"],
    ["a value with '='", "a=b", "a=b"],
  ])("stringifies %s as Buildkite does", (_name, value, expected) => {
    expect(envOf(onlyJob(`steps:\n  - command: x\n    env:\n      V: ${value}\n`)).V).toBe(expected);
  });

  it.each([
    ["label", "label: ':go: Test'", { BUILDKITE_LABEL: ":go: Test" }],
    ["name (alias of label)", "name: Old style", { BUILDKITE_LABEL: "Old style" }],
    ["key", "key: unit", { BUILDKITE_STEP_KEY: "unit" }],
    ["identifier (alias of key)", "identifier: unit", { BUILDKITE_STEP_KEY: "unit" }],
    ["id (alias of key)", "id: unit", { BUILDKITE_STEP_KEY: "unit" }],
    ["image", "image: node:22", { BUILDKITE_IMAGE: "node:22" }],
    ["artifact_paths as a string", "artifact_paths: 'dist/*'", { BUILDKITE_ARTIFACT_PATHS: "dist/*" }],
    ["artifact_paths as a list", "artifact_paths: [a/*, b/**/*]", { BUILDKITE_ARTIFACT_PATHS: "a/*;b/**/*" }],
  ])("sets Buildkite's variable for %s", (_name, field, expected) => {
    expect(envOf(onlyJob(`steps:\n  - command: x\n    ${field}\n`))).toMatchObject(expected);
  });

  it("prefers key over id and identifier, and label over name", () => {
    const env = envOf(onlyJob("steps:\n  - command: x\n    id: b\n    key: a\n    name: N\n    label: L\n"));
    expect(env).toMatchObject({ BUILDKITE_STEP_KEY: "a", BUILDKITE_LABEL: "L" });
  });

  it("leaves label, key and image unset when the step has none", () => {
    expect(Object.keys(envOf(onlyJob("steps:\n  - command: x\n")))).toEqual(["BUILDKITE_COMMAND"]);
  });

  it("takes BUILDKITE_IMAGE from the pipeline's image unless the step has its own", () => {
    const jobs = jobsOf(
      "image: ubuntu:24.04\nsteps:\n  - command: a\n  - command: b\n    image: alpine:3.20\n",
    );
    expect(jobs.map((job) => envOf(job).BUILDKITE_IMAGE)).toEqual(["ubuntu:24.04", "alpine:3.20"]);
  });
});

describe("agents → agentQueryRules", () => {
  it.each([
    ["no agents anywhere: the stack's defaults", "", "", ["queue=kubernetes"]],
    ["a step queue replaces the defaults", "", "agents: {queue: big}", ["queue=big"]],
    ["the list form", "", "agents: ['queue=big', 'arch=arm64']", ["queue=big", "arch=arm64"]],
    ["a pipeline queue", "agents: {queue: fast}", "", ["queue=fast"]],
    ["a step queue over the pipeline's", "agents: {queue: fast}", "agents: {queue: big}", ["queue=big"]],
    [
      "step rules merged over pipeline rules, per key and in place",
      "agents: {queue: fast, arch: amd64, os: linux}",
      "agents: {arch: arm64, gpu: true}",
      ["queue=fast", "arch=arm64", "os=linux", "gpu=true"],
    ],
    [
      "defaults first when no queue is named",
      "",
      "agents: {arch: arm64}",
      ["queue=kubernetes", "arch=arm64"],
    ],
    ["values that are numbers", "", "agents: {queue: q, cores: 8}", ["queue=q", "cores=8"]],
    ["a list rule whose value holds '='", "", "agents: ['queue=a=b']", ["queue=a=b"]],
  ])("%s", (_name, pipelineField, stepField, expected) => {
    const yaml = `${pipelineField}\nsteps:\n  - command: x\n    ${stepField}\n`;
    expect(onlyJob(yaml).agentQueryRules).toEqual(expected);
  });

  it("prepends only the default rules the step does not set", () => {
    const job = onlyJob("steps:\n  - command: x\n    agents: {os: windows}\n", {
      defaultAgentQueryRules: ["queue=kubernetes", "os=linux"],
    });
    expect(job.agentQueryRules).toEqual(["queue=kubernetes", "os=windows"]);
  });
});

describe("priority", () => {
  it.each([
    ["absent", "", "", 0],
    ["on the step", "", "priority: 5", 5],
    ["negative", "", "priority: -1", -1],
    ["on the pipeline", "priority: 2", "", 2],
    ["on the step over the pipeline's", "priority: 2", "priority: 7", 7],
  ])("%s", (_name, pipelineField, stepField, expected) => {
    const yaml = `${pipelineField}\nsteps:\n  - command: x\n    ${stepField}\n`;
    expect(onlyJob(yaml).priority).toEqual({ number: expected });
  });
});

describe("parallelism", () => {
  it("makes N jobs numbered from 0", () => {
    const jobs = jobsOf("steps:\n  - command: rspec\n    parallelism: 3\n");
    expect(jobs.map((job) => job.command)).toEqual(["rspec", "rspec", "rspec"]);
    expect(
      jobs.map((job) => [envOf(job).BUILDKITE_PARALLEL_JOB, envOf(job).BUILDKITE_PARALLEL_JOB_COUNT]),
    ).toEqual([
      ["0", "3"],
      ["1", "3"],
      ["2", "3"],
    ]);
    expect(new Set(jobs.map((job) => job.uuid)).size).toBe(3);
  });

  it("with 1 still marks the job as parallel", () => {
    expect(envOf(onlyJob("steps:\n  - command: x\n    parallelism: 1\n"))).toMatchObject({
      BUILDKITE_PARALLEL_JOB: "0",
      BUILDKITE_PARALLEL_JOB_COUNT: "1",
    });
  });

  it("is not set on a step without it", () => {
    expect(envOf(onlyJob("steps:\n  - command: x\n"))).not.toHaveProperty("BUILDKITE_PARALLEL_JOB");
  });
});
