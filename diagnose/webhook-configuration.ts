/**
 * The stack's MutatingWebhookConfiguration(s): those of the release (by the chart's labels) whose
 * webhooks call a Service in the namespace. Without one, kube-apiserver never calls the webhook and
 * labelled Jobs are refused as invalid (their pod template has no containers).
 */
import type { V1MutatingWebhook, V1MutatingWebhookConfiguration } from "@kubernetes/client-node";
import { type DiagnoseContext, needs, type Part, type PartOutcome } from "./part.ts";
import { isOfTheChart, LABEL_INSTANCE } from "./stack.ts";

export const webhookConfigurationPart: Part = {
  name: "webhook configuration",
  async run(context: DiagnoseContext): Promise<PartOutcome> {
    const stack = needs(context.found.stack, "the stack's Deployments");
    const { namespace } = context.options;
    const listed = await context.cluster.listWebhookConfigurations(`${LABEL_INSTANCE}=${stack.release}`);
    const ours = listed.items.filter(
      (configuration) =>
        isOfTheChart(configuration) &&
        (configuration.webhooks ?? []).some(
          (webhook) => webhook.clientConfig.service?.namespace === namespace,
        ),
    );
    context.found.webhookConfigurations = ours;
    await context.writeObjects("webhook/configurations.yaml", ours);
    if (ours.length === 0) {
      return {
        status: "problem",
        summary: `no MutatingWebhookConfiguration of release ${stack.release} calls a Service in ${namespace}: labelled Jobs are not expanded`,
      };
    }
    const details = ours.flatMap((configuration) =>
      (configuration.webhooks ?? []).map((webhook) => describe(configuration, webhook)),
    );
    const empty = ours.flatMap((configuration) =>
      (configuration.webhooks ?? [])
        .filter((webhook) => !webhook.clientConfig.caBundle)
        .map(
          (webhook) =>
            `${configuration.metadata?.name} webhook ${webhook.name}: no caBundle, so kube-apiserver cannot trust the webhook (is the certs keeper, or cert-manager's cainjector, running?)`,
        ),
    );
    return {
      status: empty.length === 0 ? "ok" : "problem",
      summary: ours.map((configuration) => configuration.metadata?.name).join(", "),
      details: [...details, ...empty],
    };
  },
};

function describe(configuration: V1MutatingWebhookConfiguration, webhook: V1MutatingWebhook): string {
  const service = webhook.clientConfig.service;
  const target =
    service === undefined
      ? `URL ${webhook.clientConfig.url ?? "(none)"}`
      : `Service ${service.namespace}/${service.name}:${service.port ?? 443}${service.path ?? ""}`;
  return `${configuration.metadata?.name} webhook ${webhook.name} → ${target}, failurePolicy ${webhook.failurePolicy ?? "Fail"}, timeout ${webhook.timeoutSeconds ?? 10}s`;
}

/** The Services the stack's webhooks call, once each. */
export function webhookServices(
  configurations: readonly V1MutatingWebhookConfiguration[],
  namespace: string,
): { readonly name: string; readonly port: number }[] {
  const services = new Map<string, { name: string; port: number }>();
  for (const configuration of configurations) {
    for (const webhook of configuration.webhooks ?? []) {
      const service = webhook.clientConfig.service;
      if (service?.namespace !== namespace) continue;
      const port = service.port ?? 443;
      services.set(`${service.name}:${port}`, { name: service.name, port });
    }
  }
  return [...services.values()];
}
