/**
 * `BUILDKITE_PLUGINS`: the JSON Buildkite puts in a job's env, an array of single-key objects in the
 * step's plugin order. The kubernetes plugin configures the pod; every other plugin is left to the
 * agent (upstream HEAD no longer copies them into the pod).
 */
import { AgentStackError } from "../errors.ts";
import { isPlainObject } from "../k8s/decode.ts";

/** The name Buildkite gives `kubernetes:` in pipeline YAML. A versioned name does not match, as upstream. */
export const KUBERNETES_PLUGIN_NAME = "github.com/buildkite-plugins/kubernetes-buildkite-plugin";

export interface PluginEntry {
  /** Position in `BUILDKITE_PLUGINS`, the same as in the step's `plugins` list. */
  readonly index: number;
  readonly name: string;
  readonly config: unknown;
}

export interface SplitPlugins {
  /** Each kubernetes plugin entry, in order (several are merged, later ones winning). */
  readonly kubernetes: readonly PluginEntry[];
  readonly others: readonly PluginEntry[];
}

const NONE: SplitPlugins = { kubernetes: [], others: [] };

export function splitPlugins(buildkitePlugins: string | undefined): SplitPlugins {
  // HEAD treats an empty value like a missing one; v0.26.0 failed the job on it.
  if (buildkitePlugins === undefined || buildkitePlugins === "") return NONE;
  const parsed = parsePluginsJson(buildkitePlugins);
  if (parsed === null) return NONE;
  if (!Array.isArray(parsed)) {
    throw new AgentStackError(
      "ASK_PLUGINS_INVALID",
      `failed parsing plugins: expected a JSON array of plugin objects, got ${describeJson(parsed)}`,
      { path: "BUILDKITE_PLUGINS" },
    );
  }
  const kubernetes: PluginEntry[] = [];
  const others: PluginEntry[] = [];
  parsed.forEach((element: unknown, index) => {
    const entry = pluginEntry(element, index);
    (entry.name === KUBERNETES_PLUGIN_NAME ? kubernetes : others).push(entry);
  });
  return { kubernetes, others };
}

function parsePluginsJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AgentStackError("ASK_PLUGINS_INVALID", `failed parsing plugins: ${(error as Error).message}`, {
      path: "BUILDKITE_PLUGINS",
      cause: error,
    });
  }
}

function pluginEntry(element: unknown, index: number): PluginEntry {
  const path = `BUILDKITE_PLUGINS[${index}]`;
  if (element !== null && !isPlainObject(element)) {
    throw new AgentStackError(
      "ASK_PLUGINS_INVALID",
      `failed parsing plugins: ${path} is ${describeJson(element)}, expected an object with the plugin's name as its only key`,
      { path },
    );
  }
  const keys = Object.keys(element ?? {});
  if (keys.length !== 1) {
    throw new AgentStackError(
      "ASK_PLUGIN_INVALID",
      `found invalid plugin: ${JSON.stringify(element)} (${path} has ${keys.length} keys; a plugin entry has exactly one, its name)`,
      { path },
    );
  }
  const name = keys[0]!;
  return { index, name, config: (element as Record<string, unknown>)[name] };
}

function describeJson(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return `a ${typeof value} (${JSON.stringify(value)})`;
}
