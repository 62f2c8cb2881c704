/**
 * Real pipelines (see test/fixtures/README.md): Buildkite's own and upstream's lint clean — no false
 * errors — and the ones upstream's tests expect to fail are found, with the code the job fails with.
 * `lint` and `render` agree: a job render would fail is a lint error with the same code, at the place
 * render names.
 */
import { describe, expect, test } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import { lintPipeline } from "../../src/lint/index.ts";
import { podTemplatesFrom } from "../../src/render/pod-templates.ts";
import { run } from "../support/cli.ts";
import {
  BUILDKITE_PIPELINES,
  CLUSTER_CONTEXT,
  fixtureFiles,
  readFixture,
  UPSTREAM_FAILING_PIPELINES,
  UPSTREAM_PIPELINES,
} from "../support/pipeline-fixtures.ts";
import { lines } from "./helpers.ts";

/** The cluster upstream's integration tests run in: its PodTemplate and resource class. */
const context = {
  config: loadConfig({
    args: ["--config", "c.yaml"],
    env: {},
    readFile: () => readFixture(CLUSTER_CONTEXT.config),
  }).config,
  podTemplates: podTemplatesFrom([{ path: "t.yaml", text: readFixture(CLUSTER_CONTEXT.podTemplates) }]),
  interpolate: true,
};

const lintFixture = (path: string, overrides: Partial<typeof context> = {}) =>
  lintPipeline(path, readFixture(path), { ...context, ...overrides });

describe("no false errors", () => {
  test.each(UPSTREAM_PIPELINES)("upstream's %s lints clean in the cluster it is written for", (path) => {
    expect(lines(lintFixture(path).problems)).toEqual([]);
  });

  test.each(BUILDKITE_PIPELINES.filter((path) => !path.endsWith("matrix.yml")))(
    "Buildkite's %s lints clean",
    (path) => {
      expect(lines(lintFixture(path).problems)).toEqual([]);
    },
  );

  test("Buildkite's matrix.yml: only the adjustment pipeline upload refuses (go-pipeline reads `with` as a value or a mapping, not a list)", () => {
    expect(lines(lintFixture("pipelines/buildkite-schema-tests/matrix.yml").problems)).toEqual([
      "15:17 error ASK_INPUT_INVALID steps[1].matrix.adjustments[0].with: expected one value for this single-dimension matrix, got a list; write one adjustment per value",
    ]);
  });

  test("without the cluster's PodTemplate or resource classes, lint says what it could not check", () => {
    expect(
      lines(
        lintFixture("pipelines/agent-stack-k8s-integration/podtemplate.yaml", {
          podTemplates: podTemplatesFrom([]),
        }).problems,
      ),
    ).toEqual([
      '9:24 error ASK_POD_TEMPLATE_FETCH step ":wave:": Error fetching podTemplate "integration-tests-pod-template": podtemplates "integration-tests-pod-template" not found (known from --pod-template: none)',
    ]);
    const withoutClasses = lintFixture("pipelines/agent-stack-k8s-integration/resource-class.yaml", {
      config: loadConfig({ args: [], env: {} }).config,
    });
    expect(withoutClasses.problems.map((problem) => `${problem.severity} ${problem.code}`)).toEqual([
      "warning ASK_RESOURCE_CLASS",
    ]);
  });
});

describe("upstream's pipelines that are meant to fail", () => {
  test.each([
    [
      "invalid.yaml",
      '14:27 error ASK_LINT_API_SERVER step ":wave:": the API server would reject the Job: spec.template.spec.containers[0].volumeMounts[0].name: Not found: "this-doesnt-exist"',
    ],
    [
      "invalid2.yaml",
      '14:28 error ASK_PLUGIN_DECODE step ":wave:": agent-stack-k8s failed to parse the job: failed parsing Kubernetes plugin: json: cannot unmarshal number into Go struct field EnvVar.podSpec.containers.env.value of type string (at plugins[0].kubernetes.podSpec.containers[0].env[0].value)',
    ],
    [
      "invalid-image-name.yaml",
      '9:24 error ASK_IMAGE_REFERENCE step ":x:": invalid reference format "buildkite/agent:latest plus some extra junk" for container "container-0"',
    ],
    [
      "podspecpatch-agent.yaml",
      '15:17 error ASK_PATCH_COMMAND_MODIFICATION step ":x:": agent-stack-k8s failed to build a podSpec for the job: failed to apply podSpec patch from k8s plugin: for the agent container, modifying container commands or args via podSpecPatch is not supported',
    ],
  ])("%s: the one problem upstream's test expects", (name, expected) => {
    const path = UPSTREAM_FAILING_PIPELINES.find((candidate) => candidate.endsWith(`/${name}`)) as string;
    expect(lines(lintFixture(path).problems)).toEqual([expected]);
  });

  test("upstream's own CI pipeline writes `\\$` before a regex's end: pipeline upload would fail to interpolate it", () => {
    const path = "pipelines/agent-stack-k8s-ci/pipeline.yaml";
    expect(lines(lintFixture(path).problems)).toEqual(
      [216, 228, 239, 260].map(
        (line) =>
          `${line}:9 error ASK_PIPELINE_INTERPOLATION Expected identifier to start with a letter, got / (write $$ for a literal $)`,
      ),
    );
    expect(lintFixture(path, { interpolate: false }).problems).toEqual([]);
  });
});

describe("lint and render agree", () => {
  const paths = [...UPSTREAM_PIPELINES, ...UPSTREAM_FAILING_PIPELINES, ...BUILDKITE_PIPELINES];
  const files = fixtureFiles([...paths, CLUSTER_CONTEXT.config, CLUSTER_CONTEXT.podTemplates]);
  const contextFlags = ["--config", CLUSTER_CONTEXT.config, "--pod-template", CLUSTER_CONTEXT.podTemplates];

  test.each(paths)(
    "%s: every job render fails is a lint error with its code, where render says",
    async (path) => {
      const rendered = await run(["render", "--pipeline", path, ...contextFlags], files);
      const failures = [...rendered.stderr.matchAll(/^(\S+:\d+:\d+): error: .* \((ASK_[A-Z_]+)\)$/gm)].map(
        ([, place, code]) => `${place} ${code}`,
      );
      const linted = await run(["lint", path, ...contextFlags], files);
      const errors = [...linted.stdout.matchAll(/^(\S+:\d+:\d+): error: .* \((ASK_[A-Z_]+)\)$/gm)].map(
        ([, place, code]) => `${place} ${code}`,
      );
      for (const failure of failures) expect(errors).toContain(failure);
      // A pipeline render refuses as a whole (exit 2) is an error for lint too.
      if (rendered.status === 2) expect(linted.status).not.toBe(0);
      if (linted.status === 0) expect(rendered.status).toBe(0);
    },
  );
});
