/**
 * A scheduled job's agent query rules as the stack sees them (upstream HEAD): the Stacks API lists only
 * the jobs of the stack's queue, so the `queue` rule says nothing more. For the default queue it is
 * removed (an agent without a queue tag lands in the default queue); otherwise it is set to the
 * configured queue, so the tag filter, the Job's `tag.buildkite.com/queue` label and the agent's tags
 * all agree with the queue polled.
 */
import { isDefaultQueue } from "./stack-session.ts";

export function normaliseJobRules(rules: readonly string[], queueKey: string): string[] {
  if (isDefaultQueue(queueKey)) return rules.filter((rule) => !isQueueRule(rule));
  const queueRule = `queue=${queueKey}`;
  const first = rules.findIndex(isQueueRule);
  if (first < 0) return [queueRule, ...rules];
  // The queue rule keeps its place; a second one goes.
  return rules.flatMap((rule, index) => (!isQueueRule(rule) ? [rule] : index === first ? [queueRule] : []));
}

function isQueueRule(rule: string): boolean {
  return rule.startsWith("queue=");
}
