/**
 * `agents` (pipeline and step level) → the job's `agentQueryRules` (`["queue=kubernetes", "k=v"]`).
 *
 * Buildkite accepts a mapping (`agents: {queue: kubernetes}`) or a list of `k=v` strings. A step's rule
 * replaces the pipeline's rule for the same key, in place; the step's new keys follow in its order. When
 * no rule names a `queue`, the stack's default rules that the job does not already set come first, so a
 * plain step lands on the stack's queue.
 */
import {
  describe,
  indexPath,
  inputError,
  keyPath,
  mappingEntries,
  optionalScalarText,
} from "./pipeline-input.ts";

export type AgentRule = readonly [key: string, value: string];

export function parseAgents(value: unknown, path: string): AgentRule[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.map((rule, index) => ruleFromText(rule, indexPath(path, index)));
  const entries = mappingEntries(value, path);
  if (entries === undefined) {
    throw inputError(
      path,
      `expected a mapping of agent tags or a list of "key=value" rules, got ${describe(value)}`,
    );
  }
  return entries.map(([key, tag]) => {
    const tagPath = keyPath(path, key);
    const text = optionalScalarText(tag, tagPath, "an agent tag value (string, number or boolean)");
    if (text === undefined) throw inputError(tagPath, "expected an agent tag value, got null");
    return [key, text] as const;
  });
}

function ruleFromText(rule: unknown, path: string): AgentRule {
  if (typeof rule !== "string") throw inputError(path, `expected a "key=value" rule, got ${describe(rule)}`);
  const equals = rule.indexOf("=");
  if (equals <= 0) throw inputError(path, `expected a "key=value" rule, got ${describe(rule)}`);
  return [rule.slice(0, equals), rule.slice(equals + 1)];
}

/** Later rules replace earlier ones with the same key, keeping the earlier position. */
export function mergeAgentRules(...layers: ReadonlyArray<readonly AgentRule[]>): AgentRule[] {
  const merged = new Map<string, string>();
  for (const rule of layers.flat()) merged.set(rule[0], rule[1]);
  return [...merged];
}

/** The rules as `k=v`, after the default rules the job does not override when it names no queue. */
export function agentQueryRules(rules: readonly AgentRule[], defaultRules: readonly string[]): string[] {
  const keys = new Set(rules.map(([key]) => key));
  const defaults = keys.has("queue") ? [] : defaultRules.filter((rule) => !keys.has(ruleKey(rule)));
  return [...defaults, ...rules.map(([key, value]) => `${key}=${value}`)];
}

function ruleKey(rule: string): string {
  const equals = rule.indexOf("=");
  return equals < 0 ? rule : rule.slice(0, equals);
}
