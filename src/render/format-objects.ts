/** How commands print documents (render, diagnose): YAML or JSON, keys sorted. */
import { stringify } from "yaml";

export type OutputFormat = "yaml" | "json";

/**
 * YAML documents separated by `---`, or JSON: one object, or a `List` of several. Keys are sorted, as
 * kubectl prints YAML, so the output never depends on the order anything was written in.
 */
export function formatObjects(unsorted: readonly unknown[], format: OutputFormat): string {
  const objects = unsorted.map(sortKeys);
  if (format === "json") {
    const value = objects.length === 1 ? objects[0] : { apiVersion: "v1", kind: "List", items: objects };
    return `${JSON.stringify(value, null, 2)}\n`;
  }
  return objects
    .map((object) => stringify(object, { lineWidth: 0, aliasDuplicateObjects: false }))
    .join("---\n");
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== "object" || value === null) return value;
  const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries.map(([key, item]) => [key, sortKeys(item)]));
}
