/**
 * The expansion: a Buildkite job and the controller configuration become the Job's metadata and spec,
 * exactly as upstream HEAD builds them (podspec-expansion.md §2). Pure: no I/O, no clock, no
 * randomness; the PodTemplate lookup is the caller's.
 */

import type { BuildkiteJob } from "../buildkite/job.ts";
import type { Config } from "../config/types.ts";
import type { PodSpec } from "../generated/k8s-types.ts";
import { VERSION } from "../version.ts";
import { agentContainer } from "./agent-container.ts";
import { agentTags, resourceClass } from "./agent-tags.ts";
import { chooseBasePodSpec } from "./base-pod-spec.ts";
import { checkoutContainer } from "./checkout-container.ts";
import { commandContainers, defaultCommandContainer } from "./command-containers.ts";
import { copyAgentInitContainer } from "./copy-agent.ts";
import { imageChecks } from "./image-checks.ts";
import { assembleInitContainers } from "./init-containers.ts";
import { jobSpecScalars } from "./job-spec.ts";
import { jobMetadata } from "./metadata.ts";
import { parseJob } from "./parse-job.ts";
import { podSpecPatches } from "./patches.ts";
import { sidecars } from "./sidecars.ts";
import { decideSkipCheckout, removeSkippedCheckout } from "./skip-checkout.ts";
import {
  type Draft,
  type ExpansionInputs,
  type ExpansionStep,
  newDraft,
  type PodTemplateResolver,
} from "./state.ts";
import { dedupeVolumeMounts } from "./volume-mount-dedupe.ts";
import { podVolumes, sharedMounts } from "./volumes.ts";

export type { PodTemplateResolver } from "./state.ts";

/** The steps, in the order of podspec-expansion.md §2; each names its section. */
export const EXPANSION_STEPS: ReadonlyArray<readonly [section: string, step: ExpansionStep]> = [
  ["2.0 base pod spec", chooseBasePodSpec],
  ["2.1 skip checkout?", decideSkipCheckout],
  ["2.2 metadata", jobMetadata],
  ["2.3 job spec scalars", jobSpecScalars],
  ["2.4 volumes", podVolumes],
  ["2.5 shared mounts", sharedMounts],
  ["2.6 command containers", commandContainers],
  ["2.7 default command container", defaultCommandContainer],
  ["2.8 sidecars", sidecars],
  ["2.9 agent tags", agentTags],
  ["2.9 resource class", resourceClass],
  ["2.10 agent container", agentContainer],
  ["2.11 checkout container", checkoutContainer],
  ["2.12 copy-agent", copyAgentInitContainer],
  ["2.13 image checks", imageChecks],
  ["2.14 init containers", assembleInitContainers],
  ["2.15 patches", podSpecPatches],
  ["2.16 skip checkout", removeSkippedCheckout],
  ["2.17 volume-mount dedupe", dedupeVolumeMounts],
];

export interface ExpandOptions {
  readonly job: BuildkiteJob;
  readonly config: Config;
  /** Required when a step names a `podTemplate`; without one such steps fail with a clear error. */
  readonly podTemplates?: PodTemplateResolver;
  /** A Job created by another tool: its own pod template spec is the starting PodSpec. */
  readonly ownPodSpec?: PodSpec;
  readonly version?: string;
}

export interface Expansion {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly spec: {
    readonly backoffLimit: number;
    readonly ttlSecondsAfterFinished: number;
    readonly activeDeadlineSeconds: number;
  };
  readonly podSpec: PodSpec;
  readonly warnings: readonly string[];
}

/** Throws `AgentStackError` with the code and message the Buildkite job would be failed with. */
export function expandJob(options: ExpandOptions): Expansion {
  const parsed = parseJob(options.job, options.config);
  const inputs: ExpansionInputs = {
    job: options.job,
    env: parsed.env,
    plugin: parsed.plugin,
    config: options.config,
    version: options.version ?? VERSION,
    podTemplates: options.podTemplates ?? noPodTemplates,
    ownPodSpec: options.ownPodSpec,
  };
  const draft: Draft = newDraft();
  draft.warnings.push(...parsed.warnings);
  for (const [, step] of EXPANSION_STEPS) step(draft, inputs);
  return {
    labels: sortedRecord(draft.labels),
    annotations: sortedRecord(draft.annotations),
    spec: draft.jobSpec,
    podSpec: draft.podSpec,
    warnings: draft.warnings,
  };
}

function noPodTemplates(name: string): PodSpec {
  throw new Error(`no PodTemplate source is configured, so ${JSON.stringify(name)} cannot be looked up`);
}

/** Maps print in key order, as Go's encoder prints them, whatever order they were written in. */
function sortedRecord(record: Record<string, string>): Record<string, string> {
  const sorted: Record<string, string> = {};
  for (const key of Object.keys(record).sort()) {
    // A `__proto__` key (from a user's metadata) stays data, as it does in `record`.
    if (key === "__proto__") Object.defineProperty(sorted, key, { value: record[key], enumerable: true });
    else sorted[key] = record[key] as string;
  }
  return sorted;
}
