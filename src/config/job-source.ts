/**
 * Which job source the launcher uses, and why, in words: for its start-up log line and its `--help`.
 * `job-source` chooses; left empty, an API token (`buildkite-token`) means GraphQL, as installs made
 * before the Stacks API expect, and no API token means the Stacks API with the agent token alone.
 */
import { type ConfigSource, describeSource } from "./problems.ts";
import type { Config, JobSourceKind } from "./types.ts";

export const JOB_SOURCE_TITLES: Readonly<Record<JobSourceKind, string>> = {
  stacks: "Buildkite's Stacks API, with the agent token alone",
  graphql: "Buildkite's GraphQL API, with buildkite-token and org",
};

/** The rule, for `launcher --help`. */
export const JOB_SOURCE_RULE = [
  "Job source: stacks (Buildkite's Stacks API, with the agent token of agent-token-secret alone), unless",
  "buildkite-token is set: then graphql (the GraphQL API, with buildkite-token and org). job-source chooses one",
  "explicitly. At start the launcher logs which one it uses and why.",
].join("\n");

/** Why `config.jobSource` is what it is: `job-source is graphql (from file x.yaml:3)`… */
export function jobSourceReason(
  config: Pick<Config, "jobSource">,
  sources: { readonly "job-source": ConfigSource; readonly "buildkite-token": ConfigSource },
): string {
  const chosen = sources["job-source"];
  if (chosen.kind !== "default") return `job-source is ${config.jobSource} (from ${describeSource(chosen)})`;
  return config.jobSource === "graphql"
    ? `job-source is empty and buildkite-token is set (from ${describeSource(sources["buildkite-token"])})`
    : "job-source is empty and buildkite-token is not set";
}
