/**
 * Effective values: the fallbacks upstream applies at run time (controller-runtime.md §1.5), applied
 * once at load so that every consumer and the "configuration loaded" log see the value in use.
 */
import { formatDuration } from "./duration.ts";
import { type ConfigSource, describeSource } from "./problems.ts";
import { VALUE_KEYS } from "./schema.ts";

export type Values = Record<string, unknown>;
export type Sources = Record<string, ConfigSource>;

function shown(value: number, kind: string): string {
  return kind === "duration" ? formatDuration(value) : String(value);
}

/** Adjusts `values` in place and returns the warnings for values the user set that were replaced. */
export function applyEffectiveValues(values: Values, sources: Sources): string[] {
  const warnings: string[] = [];
  for (const spec of VALUE_KEYS) {
    const value = values[spec.key];
    if (spec.floor === undefined || typeof value !== "number" || value >= spec.floor.below) continue;
    values[spec.key] = spec.floor.becomes;
    const source = sources[spec.key];
    if (source !== undefined && source.kind !== "default") {
      const kind = spec.type.kind;
      const problem =
        spec.floor.below === 1 ? "is not positive" : `is below ${shown(spec.floor.below, kind)}`;
      warnings.push(
        `${spec.key}: ${shown(value, kind)} (from ${describeSource(source)}) ${problem}; using ${shown(spec.floor.becomes, kind)}`,
      );
    }
  }

  // HEAD: `debug: true` overrides log-level.
  if (values.debug === true) values["log-level"] = "debug";

  warnings.push(...resolveQueue(values, sources));
  resolveJobSource(values);
  return warnings;
}

/** An empty `job-source` follows the credentials given: an API token means GraphQL, as before. */
function resolveJobSource(values: Values): void {
  if (values["job-source"] !== "") return;
  const token = values["buildkite-token"];
  values["job-source"] = typeof token === "string" && token !== "" ? "graphql" : "stacks";
}

export function queueTagValue(tags: readonly string[]): string | undefined {
  const tag = tags.find((candidate) => candidate.startsWith("queue="));
  return tag?.slice("queue=".length);
}

/**
 * HEAD's `queue` key wins over the `queue` tag (whose default is `queue=kubernetes`), so a configured
 * queue replaces the queue tag: the tag filter and the Job labels then agree with the queue polled.
 * With no `queue` key, the queue is the tag's.
 */
function resolveQueue(values: Values, sources: Sources): string[] {
  const tags = values.tags;
  const queue = values.queue;
  if (!Array.isArray(tags) || typeof queue !== "string") return [];
  const tagged = queueTagValue(tags as string[]);
  if (queue === "") {
    values.queue = tagged ?? "";
    return [];
  }
  const warnings: string[] = [];
  const tagsSource = sources.tags;
  if (tagged !== undefined && tagged !== queue && tagsSource !== undefined && tagsSource.kind !== "default") {
    warnings.push(
      `tags: the queue tag "queue=${tagged}" (from ${describeSource(tagsSource)}) is replaced by queue "${queue}"`,
    );
  }
  const others = (tags as string[]).filter((tag) => !tag.startsWith("queue="));
  values.tags = [`queue=${queue}`, ...others];
  return warnings;
}
