import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { jobEnv, parseBuildkiteJob } from "../../src/buildkite/job.ts";
import { pipelineToJobs } from "../../src/buildkite/pipeline.ts";
import { envOf, uuidCounter } from "./pipeline-helpers.ts";

const pipelineYaml = readFileSync(new URL("../../examples/pipeline.yaml", import.meta.url), "utf8");
const jobJson: unknown = JSON.parse(
  readFileSync(new URL("../../examples/job.json", import.meta.url), "utf8"),
);

// The build env behind examples/job.json.
const BUILD_ENV = {
  BUILDKITE_BRANCH: "main",
  BUILDKITE_BUILD_ID: "01938a6e-2f51-4d7c-8b0e-6a3c9d1f4e27",
  BUILDKITE_BUILD_NUMBER: "1514",
  BUILDKITE_BUILD_URL: "https://buildkite.com/acme-inc/widgets/builds/1514",
  BUILDKITE_COMMIT: "83a20ec058e2fb00e7fa4558c4c6e81e2dcf253d",
  BUILDKITE_MESSAGE: "Run the integration suite against Postgres 16",
  BUILDKITE_ORGANIZATION_SLUG: "acme-inc",
  BUILDKITE_PIPELINE_DEFAULT_BRANCH: "main",
  BUILDKITE_PIPELINE_SLUG: "widgets",
  BUILDKITE_REPO: "git@github.com:acme-inc/widgets.git",
};

describe("examples/pipeline.yaml", () => {
  const jobs = pipelineToJobs(pipelineYaml, {
    newUuid: uuidCounter(),
    defaultAgentQueryRules: ["queue=kubernetes"],
    buildEnv: BUILD_ENV,
    source: "examples/pipeline.yaml",
  });

  it("gives one job per command step, across the wait and the group", () => {
    expect(jobs.map((job) => envOf(job).BUILDKITE_STEP_KEY)).toEqual([
      "vet",
      "unit-tests",
      "integration-tests",
    ]);
    expect(jobs.every((job) => job.agentQueryRules.join() === "queue=kubernetes")).toBe(true);
  });

  it("sets BUILDKITE_IMAGE only on the step with an image", () => {
    expect(jobs.map((job) => envOf(job).BUILDKITE_IMAGE)).toEqual([
      undefined,
      "golang:1.23-bookworm",
      undefined,
    ]);
  });

  it("carries the kubernetes plugin with podSpec, checkout, sidecars and podSpecPatch", () => {
    const plugins: unknown = JSON.parse(envOf(jobs[2]!).BUILDKITE_PLUGINS!);
    expect(plugins).toEqual([
      {
        "github.com/buildkite-plugins/kubernetes-buildkite-plugin": {
          checkout: { cloneFlags: "--depth=1 --filter=blob:none", fetchFlags: "--depth=1" },
          podSpec: {
            containers: [
              expect.objectContaining({ name: "tests", image: "golang:1.23-bookworm" }),
              expect.objectContaining({ name: "lint", image: "golangci/golangci-lint:v1.61.0" }),
            ],
          },
          sidecars: [expect.objectContaining({ name: "postgres", image: "postgres:16-alpine" })],
          podSpecPatch: { containers: [{ name: "tests", env: [{ name: "GOMAXPROCS", value: "2" }] }] },
        },
      },
    ]);
  });

  it("gives jobs that parseBuildkiteJob accepts unchanged", () => {
    for (const job of jobs) expect(parseBuildkiteJob(JSON.parse(JSON.stringify(job)), "render")).toEqual(job);
  });
});

describe("examples/job.json", () => {
  it("is a valid JobTypeCommand", () => {
    const job = parseBuildkiteJob(jobJson, "examples/job.json");
    expect(job.agentQueryRules).toEqual(["queue=kubernetes"]);
    const env = jobEnv(job);
    for (const name of [
      "BUILDKITE_BUILD_URL",
      "BUILDKITE_BRANCH",
      "BUILDKITE_REPO",
      "BUILDKITE_PIPELINE_SLUG",
      "BUILDKITE_STEP_KEY",
    ]) {
      expect(env.get(name), name).toBeTruthy();
    }
    expect(env.get("BUILDKITE_PLUGINS")).toContain(
      '"github.com/buildkite-plugins/kubernetes-buildkite-plugin":',
    );
  });

  it("is the job Buildkite makes of the example pipeline's integration step", () => {
    const job = parseBuildkiteJob(jobJson, "examples/job.json");
    const jobs = pipelineToJobs(pipelineYaml, {
      newUuid: () => job.uuid,
      defaultAgentQueryRules: ["queue=kubernetes"],
      buildEnv: BUILD_ENV,
    });
    expect(
      jobs.find((candidate) => jobEnv(candidate).get("BUILDKITE_STEP_KEY") === "integration-tests"),
    ).toEqual(job);
  });
});
