/**
 * The MutatingWebhookConfiguration the stack's webhook is registered with (as the chart renders it:
 * labelled batch/v1 Jobs on CREATE, failurePolicy Fail), for tests that put it into the fake API
 * server. `clientConfig` is a URL or a Service reference; `overrides` replace fields of the webhook.
 */
import type {
  AdmissionregistrationV1WebhookClientConfig,
  V1MutatingWebhook,
  V1MutatingWebhookConfiguration,
} from "@kubernetes/client-node";

export const STACK_WEBHOOK = "jobs.agent-stack-k8s.buildkite.com";

export function stackWebhookConfiguration(
  clientConfig: Omit<AdmissionregistrationV1WebhookClientConfig, "caBundle">,
  caCert: string,
  overrides: Partial<V1MutatingWebhook> = {},
): V1MutatingWebhookConfiguration & { metadata: { name: string } } {
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    metadata: { name: "agent-stack-k8s" },
    webhooks: [
      {
        name: STACK_WEBHOOK,
        admissionReviewVersions: ["v1"],
        sideEffects: "None",
        failurePolicy: "Fail",
        timeoutSeconds: 10,
        clientConfig: { ...clientConfig, caBundle: Buffer.from(caCert).toString("base64") },
        rules: [{ apiGroups: ["batch"], apiVersions: ["v1"], operations: ["CREATE"], resources: ["jobs"] }],
        objectSelector: { matchLabels: { "buildkite.com/expand": "true" } },
        ...overrides,
      },
    ],
  };
}
