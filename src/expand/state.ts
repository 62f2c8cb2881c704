/**
 * What every expansion step reads (the inputs, never changed) and writes (the draft of the Job being
 * built). Each step is a function of both; `index.ts` runs them in the order of podspec-expansion.md §2.
 */

import type { BuildkiteJob } from "../buildkite/job.ts";
import type { KubernetesPlugin } from "../buildkite/kubernetes-plugin.ts";
import type { Config } from "../config/types.ts";
import type { Container, PodSpec, VolumeMount } from "../generated/k8s-types.ts";

/** Looks a PodTemplate up by name in the controller namespace and gives its `.template.spec`. */
export type PodTemplateResolver = (name: string) => PodSpec;

export interface ExpansionInputs {
  readonly job: BuildkiteJob;
  /** The job's env, `K=V` entries split at the first `=`. */
  readonly env: ReadonlyMap<string, string>;
  readonly plugin: KubernetesPlugin | undefined;
  readonly config: Config;
  /** The stack's version, for the `k8s:agent-stack-version` agent tag. */
  readonly version: string;
  readonly podTemplates: PodTemplateResolver;
  /** A Job created by another tool: its own pod template spec, the starting PodSpec (design.md). */
  readonly ownPodSpec: PodSpec | undefined;
}

export interface JobSpecScalars {
  backoffLimit: number;
  ttlSecondsAfterFinished: number;
  activeDeadlineSeconds: number;
}

export interface Draft {
  podSpec: PodSpec;
  /** One map each, shared by the Job and its pod template. */
  labels: Record<string, string>;
  annotations: Record<string, string>;
  jobSpec: JobSpecScalars;
  skipCheckout: boolean;
  /** `M`: the workspace mount and the plugin's `extraVolumeMounts`; every container gets a copy. */
  workspaceMounts: VolumeMount[];
  /** 1 when a checkout container runs, else 0: command containers' ids start after it. */
  systemCount: number;
  /** The base pod's user and group, which the checkout and copy-agent scripts run as. */
  podUser: { uid: number; gid: number };
  /** `copy-agent` and the image checks, which go before the user's init containers. */
  stackInitContainers: Container[];
  /** Agent tags in a fixed order: `k8s:agent-stack-version`, then the agent query rules. */
  agentTags: Array<[string, string]>;
  /** Things the user should know that do not fail the job (ignored tags, unknown plugin fields…). */
  warnings: string[];
}

export type ExpansionStep = (draft: Draft, inputs: ExpansionInputs) => void;

export function newDraft(): Draft {
  return {
    podSpec: { containers: [] },
    labels: {},
    annotations: {},
    jobSpec: { backoffLimit: 0, ttlSecondsAfterFinished: 0, activeDeadlineSeconds: 0 },
    skipCheckout: false,
    workspaceMounts: [],
    systemCount: 1,
    podUser: { uid: 0, gid: 0 },
    stackInitContainers: [],
    agentTags: [],
    warnings: [],
  };
}
