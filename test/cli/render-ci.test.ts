// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are pipeline text to interpolate, not templates.
/** `render` used as a preview in CI: output that can be diffed, messages that point at the step, no partial output. */
import { describe, expect, test } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { run } from "../support/cli.ts";
import { expectValidJob } from "../support/k8s-validate.ts";
import { BUILDKITE_PIPELINES, fixtureFiles, UPSTREAM_PIPELINES } from "../support/pipeline-fixtures.ts";

const jobsOf = (stdout: string) => parseAllDocuments(stdout).map((document) => document.toJS());
const uuidOf = (job: { metadata: { labels: Record<string, string> } }) =>
  job.metadata.labels["buildkite.com/job-uuid"];
const envOf = (job: {
  spec: {
    template: { spec: { containers: Array<{ name: string; env: Array<{ name: string; value: string }> }> } };
  };
}) => Object.fromEntries(job.spec.template.spec.containers[0]!.env.map((entry) => [entry.name, entry.value]));

describe("the same input gives the same output", () => {
  const pipeline = "steps:\n  - command: a\n  - command: b\n    parallelism: 2\n";

  test("two renders of a pipeline are identical, and every job has its own uuid", async () => {
    const first = await run(["render", "--pipeline", "p.yaml"], { "p.yaml": pipeline });
    const second = await run(["render", "--pipeline", "p.yaml"], { "p.yaml": pipeline });
    expect(first.status).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    const uuids = jobsOf(first.stdout).map(uuidOf);
    expect(uuids).toHaveLength(3);
    expect(new Set(uuids).size).toBe(3);
    for (const uuid of uuids)
      expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  test("uuids come from the file and the step's position; --uuid-seed replaces the file", async () => {
    const files = { "p.yaml": pipeline, "q.yaml": pipeline };
    const p = jobsOf((await run(["render", "--pipeline", "p.yaml"], files)).stdout).map(uuidOf);
    const q = jobsOf((await run(["render", "--pipeline", "q.yaml"], files)).stdout).map(uuidOf);
    const seeded = jobsOf(
      (await run(["render", "--pipeline", "q.yaml", "--uuid-seed", "p.yaml"], files)).stdout,
    ).map(uuidOf);
    expect(q).not.toEqual(p);
    expect(seeded).toEqual(p);
    // Adding a step after the others leaves their uuids alone.
    const longer = jobsOf(
      (await run(["render", "--pipeline", "p.yaml"], { "p.yaml": `${pipeline}  - command: c\n` })).stdout,
    ).map(uuidOf);
    expect(longer.slice(0, 3)).toEqual(p);
  });

  test("every upstream integration pipeline and Buildkite example renders to valid Jobs, twice the same", async () => {
    const paths = [...UPSTREAM_PIPELINES, ...BUILDKITE_PIPELINES].filter(
      (path) =>
        !path.endsWith("podtemplate.yaml") &&
        !path.endsWith("resource-class.yaml") &&
        !path.endsWith("matrix.yml"),
    );
    const files = fixtureFiles(paths);
    for (const path of paths) {
      const result = await run(["render", "--pipeline", path], files);
      expect(result.stderr.replace(/.*no command steps.*\n/, ""), path).toBe("");
      expect(result.status, path).toBe(0);
      for (const job of jobsOf(result.stdout)) expectValidJob(job);
      expect((await run(["render", "--pipeline", path], files)).stdout).toBe(result.stdout);
    }
  });
});

describe("messages name the step and where it is", () => {
  const plugin = (image: string) =>
    `    plugins:\n      - kubernetes:\n          podSpec:\n            containers:\n              - image: ${image}\n`;

  test.each([
    [
      "its key",
      `steps:\n  - key: build\n    label: Build\n${plugin("BAD")}`,
      'p.yaml:8:24: error: step "build" would be failed',
    ],
    [
      "its label",
      `steps:\n  - label: Build\n${plugin("BAD")}`,
      'p.yaml:7:24: error: step "Build" would be failed',
    ],
    [
      "its place",
      `steps:\n  - command: x\n${plugin("BAD")}`,
      "p.yaml:7:24: error: step steps[0] would be failed",
    ],
  ])(
    "a failing step is named by %s, at the line and column of the problem",
    async (_name, pipeline, expected) => {
      const result = await run(["render", "--pipeline", "p.yaml"], { "p.yaml": pipeline });
      expect(result.status).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr).toContain(expected);
    },
  );

  test("a job of a parallel step is named with its place among the step's jobs", async () => {
    const pipeline = `steps:\n  - key: t\n    parallelism: 2\n${plugin("BAD")}`;
    const result = await run(["render", "--pipeline", "p.yaml"], { "p.yaml": pipeline });
    expect(result.stderr).toContain('step "t" (parallel job 1 of 2) would be failed');
    expect(result.stderr).toContain('step "t" (parallel job 2 of 2) would be failed');
    expect(result.stderr).toContain("2 of 2 jobs would be failed; nothing was printed");
  });

  test("a pipeline of the wrong shape names the file, line and column", async () => {
    const result = await run(["render", "--pipeline", "p.yaml"], { "p.yaml": "steps:\n  - command: [1]\n" });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(
      "p.yaml:2:15: steps[0].command[0]: expected a command string, got the number 1",
    );
  });

  test("YAML that does not parse names the line and column", async () => {
    const result = await run(["render", "--pipeline", "p.yaml"], { "p.yaml": "steps:\n  - command: [a\n" });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/agent-stack-k8s render: p\.yaml: \d+:\d+: not valid YAML/);
  });
});

describe("a pipeline without command steps", () => {
  const pipeline = "steps:\n  - wait\n  - block: Release\n  - trigger: deploy\n";

  test("says so on stderr and prints nothing", async () => {
    const result = await run(["render", "--pipeline", "p.yaml"], { "p.yaml": pipeline });
    expect(result.status).toBe(0);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe("p.yaml: the pipeline has no command steps, so no Job to render\n");
  });

  test("prints an empty List with -o json", async () => {
    const result = await run(["render", "--pipeline", "p.yaml", "-o", "json"], { "p.yaml": pipeline });
    expect(JSON.parse(result.stdout)).toEqual({ apiVersion: "v1", kind: "List", items: [] });
  });
});

describe("interpolation, as buildkite-agent pipeline upload does it", () => {
  const render = (pipeline: string, ...flags: string[]) =>
    run(["render", "--pipeline", "p.yaml", "-o", "json", ...flags], { "p.yaml": pipeline });

  test("$$ and \\$ are a literal $, ${VAR:-default} and the example build's variables are filled in", async () => {
    const pipeline = [
      "env:",
      "  TARGET: ${DEPLOY_TARGET:-staging}",
      "steps:",
      "  - command: echo $$HOME \\$PATH $${BRACED} on ${BUILDKITE_BRANCH} to $TARGET",
      "    key: deploy-${TARGET}",
    ].join("\n");
    const result = await render(pipeline);
    expect(result.stderr).toBe("");
    const job = JSON.parse(result.stdout);
    expect(envOf(job).BUILDKITE_COMMAND).toBe("echo $HOME $PATH ${BRACED} on main to staging");
    expect(job.metadata.annotations["buildkite.com/step-key"]).toBe("deploy-staging");
  });

  test("--env sets a build variable for interpolation", async () => {
    const result = await render(
      "steps:\n  - command: deploy ${DEPLOY_TARGET:-staging} from ${BUILDKITE_BRANCH}\n",
      "--env",
      "DEPLOY_TARGET=production",
      "--env",
      "BUILDKITE_BRANCH=release",
    );
    expect(envOf(JSON.parse(result.stdout)).BUILDKITE_COMMAND).toBe("deploy production from release");
  });

  test("--no-interpolation leaves the text as written", async () => {
    const result = await render("steps:\n  - command: echo $$HOME ${A:-b} $1\n", "--no-interpolation");
    expect(result.status).toBe(0);
    expect(envOf(JSON.parse(result.stdout)).BUILDKITE_COMMAND).toBe("echo $$HOME ${A:-b} $1");
  });

  test("text pipeline upload cannot interpolate is refused with its place, as the upload would fail", async () => {
    const result = await render("steps:\n  - command: echo $1\n  - command: ${NEEDED?is required}\n");
    expect(result.status).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(
      "p.yaml:2:14: Expected identifier to start with a letter, got 1 (write $$ for a literal $)",
    );
    expect(result.stderr).toContain("p.yaml:3:14: $NEEDED: is required");
    expect(result.stderr).toContain("(ASK_PIPELINE_INTERPOLATION)");
  });
});

describe("flags and configuration meant for something else", () => {
  test("-f with a pipeline says to use --pipeline (-f is --config, as upstream's controller has it)", async () => {
    const result = await run(["render", "-f", "pipeline.yml"], {
      "pipeline.yml": "steps:\n  - command: x\n",
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      "agent-stack-k8s render: pipeline.yml is a pipeline, not a configuration file (-f is --config, as in the upstream controller): give it with --pipeline pipeline.yml (see agent-stack-k8s render --help) (ASK_CLI_USAGE)\n",
    );
  });

  test("--file says to use --pipeline", async () => {
    const result = await run(["render", "--file", "pipeline.yml"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("--file is not a flag of render: give the pipeline with --pipeline FILE");
  });

  test("a pipeline given as an argument says to use --pipeline", async () => {
    const result = await run(["render", "pipeline.yml"]);
    expect(result.stderr).toContain(
      'unexpected argument "pipeline.yml"; a pipeline is given with --pipeline pipeline.yml',
    );
  });

  test("flags only other commands use are refused", async () => {
    const result = await run(["render", "--org", "acme", "--max-in-flight", "3", "--job", "j.json"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      "agent-stack-k8s render: --org is a setting of agent-stack-k8s launcher; render does not use it (ASK_CLI_USAGE)\n" +
        "agent-stack-k8s render: --max-in-flight is a setting of agent-stack-k8s launcher; render does not use it (ASK_CLI_USAGE)\n",
    );
  });

  test("the stack's own configuration file, launcher keys and all, is accepted, and its environment too", async () => {
    const config = "org: acme\nbuildkite-token: secret\nmax-in-flight: 3\njob-prefix: ci-\n";
    const result = await run(
      ["render", "--config", "config.yaml", "--pipeline", "p.yaml"],
      { "config.yaml": config, "p.yaml": "steps:\n  - command: x\n" },
      { BUILDKITE_TOKEN: "from-ci", MAX_IN_FLIGHT: "9" },
    );
    expect(result.status).toBe(0);
    expect(parse(result.stdout).metadata.name).toMatch(/^ci-/);
  });

  test("tags are the queue rules of steps that name none", async () => {
    const result = await run(["render", "--pipeline", "p.yaml", "--tags", "queue=linux,os=ubuntu"], {
      "p.yaml": "steps:\n  - command: x\n",
    });
    expect(result.status).toBe(0);
    const job = parse(result.stdout);
    expect(job.metadata.labels["tag.buildkite.com/queue"]).toBe("linux");
  });
});
