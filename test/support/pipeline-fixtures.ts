/**
 * The real pipelines vendored under `test/fixtures/` (their sources are in its README): Buildkite's
 * own schema test pipelines and templates, and upstream's integration-test pipelines.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;

export function readFixture(path: string): string {
  return readFileSync(join(FIXTURES, path), "utf8");
}

function filesIn(directory: string): string[] {
  return readdirSync(join(FIXTURES, directory))
    .sort()
    .map((name) => `${directory}/${name}`);
}

/** Pipelines Buildkite publishes as valid: its schema's test pipelines and its templates. */
export const BUILDKITE_PIPELINES = [
  ...filesIn("pipelines/buildkite-schema-tests"),
  ...filesIn("pipelines/buildkite-templates"),
];

/** Upstream's integration-test pipelines that are meant to run. */
export const UPSTREAM_PIPELINES = filesIn("pipelines/agent-stack-k8s-integration");

/** Upstream's integration-test pipelines that are meant to fail, and how. */
export const UPSTREAM_FAILING_PIPELINES = filesIn("pipelines/agent-stack-k8s-integration-failing");

/** What upstream's pipelines need from their cluster: a PodTemplate, a resource class. */
export const CLUSTER_CONTEXT = {
  podTemplates: "context/podtemplates.yaml",
  config: "context/resource-classes.yaml",
} as const;

/** Every fixture file as `readInput` would see it, by its path under `test/fixtures/`. */
export function fixtureFiles(paths: readonly string[]): Record<string, string> {
  return Object.fromEntries(paths.map((path) => [path, readFixture(path)]));
}
