/**
 * The webhook's `GET /readyz`, through the API server's service proxy (diagnose runs outside the
 * cluster): the same Service kube-apiserver calls. 200 means a webhook pod behind it is ready; a 503
 * from the webhook names what it waits for; a Service that cannot be reached is what makes every
 * labelled Job creation fail (failurePolicy Fail).
 */
import { isKubeApiError, KubeErrorKind } from "../runtime/kube-api-error.ts";
import { type DiagnoseContext, needs, type Part, type PartOutcome } from "./part.ts";
import { webhookServices } from "./webhook-configuration.ts";

export const webhookReadinessPart: Part = {
  name: "webhook readiness",
  async run(context: DiagnoseContext): Promise<PartOutcome> {
    const configurations = needs(context.found.webhookConfigurations, "the webhook configuration");
    const { namespace } = context.options;
    const services = webhookServices(configurations, namespace);
    const lines: string[] = [];
    const problems: string[] = [];
    for (const service of services) {
      const proxied = `https:${service.name}:${service.port}`;
      const request = `GET /api/v1/namespaces/${namespace}/services/${proxied}/proxy/readyz`;
      try {
        const answer = await context.cluster.serviceGet(namespace, proxied, "/readyz");
        lines.push(`${request} → ${answer.status}`, answer.body.trimEnd(), "");
        if (answer.status !== 200) {
          problems.push(
            `Service ${namespace}/${service.name}: /readyz answered ${answer.status}: ${answer.body.trim()}`,
          );
        }
      } catch (error) {
        // Diagnose not being allowed to ask is not the webhook's fault: the part was not collected.
        if (isKubeApiError(error, KubeErrorKind.Forbidden)) throw error;
        const message = (error as Error).message;
        lines.push(`${request} → no answer`, message, "");
        problems.push(`Service ${namespace}/${service.name} cannot be reached: ${message}`);
      }
    }
    await context.write("webhook/readyz.txt", `${lines.join("\n")}\n`);
    if (problems.length > 0)
      return { status: "problem", summary: "the webhook is not ready", details: problems };
    return {
      status: "ok",
      summary: `ready (${services.map((service) => `${namespace}/${service.name}`).join(", ")})`,
    };
  },
};
