/**
 * Follows the one MutatingWebhookConfiguration whose caBundle the certs keeper keeps (a field selector on
 * its name), so that a replace that wipes the caBundle (`helm upgrade --force`, a GitOps tool applying
 * the chart's rendering) is seen within seconds rather than at the next periodic check. The stack's
 * informer does the listing, watching and restarting; only the name and version are kept.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { createInformer, type Informer } from "../runtime/informer.ts";
import type { Logger } from "../runtime/logger.ts";

export interface ConfigurationVersion {
  readonly name: string;
  readonly resourceVersion: string;
}

export function webhookConfigurationInformer(
  kubeConfig: KubeConfig,
  name: string,
  logger: Logger,
): Informer<ConfigurationVersion> {
  return createInformer<ConfigurationVersion>({
    kubeConfig,
    path: "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
    what: `MutatingWebhookConfiguration ${name}`,
    fieldSelector: `metadata.name=${name}`,
    transform: (object) => {
      const metadata = (object as { metadata?: { name?: string; resourceVersion?: string } }).metadata;
      return metadata?.name === undefined
        ? undefined
        : { name: metadata.name, resourceVersion: metadata.resourceVersion ?? "" };
    },
    nameOf: (configuration) => configuration.name,
    versionOf: (configuration) => configuration.resourceVersion,
    logger,
  });
}
