/**
 * Whether each webhook's caBundle verifies the certificate the webhook serves (its Secret's
 * `tls.crt`, the Secret the webhook Deployment mounts as `tls`), as kube-apiserver checks it before
 * every admission call. Only the public certificate is used: the Secret's other values (the keys) are
 * only remembered so that they are taken out of any text, and never written.
 */
import { type CertificateSummary, verifyServingCertificate } from "../certs/verify.ts";
import { type DiagnoseContext, needs, type Part, type PartOutcome } from "./part.ts";
import { podSpecOf } from "./stack.ts";

const TLS_VOLUME = "tls";
const PUBLIC_KEYS = new Set(["tls.crt", "ca.crt"]);

export const servingCertificatePart: Part = {
  name: "serving certificate",
  async run(context: DiagnoseContext): Promise<PartOutcome> {
    const configurations = needs(context.found.webhookConfigurations, "the webhook configuration");
    const { namespace } = context.options;
    const secretName = podSpecOf(context, "webhook")?.volumes?.find((volume) => volume.name === TLS_VOLUME)
      ?.secret?.secretName;
    if (secretName === undefined) {
      return {
        status: "problem",
        summary: `the webhook Deployment mounts no Secret as volume "${TLS_VOLUME}"`,
      };
    }
    const data = await context.cluster.getSecretData(namespace, secretName);
    for (const [key, value] of Object.entries(data))
      if (!PUBLIC_KEYS.has(key)) context.redactor.remember(value);
    const servingChain = data["tls.crt"];
    if (servingChain === undefined) {
      return { status: "problem", summary: `Secret ${namespace}/${secretName} has no tls.crt` };
    }
    const report: string[] = [];
    const problems: string[] = [];
    let checked = 0;
    for (const configuration of configurations) {
      for (const webhook of configuration.webhooks ?? []) {
        const service = webhook.clientConfig.service;
        if (service?.namespace !== namespace) continue;
        checked += 1;
        const where = `MutatingWebhookConfiguration ${configuration.metadata?.name} webhook ${webhook.name}`;
        const serverName = `${service.name}.${service.namespace}.svc`;
        const result = verifyServingCertificate({
          caBundle: Buffer.from(webhook.clientConfig.caBundle ?? "", "base64").toString("utf8"),
          servingChain,
          serverName,
          now: context.now,
          bundleSource: `caBundle of ${where}`,
          servingSource: `Secret ${namespace}/${secretName} tls.crt`,
        });
        report.push(
          `${where}: caBundle ${result.verified ? "verifies" : "does NOT verify"} the serving certificate for ${serverName}`,
          ...result.problems.map((problem) => `  ✗ ${problem}`),
          ...(result.serving === undefined ? [] : summaryLines("serving certificate", result.serving)),
          ...(result.signedBy === undefined ? [] : summaryLines("signed by", result.signedBy)),
          "",
        );
        problems.push(...result.problems.map((problem) => `${where}: ${problem}`));
      }
    }
    await context.write("webhook/certificate.txt", `${report.join("\n")}\n`);
    if (problems.length > 0) {
      return {
        status: "problem",
        summary: `the caBundle does not verify Secret ${namespace}/${secretName}`,
        details: problems,
      };
    }
    return {
      status: "ok",
      summary: `the caBundle of ${checked} webhook(s) verifies Secret ${namespace}/${secretName}`,
    };
  },
};

function summaryLines(title: string, certificate: CertificateSummary): string[] {
  return [`  ${title}:`, ...Object.entries(certificate).map(([key, value]) => `    ${key}: ${value}`)];
}
