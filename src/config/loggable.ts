/**
 * The configuration as the `configuration loaded` log line shows it (controller-runtime.md §1.7):
 * upstream's key names, durations in Go's text, and the Buildkite token never printed.
 */
import { formatDuration } from "./duration.ts";
import { VALUE_KEYS } from "./schema.ts";
import type { Config } from "./types.ts";

export const REDACTED = "[redacted]";

export function loggableConfig(config: Config): Record<string, unknown> {
  const shown: Record<string, unknown> = {};
  for (const spec of VALUE_KEYS) {
    if (spec.property === null) continue;
    const value: unknown = config[spec.property];
    if (spec.secret) shown[spec.key] = value === "" ? "" : REDACTED;
    else if (spec.type.kind === "duration" && typeof value === "number")
      shown[spec.key] = formatDuration(value);
    else shown[spec.key] = value;
  }
  return shown;
}
