/**
 * The Events about the stack's objects (its Deployments, their ReplicaSets and pods) and about the
 * Jobs collected and their pods: what the scheduler, the kubelet and the controllers said, often the
 * reason (an image that does not pull, a quota, a volume that does not mount). Kept as YAML, and as a
 * table per object, as the launcher shows a Job's events in a Buildkite log.
 */
import type { CoreV1Event } from "@kubernetes/client-node";
import { eventsTable } from "../launcher/kubernetes/events-text.ts";
import { type DiagnoseContext, type Part, type PartOutcome, PartSkipped } from "./part.ts";

export const eventsPart: Part = {
  name: "events",
  async run(context: DiagnoseContext): Promise<PartOutcome> {
    const { stack, stackPods, jobs, jobPods } = context.found;
    if (stack === undefined && jobs === undefined) {
      throw new PartSkipped("needs the stack or its Jobs, which could not be collected");
    }
    const uids = new Set(
      [
        ...(stack?.deployments.map((found) => found.deployment) ?? []),
        ...(stackPods ?? []),
        ...(jobs ?? []),
        ...(jobPods ?? []),
      ]
        .map((object) => object.metadata?.uid)
        .filter((uid) => uid !== undefined),
    );
    // ReplicaSets are not read; their events (a pod the quota or admission refused) are found by name.
    const replicaSetPrefixes = (stack?.deployments ?? []).map(
      (found) => `${found.deployment.metadata?.name}-`,
    );
    const listed = await context.cluster.listEvents(context.options.namespace);
    const events = listed.items
      .filter((event) => {
        const involved = event.involvedObject;
        if (involved.uid !== undefined && uids.has(involved.uid)) return true;
        return (
          involved.kind === "ReplicaSet" &&
          replicaSetPrefixes.some((prefix) => involved.name?.startsWith(prefix))
        );
      })
      .sort((a, b) => lastTime(a) - lastTime(b));
    await context.writeObjects("events.yaml", events);
    await context.write("events.txt", eventsText(events));
    const warnings = events.filter((event) => event.type === "Warning").length;
    return {
      status: "ok",
      summary: `${events.length} events (${warnings} ${warnings === 1 ? "warning" : "warnings"})${listed.truncated ? "; the namespace has more than were read" : ""}`,
    };
  },
};

function lastTime(event: CoreV1Event): number {
  const time =
    event.series?.lastObservedTime ?? event.lastTimestamp ?? event.eventTime ?? event.firstTimestamp;
  return time === undefined ? 0 : new Date(time).getTime();
}

/** One table per object, in the order of each object's first event. */
function eventsText(events: readonly CoreV1Event[]): string {
  const byObject = new Map<string, CoreV1Event[]>();
  for (const event of events) {
    const key = `${event.involvedObject.kind} ${event.involvedObject.name}`;
    byObject.set(key, [...(byObject.get(key) ?? []), event]);
  }
  if (byObject.size === 0) return "No events.\n";
  return `${[...byObject].map(([object, objectEvents]) => `${object}\n${eventsTable(objectEvents)}\n`).join("\n")}`;
}
