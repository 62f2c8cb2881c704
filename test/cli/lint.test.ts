// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are pipeline text to interpolate, not templates.
/** `agent-stack-k8s lint`: output formats, exit statuses, files and flags. */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, test } from "vitest";
import { run } from "../support/cli.ts";
import { FIXTURES } from "../support/pipeline-fixtures.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const clean = "steps:\n  - command: make\n";
const broken = "steps:\n  - command: make\n    lable: Build\n";
const warned = "steps:\n  - plugins:\n      - kubernetes:\n          podspec: {}\n";

describe("output", () => {
  test("one line per problem: FILE:LINE:COL: severity: message (CODE), on stdout", async () => {
    const result = await run(["lint", "a.yml", "b.yml"], { "a.yml": broken, "b.yml": warned });
    expect(result.stdout).toBe(
      'a.yml:3:5: error: unknown field "lable" in a command step; did you mean "label"? (ASK_LINT_PIPELINE_SCHEMA)\n' +
        'b.yml:4:11: warning: "podspec" is spelt "podSpec"; it works because field names match in any case, but write "podSpec" (ASK_LINT_FIELD_CASE)\n',
    );
    expect(result.stderr).toBe("");
  });

  test("--format json: an array of problems with the same fields", async () => {
    const result = await run(["lint", "--format", "json", "a.yml"], { "a.yml": broken });
    expect(JSON.parse(result.stdout)).toEqual([
      {
        file: "a.yml",
        line: 3,
        column: 5,
        severity: "error",
        message: 'unknown field "lable" in a command step; did you mean "label"?',
        code: "ASK_LINT_PIPELINE_SCHEMA",
      },
    ]);
  });

  test("--format json with nothing to say is an empty array", async () => {
    expect((await run(["lint", "--format=json", "a.yml"], { "a.yml": clean })).stdout).toBe("[]\n");
  });

  test("- reads stdin", async () => {
    const result = await run(["lint", "-"], { "-": broken });
    expect(result.stdout).toMatch(/^-:3:5: error: /);
  });
});

describe("exit status", () => {
  test.each([
    ["0 without problems", ["a.yml"], { "a.yml": clean }, 0],
    ["0 with only warnings", ["a.yml"], { "a.yml": warned }, 0],
    ["1 with warnings under --strict", ["--strict", "a.yml"], { "a.yml": warned }, 1],
    ["1 with an error", ["a.yml", "b.yml"], { "a.yml": clean, "b.yml": broken }, 1],
    ["2 for a file that does not parse", ["a.yml", "b.yml"], { "a.yml": broken, "b.yml": "steps: [\n" }, 2],
    ["2 for a file that cannot be read", ["a.yml", "missing.yml"], { "a.yml": clean }, 2],
  ])("%s", async (_name, args, files, status) => {
    expect((await run(["lint", ...args], files)).status).toBe(status);
  });

  test("an unreadable file is named on stderr in the commands' error format; the others are still checked", async () => {
    const result = await run(["lint", "missing.yml", "b.yml"], { "b.yml": broken });
    expect(result.stderr).toMatch(
      /^agent-stack-k8s lint: missing\.yml: cannot read it: ENOENT.* \(ASK_INPUT_UNREADABLE\)\n$/,
    );
    expect(result.stdout).toContain("b.yml:3:5: error:");
  });

  test("a YAML syntax error is a problem line too", async () => {
    const result = await run(["lint", "a.yml"], { "a.yml": "steps:\n  - command: [a\n" });
    expect(result.stdout).toMatch(/^a\.yml:3:1: error: not valid YAML: .* \(ASK_INPUT_INVALID\)\n$/);
  });
});

describe("usage", () => {
  test("no file is a usage error", async () => {
    const result = await run(["lint"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      "agent-stack-k8s lint: give the pipeline files to check: agent-stack-k8s lint FILE... (see agent-stack-k8s lint --help) (ASK_CLI_USAGE)\n",
    );
  });

  test("upstream's `lint -f pipeline.yml` habit gets a pointed message", async () => {
    const result = await run(["lint", "-f", "pipeline.yml"], { "pipeline.yml": clean });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(
      "pipeline.yml is a pipeline, not a configuration file (-f is --config, as in the upstream controller): give it with the file as an argument: agent-stack-k8s lint pipeline.yml",
    );
  });

  test("--format accepts text and json only", async () => {
    const result = await run(["lint", "--format", "xml", "a.yml"], { "a.yml": clean });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('invalid value "xml" for --format: expected one of text, json');
  });

  test("--help lists its flags and what it checks", async () => {
    const result = await run(["lint", "--help"]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Usage: agent-stack-k8s lint \[flags\] FILE\.\.\.\n/);
    for (const flag of [
      "--strict",
      "--format text|json",
      "--pod-template FILE",
      "--no-interpolation",
      "--env NAME=VALUE",
      "-f, --config",
    ]) {
      expect(result.stdout).toContain(flag);
    }
  });
});

describe("flags that change what is checked", () => {
  test("--pod-template and --config give lint the cluster's PodTemplates and resource classes", async () => {
    const pipeline =
      "steps:\n  - command: x\n    agents: {resource_class: big}\n    plugins:\n      - kubernetes: {podTemplate: gpu}\n";
    const template =
      "apiVersion: v1\nkind: PodTemplate\nmetadata: {name: gpu}\ntemplate:\n  spec:\n    containers: [{name: c, image: 'cuda:12'}]\n";
    const config = "resource-classes:\n  big:\n    resource: {limits: {memory: 8Gi}}\n";
    const without = await run(["lint", "p.yml"], { "p.yml": pipeline });
    expect(without.stdout).toContain("(ASK_POD_TEMPLATE_FETCH)");
    const withContext = await run(["lint", "p.yml", "--pod-template", "t.yml", "-f", "c.yml"], {
      "p.yml": pipeline,
      "t.yml": template,
      "c.yml": config,
    });
    expect(withContext.stdout).toBe("");
    expect(withContext.status).toBe(0);
  });

  test("--env sets the variables pipeline upload would have", async () => {
    const pipeline = "steps:\n  - command: deploy\n    image: ${IMAGE?}\n";
    expect((await run(["lint", "p.yml"], { "p.yml": pipeline })).stdout).toContain(
      "$IMAGE: not set (ASK_PIPELINE_INTERPOLATION)",
    );
    expect((await run(["lint", "p.yml", "--env", "IMAGE=alpine:3"], { "p.yml": pipeline })).status).toBe(0);
  });
});

test("the executable lints real files and exits with the status", async () => {
  const files = [
    "pipelines/agent-stack-k8s-integration-failing/invalid2.yaml",
    "pipelines/buildkite-templates/golang-ci.yml",
  ];
  const failure = await promisify(execFile)(
    process.execPath,
    [`${ROOT}bin/agent-stack-k8s.js`, "lint", ...files.map((file) => `${FIXTURES}${file}`)],
    { timeout: 20_000 },
  ).catch((error: { code: number; stdout: string }) => error);
  expect("code" in failure ? failure.code : 0).toBe(1);
  expect(failure.stdout).toContain("invalid2.yaml:14:28: error:");
});
