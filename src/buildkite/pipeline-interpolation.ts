/**
 * `$VAR` interpolation of a whole pipeline document, as `buildkite-agent pipeline upload` applies it
 * before the pipeline reaches Buildkite (go-pipeline `Pipeline.Interpolate`):
 * 1. the top-level `env` first, in order, keys and values; each variable it defines is available to
 *    the rest of the pipeline unless the runtime env already has it (the runtime env wins);
 * 2. then every other string of the document, mapping keys included, except a command step's
 *    `signature` (it signs the text as written).
 * Numbers and booleans are left alone. Step `env` values are interpolated but, unlike the top-level
 * ones, are not variables for the rest of the pipeline.
 *
 * The document is the parsed form of `pipeline-source.ts` (mappings are `Map`s); a new document is
 * returned and the input is not changed.
 */
import { type InterpolationEnv, InterpolationError, interpolate } from "./interpolate.ts";
import { indexPath, keyPath, mappingEntries } from "./pipeline-input.ts";

export interface InterpolationProblem {
  /** Where the text is: `steps[2].command`, `env.DEPLOY`. */
  readonly path: string;
  /** The text is the key at `path`, not its value. */
  readonly key?: boolean;
  /** The agent's message, e.g. `$DEPLOY_TARGET: not set`. */
  readonly message: string;
}

export interface InterpolatedPipeline {
  readonly document: unknown;
  /** Every text that could not be interpolated; each is left as written. */
  readonly problems: readonly InterpolationProblem[];
  /** Mapping keys that interpolation changed: where each is in the new document, and as written. */
  readonly renamedKeys: ReadonlyArray<{ readonly interpolated: string; readonly written: string }>;
}

const STEP_CONTAINER_KEYS = new Set(["command", "commands", "script"]);

/**
 * Strategic merge patch directives are mapping keys that start with `$`: interpolation eats them
 * (`$patch` becomes ``, `$setElementOrder/containers` becomes `/containers`) unless written `$$patch`.
 */
const DIRECTIVE = /^\$(patch|retainKeys|setElementOrder\/|deleteFromPrimitiveList\/)/;

export function interpolatePipeline(document: unknown, runtimeEnv: InterpolationEnv): InterpolatedPipeline {
  const env = new Map(runtimeEnv);
  const problems: InterpolationProblem[] = [];
  const renamedKeys: Array<{ interpolated: string; written: string }> = [];
  const interpolated = (value: string, path: string, key: boolean): string => {
    try {
      return interpolate(value, env);
    } catch (error) {
      if (!(error instanceof InterpolationError)) throw error;
      problems.push({ path, ...(key ? { key: true } : {}), message: error.message });
      return value;
    }
  };
  const text: TextInterpolator = {
    value: (value, path) => interpolated(value, path, false),
    key: (key, parent) => {
      const path = keyPath(parent, key);
      const result = interpolated(key, path, true);
      if (result === key) return result;
      renamedKeys.push({ interpolated: keyPath(parent, result), written: path });
      if (DIRECTIVE.test(key)) {
        problems.push({
          path,
          key: true,
          message: `${JSON.stringify(key)} becomes ${JSON.stringify(result)} when the pipeline is interpolated: write ${JSON.stringify(`$${key}`)} for the strategic merge patch directive`,
        });
      }
      return result;
    },
  };
  const walker = new Walker(text);
  if (Array.isArray(document)) return { document: walker.steps(document, ""), problems, renamedKeys };
  const entries = mappingEntries(document, "");
  if (entries === undefined) return { document, problems, renamedKeys };
  const result = new Map<string, unknown>();
  const envBlock = entries.find(([key]) => key === "env");
  if (envBlock !== undefined) result.set("env", topLevelEnv(envBlock[1], env, text));
  for (const [key, value] of entries) {
    if (key === "env") continue;
    const path = keyPath("", key);
    result.set(
      text.key(key, ""),
      key === "steps" && Array.isArray(value) ? walker.steps(value, path) : walker.any(value, path),
    );
  }
  return { document: result, problems, renamedKeys };
}

interface TextInterpolator {
  readonly value: (value: string, path: string) => string;
  /** A mapping key, by its parent's path. */
  readonly key: (key: string, parent: string) => string;
}

function topLevelEnv(block: unknown, env: Map<string, string>, text: TextInterpolator): unknown {
  const entries = mappingEntries(block, "env");
  if (entries === undefined) return block;
  const result = new Map<string, unknown>();
  for (const [key, value] of entries) {
    const path = keyPath("env", key);
    const name = text.key(key, "env");
    const interpolated = typeof value === "string" ? text.value(value, path) : value;
    result.set(name, interpolated);
    if (!env.has(name)) env.set(name, valueText(interpolated));
  }
  return result;
}

/** A YAML scalar as the env var it becomes (go-pipeline reads env as strings). */
function valueText(value: unknown): string {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : String(value);
}

class Walker {
  readonly #text: TextInterpolator;

  constructor(text: TextInterpolator) {
    this.#text = text;
  }

  steps(steps: readonly unknown[], path: string): unknown[] {
    return steps.map((step, index) => this.step(step, indexPath(path, index)));
  }

  step(step: unknown, path: string): unknown {
    const entries = mappingEntries(step, path);
    if (entries === undefined) return this.any(step, path);
    const result = new Map<string, unknown>();
    for (const [key, value] of entries) {
      const at = keyPath(path, key);
      if (key === "signature") {
        result.set(key, value);
      } else if (key === "steps" && Array.isArray(value)) {
        result.set(key, this.steps(value, at));
      } else if (STEP_CONTAINER_KEYS.has(key) && mappingEntries(value, at) !== undefined) {
        // The nested form `- command: {command: …, signature: …}`.
        result.set(key, this.step(value, at));
      } else {
        result.set(this.#text.key(key, path), this.any(value, at));
      }
    }
    return result;
  }

  any(value: unknown, path: string): unknown {
    if (typeof value === "string") return this.#text.value(value, path);
    if (Array.isArray(value)) return value.map((item, index) => this.any(item, indexPath(path, index)));
    const entries = mappingEntries(value, path);
    if (entries === undefined) return value;
    const result = new Map<string, unknown>();
    for (const [key, item] of entries) {
      const at = keyPath(path, key);
      result.set(this.#text.key(key, path), this.any(item, at));
    }
    return result;
  }
}
