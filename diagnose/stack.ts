/**
 * Finds the stack in the namespace by the labels the chart puts on its Deployments, whatever the
 * release is called: `app.kubernetes.io/component` (launcher, webhook, certs), `app.kubernetes.io/
 * instance` (the release) and `helm.sh/chart: agent-stack-k8s-<version>`. A namespace with two
 * releases needs `--release`.
 */
import type { V1Deployment } from "@kubernetes/client-node";
import { STACK_COMPONENTS, type StackComponent } from "../src/k8s/permissions.ts";
import type { DiagnoseContext, Part, PartOutcome, StackDeployment } from "./part.ts";

const CHART = "agent-stack-k8s";
export const LABEL_COMPONENT = "app.kubernetes.io/component";
export const LABEL_INSTANCE = "app.kubernetes.io/instance";
const LABEL_CHART = "helm.sh/chart";

export const stackPart: Part = {
  name: "stack",
  async run(context: DiagnoseContext): Promise<PartOutcome> {
    const { namespace, release } = context.options;
    const selector = [
      `${LABEL_COMPONENT} in (${STACK_COMPONENTS.join(",")})`,
      release === undefined ? LABEL_INSTANCE : `${LABEL_INSTANCE}=${release}`,
    ].join(",");
    const listed = await context.cluster.listDeployments(namespace, selector);
    const ours = listed.items.filter((deployment) => isOfTheChart(deployment));
    const releases = [...new Set(ours.map((deployment) => labels(deployment)[LABEL_INSTANCE] ?? ""))].sort();
    if (releases.length === 0) {
      return {
        status: "problem",
        summary: `no Deployment of the ${CHART} chart${release === undefined ? "" : ` for release ${release}`} in namespace ${namespace}: is the stack installed there? (--namespace)`,
      };
    }
    if (releases.length > 1) {
      return {
        status: "problem",
        summary: `${releases.length} releases of the ${CHART} chart in namespace ${namespace} (${releases.join(", ")}): choose one with --release`,
      };
    }
    const deployments = ours
      .map(stackDeployment)
      .sort((a, b) => STACK_COMPONENTS.indexOf(a.component) - STACK_COMPONENTS.indexOf(b.component));
    context.found.stack = { release: releases[0] as string, deployments };
    const missing = ["launcher", "webhook"].filter(
      (component) => !deployments.some((found) => found.component === component),
    );
    const summary = `release ${releases[0]}: ${deployments.map((found) => `${found.component} ${found.deployment.metadata?.name}`).join(", ")}`;
    if (missing.length > 0) {
      return { status: "problem", summary: `${summary}; no ${missing.join(" or ")} Deployment` };
    }
    return { status: "ok", summary };
  },
};

function labels(deployment: V1Deployment): Record<string, string> {
  return deployment.metadata?.labels ?? {};
}

/** Whether the chart rendered this object: its `helm.sh/chart` label is `agent-stack-k8s-<version>`. */
export function isOfTheChart(object: { metadata?: { labels?: Record<string, string> } }): boolean {
  const chart = object.metadata?.labels?.[LABEL_CHART] ?? "";
  return chart.startsWith(`${CHART}-`) && /^\d/.test(chart.slice(CHART.length + 1));
}

function stackDeployment(deployment: V1Deployment): StackDeployment {
  const component = labels(deployment)[LABEL_COMPONENT] as StackComponent;
  const matchLabels = deployment.spec?.selector?.matchLabels ?? {};
  return {
    component,
    deployment,
    podSelector: Object.entries(matchLabels)
      .map(([key, value]) => `${key}=${value}`)
      .join(","),
    serviceAccount: deployment.spec?.template?.spec?.serviceAccountName || "default",
  };
}

/** The pod template of a component's Deployment, when the stack has it. */
export function podSpecOf(context: DiagnoseContext, component: StackComponent) {
  return context.found.stack?.deployments.find((found) => found.component === component)?.deployment.spec
    ?.template?.spec;
}
