/**
 * Which scheduled jobs this launcher may take. Buildkite's query returns jobs that match *any* of the
 * rules it is given (the queue), so the launcher checks that the job's every agent query rule is one of
 * its tags (upstream §2.2): a job asking for `os=windows` is not for a Linux stack on the same queue.
 */
import type { Config } from "../src/config/types.ts";

/** Tag rules Buildkite itself satisfies elsewhere (HEAD ignores `resource_class`, which picks a class). */
const IGNORED_RULES = new Set(["resource_class"]);

export function controllerTags(config: Pick<Config, "tags" | "queue">): ReadonlyMap<string, string> {
  const tags = new Map<string, string>();
  for (const tag of config.tags) {
    const equals = tag.indexOf("=");
    if (equals > 0) tags.set(tag.slice(0, equals), tag.slice(equals + 1));
  }
  if (config.queue) tags.set("queue", config.queue);
  return tags;
}

/** A rule `k=v` matches when the launcher has tag `k` with value `v`, or the rule's value is `*`. */
export function matchesTags(agentQueryRules: readonly string[], tags: ReadonlyMap<string, string>): boolean {
  return agentQueryRules.every((rule) => {
    const equals = rule.indexOf("=");
    if (equals < 0) return false;
    const key = rule.slice(0, equals);
    const value = rule.slice(equals + 1);
    if (IGNORED_RULES.has(key)) return true;
    const ours = tags.get(key);
    return ours !== undefined && (value === "*" || value === ours);
  });
}
