/**
 * A command step's `plugins` and the `BUILDKITE_PLUGINS` value Buildkite derives from them: a compact
 * JSON array of single-key objects `{"<full plugin name>": <config or null>}` in step order.
 *
 * Both forms Buildkite accepts are read (go-pipeline `Plugins.UnmarshalOrdered`):
 * - the list form, each entry `name: config` or a bare `name` (config `null`);
 * - the older mapping form `plugins: {name: config, …}`, whose order is the document's.
 * A list entry with several keys is refused: the pipeline schema allows one key per entry, and guessing
 * an order for the extra ones would hide a mistake (often a mis-indented config).
 */

import { describe, indexPath, inputError, keyPath, mappingEntries, numberText } from "./pipeline-input.ts";
import { fullPluginName } from "./plugin-names.ts";

export interface StepPlugin {
  /** The name as written (`docker#v5.9.0`); `fullPluginName` expands it. */
  readonly name: string;
  /** The configuration as parsed from YAML (mappings may be `Map`s); `null` when there is none. */
  readonly config: unknown;
  /** Where the entry is, for messages: `steps[2].plugins[0]`. */
  readonly path: string;
  /** Where its configuration is: `steps[2].plugins[0].kubernetes`, or `steps[2].plugins.kubernetes`. */
  readonly configPath: string;
}

export function parseStepPlugins(value: unknown, path: string): StepPlugin[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value))
    return value.map((entry, index) => pluginFromListEntry(entry, indexPath(path, index)));
  const entries = mappingEntries(value, path);
  if (entries === undefined) {
    throw inputError(
      path,
      `expected a list of plugins (or a mapping of plugin names), got ${describe(value)}`,
    );
  }
  return entries.map(([name, config]) => {
    const at = keyPath(path, name);
    return plugin(name, config, at, at);
  });
}

function pluginFromListEntry(entry: unknown, path: string): StepPlugin {
  if (typeof entry === "string") return plugin(entry, null, path, path);
  const entries = mappingEntries(entry, path);
  if (entries === undefined) {
    throw inputError(path, `expected a plugin (\`name: config\` or a bare name), got ${describe(entry)}`);
  }
  const [only, ...others] = entries;
  if (only === undefined || others.length > 0) {
    const keys = entries.map(([name]) => JSON.stringify(name)).join(", ");
    throw inputError(
      path,
      `expected a plugin entry with exactly one key (\`name: config\`), got ${entries.length} keys${keys === "" ? "" : ` (${keys})`}; put each plugin in its own list entry, and check the config's indentation`,
    );
  }
  return plugin(only[0], only[1], path, keyPath(path, only[0]));
}

function plugin(name: string, config: unknown, path: string, configPath: string): StepPlugin {
  if (name.trim() === "") throw inputError(path, "expected a plugin name, got an empty one");
  return { name, config: config ?? null, path, configPath };
}

/** `BUILDKITE_PLUGINS` for the plugins, or `undefined` when there are none (Buildkite leaves it unset). */
export function buildkitePluginsJson(plugins: readonly StepPlugin[]): string | undefined {
  if (plugins.length === 0) return undefined;
  const entries = plugins.map(
    (entry) => `{${JSON.stringify(fullPluginName(entry.name))}:${compactJson(entry.config, entry.path)}}`,
  );
  return `[${entries.join(",")}]`;
}

/** Compact JSON of a parsed YAML value, keeping the document's key order (also for `Map`s). */
export function compactJson(value: unknown, path: string): string {
  if (value === null || typeof value === "string" || typeof value === "boolean") return JSON.stringify(value);
  if (typeof value === "number") return numberText(value, path);
  if (Array.isArray(value)) {
    return `[${value.map((item, index) => compactJson(item, indexPath(path, index))).join(",")}]`;
  }
  const entries = mappingEntries(value, path);
  if (entries === undefined)
    throw inputError(path, `expected a JSON-compatible value, got ${describe(value)}`);
  const members = entries.map(
    ([key, item]) => `${JSON.stringify(key)}:${compactJson(item, keyPath(path, key))}`,
  );
  return `{${members.join(",")}}`;
}
