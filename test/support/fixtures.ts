/** Builders shared by the expansion, admission and render tests. */
import type { BuildkiteJob } from "../../src/buildkite/job.ts";
import { loadConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/types.ts";
import {
  type ExpandOptions,
  type Expansion,
  expandJob,
  type PodTemplateResolver,
} from "../../src/expand/index.ts";
import type { Container, EnvVar, Job, PodSpec } from "../../src/generated/k8s-types.ts";
import { createReview, renderJob as renderThroughAdmission } from "../../src/render/render-job.ts";

export const TEST_VERSION = "0.0.0-test";
export const KUBERNETES_PLUGIN = "github.com/buildkite-plugins/kubernetes-buildkite-plugin";

/** The defaults, with the controller image the upstream examples use (podspec-expansion.md §8). */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return { ...loadConfig({ args: [], env: {} }).config, image: "buildkite/agent:latest", ...overrides };
}

export interface JobOptions {
  readonly uuid?: string;
  readonly command?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly agentQueryRules?: readonly string[];
  readonly priority?: number;
  /** The kubernetes plugin's config; becomes BUILDKITE_PLUGINS. */
  readonly plugin?: unknown;
  /** Extra entries of BUILDKITE_PLUGINS after the kubernetes plugin. */
  readonly otherPlugins?: ReadonlyArray<Record<string, unknown>>;
}

export function testJob(options: JobOptions = {}): BuildkiteJob {
  const env: Record<string, string> = { ...options.env };
  const plugins = [
    ...(options.plugin === undefined ? [] : [{ [KUBERNETES_PLUGIN]: options.plugin }]),
    ...(options.otherPlugins ?? []),
  ];
  if (plugins.length > 0) env.BUILDKITE_PLUGINS = JSON.stringify(plugins);
  return {
    uuid: options.uuid ?? "0195a2b0-0000-4000-8000-000000000001",
    command: options.command ?? "echo hello world",
    env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
    agentQueryRules: [...(options.agentQueryRules ?? ["queue=kubernetes"])],
    priority: { number: options.priority ?? 0 },
  };
}

export function expand(
  job: BuildkiteJob,
  config: Config = testConfig(),
  options: Partial<ExpandOptions> = {},
): Expansion {
  return expandJob({ job, config, version: TEST_VERSION, ...options });
}

/** The whole path of the cluster: skeleton, AdmissionReview, admission, the JSON Patch applied. */
export function renderJob(
  job: BuildkiteJob,
  config: Config = testConfig(),
  podTemplates?: PodTemplateResolver,
): Job {
  const result = renderThroughAdmission(job, {
    config,
    version: TEST_VERSION,
    ...(podTemplates ? { podTemplates } : {}),
  });
  if (!result.ok) throw new Error(result.message);
  return result.job;
}

export function admissionReview(object: Job, uid = "705ab4f5-6393-11e8-b7cc-42010a800002") {
  return createReview(object, uid);
}

export function containerNamed(spec: PodSpec, name: string): Container {
  const found = [...spec.containers, ...(spec.initContainers ?? [])].find(
    (container) => container.name === name,
  );
  if (!found)
    throw new Error(`no container ${name} in ${JSON.stringify(spec.containers.map((c) => c.name))}`);
  return found;
}

export function names(containers: readonly Container[] | undefined): string[] {
  return (containers ?? []).map((container) => container.name);
}

/** Plain `name=value` entries; `valueFrom` entries show as `name<-source`. */
export function envList(container: Container): string[] {
  return (container.env ?? []).map(describeEnv);
}

export function envValue(container: Container, name: string): string | undefined {
  return (container.env ?? []).findLast((entry) => entry.name === name)?.value;
}

function describeEnv(entry: EnvVar): string {
  if (entry.valueFrom) return `${entry.name}<-${JSON.stringify(entry.valueFrom)}`;
  return `${entry.name}=${entry.value ?? ""}`;
}

export function mounts(container: Container): string[] {
  return (container.volumeMounts ?? []).map((mount) => `${mount.name}@${mount.mountPath}`);
}
