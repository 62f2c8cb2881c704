/**
 * The parse stage (podspec-expansion.md §1.2): the job's env and its kubernetes plugin. Failures here
 * fail the Buildkite job with `agent-stack-k8s failed to parse the job: …`.
 */
import { type BuildkiteJob, jobEnv } from "../buildkite/job.ts";
import { decodeKubernetesPlugin, type KubernetesPlugin } from "../buildkite/kubernetes-plugin.ts";
import { splitPlugins } from "../buildkite/plugins.ts";
import type { Config } from "../config/types.ts";
import { AgentStackError } from "../errors.ts";

export interface ParsedJob {
  readonly env: ReadonlyMap<string, string>;
  readonly plugin: KubernetesPlugin | undefined;
  readonly warnings: readonly string[];
}

export function parseJob(job: BuildkiteJob, config: Pick<Config, "prohibitKubernetesPlugin">): ParsedJob {
  const env = jobEnv(job);
  const plugins = splitPlugins(env.get("BUILDKITE_PLUGINS"));
  if (plugins.kubernetes.length > 0 && config.prohibitKubernetesPlugin) {
    throw new AgentStackError(
      "ASK_PLUGIN_PROHIBITED",
      "the kubernetes plugin is prohibited by this controller, but was configured on this job",
      { path: `plugins[${plugins.kubernetes[0]!.index}]` },
    );
  }
  const { plugin, warnings } = decodeKubernetesPlugin(plugins.kubernetes);
  return { env, plugin, warnings };
}
