/**
 * The stack's Deployments and their pods (selected by each Deployment's own selector), and whether each
 * component has the ready pods it asks for; a pod that is not ready says why (its containers' waiting
 * or last termination reasons, its restarts).
 */
import type { V1ContainerStatus, V1Pod } from "@kubernetes/client-node";
import { type DiagnoseContext, needs, type Part, type PartOutcome } from "./part.ts";

export const stackPodsPart: Part = {
  name: "stack pods",
  async run(context: DiagnoseContext): Promise<PartOutcome> {
    const stack = needs(context.found.stack, "the stack's Deployments");
    const { namespace } = context.options;
    await context.writeObjects(
      "stack/deployments.yaml",
      stack.deployments.map((found) => found.deployment),
    );
    const pods: V1Pod[] = [];
    const counts: string[] = [];
    const details: string[] = [];
    let short = false;
    for (const found of stack.deployments) {
      const listed = await context.cluster.listPods(namespace, found.podSelector);
      pods.push(...listed.items);
      const wanted = found.deployment.spec?.replicas ?? 1;
      const ready = listed.items.filter(isReady).length;
      counts.push(`${found.component} ${ready}/${wanted} ready`);
      if (ready < wanted) short = true;
      if (ready < wanted && listed.items.length === 0) details.push(`${found.component}: no pod`);
      for (const pod of listed.items.filter((candidate) => !isReady(candidate))) {
        details.push(`${pod.metadata?.name}: ${whyNotReady(pod)}`);
      }
      for (const pod of listed.items) {
        const restarts = containerStatuses(pod).reduce((sum, status) => sum + status.restartCount, 0);
        if (restarts > 0 && isReady(pod))
          details.push(`${pod.metadata?.name}: ready, restarted ${restarts} times`);
      }
    }
    context.found.stackPods = pods;
    await context.writeObjects("stack/pods.yaml", pods);
    return {
      // Restarts alone are worth reading about, not a problem.
      status: short ? "problem" : "ok",
      summary: `${pods.length} pods: ${counts.join(", ")}`,
      details,
    };
  },
};

function containerStatuses(pod: V1Pod): V1ContainerStatus[] {
  return [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
}

function isReady(pod: V1Pod): boolean {
  return (
    pod.status?.conditions?.some((condition) => condition.type === "Ready" && condition.status === "True") ??
    false
  );
}

/** `Running, container webhook waiting: CrashLoopBackOff (back-off 5m0s …), last exit 1 (Error)`. */
function whyNotReady(pod: V1Pod): string {
  const reasons = containerStatuses(pod).flatMap((status) => {
    const waiting = status.state?.waiting;
    const terminated = status.lastState?.terminated ?? status.state?.terminated;
    const parts = [
      waiting?.reason
        ? `waiting: ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ""}`
        : undefined,
      terminated
        ? `last exit ${terminated.exitCode}${terminated.reason ? ` (${terminated.reason})` : ""}`
        : undefined,
      status.restartCount > 0 ? `${status.restartCount} restarts` : undefined,
      !waiting && !terminated && status.ready === false ? "not ready" : undefined,
    ].filter((part) => part !== undefined);
    return parts.length === 0 ? [] : [`container ${status.name} ${parts.join(", ")}`];
  });
  const phase = pod.status?.phase ?? "no status";
  const reason = pod.status?.reason
    ? ` (${pod.status.reason}${pod.status.message ? `: ${pod.status.message}` : ""})`
    : "";
  const unscheduled = pod.status?.conditions?.find(
    (condition) => condition.type === "PodScheduled" && condition.status === "False",
  );
  return [
    `${phase}${reason}`,
    ...(unscheduled?.message ? [`not scheduled: ${unscheduled.message}`] : []),
    ...reasons,
  ].join("; ");
}
