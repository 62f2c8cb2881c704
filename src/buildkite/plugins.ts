/**
 * `BUILDKITE_PLUGINS`: the JSON Buildkite puts in a job's env, an array of single-key objects in the
 * step's plugin order. The kubernetes plugin configures the pod; every other plugin is left to the
 * agent (upstream HEAD no longer copies them into the pod).
 */
import { AgentStackError } from "../errors.ts";
import { jsonSyntaxProblem, nestedDeeperThan } from "../json-text.ts";
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

/**
 * Deeper than any plugin configuration is written (a pod spec is about fifteen levels deep), and shallow
 * enough for every recursive walk of the kubernetes plugin to stay far from the stack's end.
 */
export const MAX_PLUGIN_DEPTH = 100;
/** Plugin names quoted in a message about an entry with several keys. */
const QUOTED_NAMES = 5;
const NAME_CHARACTERS = 100;

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
    // BUILDKITE_PLUGINS is a job env value: the parser's message must not quote it.
    throw new AgentStackError("ASK_PLUGINS_INVALID", `failed parsing plugins: ${jsonSyntaxProblem(error)}`, {
      path: "BUILDKITE_PLUGINS",
    });
  }
}

/**
 * An entry of `BUILDKITE_PLUGINS`. Messages name an entry by its position, type and key names, never
 * its configuration: a plugin's configuration carries secrets as often as env does, and a message
 * reaches the webhook's answer and the Buildkite job's log.
 */
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
      `found invalid plugin: ${path} has ${keys.length} keys${quotedNames(keys)}; a plugin entry has exactly one, its name`,
      { path },
    );
  }
  const name = keys[0]!;
  const config = (element as Record<string, unknown>)[name];
  if (nestedDeeperThan(config, MAX_PLUGIN_DEPTH)) {
    throw new AgentStackError(
      "ASK_PLUGIN_INVALID",
      `found invalid plugin: the configuration of ${path} (${quotedName(name)}) is nested more than ${MAX_PLUGIN_DEPTH} levels deep`,
      { path },
    );
  }
  return { index, name, config };
}

function quotedNames(keys: readonly string[]): string {
  if (keys.length === 0) return "";
  const shown = keys.slice(0, QUOTED_NAMES).map(quotedName).join(", ");
  return ` (${shown}${keys.length > QUOTED_NAMES ? ", …" : ""})`;
}

function quotedName(name: string): string {
  return JSON.stringify(name.length > NAME_CHARACTERS ? `${name.slice(0, NAME_CHARACTERS)}…` : name);
}

/** A JSON value named by its type alone. */
function describeJson(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}
