/**
 * Reading fields of Kubernetes objects that arrive in two shapes: the client's model classes from a
 * list (times are `Date`s) and plain JSON from a watch (times are strings). Nothing here trusts the
 * shape: a missing or mistyped field reads as absent, so one odd object never crashes a watcher.
 */
import { LABEL_JOB_UUID } from "../../src/admission/contract.ts";
import { TAG_LABEL_PREFIX } from "../../src/expand/metadata.ts";

export type Fields = Readonly<Record<string, unknown>>;

export function fields(value: unknown): Fields {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Fields) : {};
}

export function list(value: unknown): Fields[] {
  return Array.isArray(value) ? value.map(fields) : [];
}

export function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

export function count(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

export function optionalNumber(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/** Milliseconds since the epoch of a `metav1.Time`, either shape. */
export function time(value: unknown): number | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getTime();
  if (typeof value === "string" && value !== "") {
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  return undefined;
}

export function labelsOf(metadata: Fields): Readonly<Record<string, string>> {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields(metadata.labels))) {
    if (typeof value === "string") labels[key] = value;
  }
  return labels;
}

/** The `buildkite.com/job-uuid` label; `""` when absent. */
export function jobUuidOf(labels: Readonly<Record<string, string>>): string {
  return labels[LABEL_JOB_UUID] ?? "";
}

/**
 * Agent tags rebuilt from the `tag.buildkite.com/<k>` labels as `k=v`, sorted: what a throw-away agent
 * registers with to fail the job (its tags must satisfy the job's agent query rules).
 */
export function tagsOf(labels: Readonly<Record<string, string>>): string[] {
  return Object.entries(labels)
    .filter(([key]) => key.startsWith(TAG_LABEL_PREFIX))
    .map(([key, value]) => `${key.slice(TAG_LABEL_PREFIX.length)}=${value}`)
    .sort();
}
