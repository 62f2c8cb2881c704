/**
 * Follows the one MutatingWebhookConfiguration whose caBundle the certs keeper keeps (a field selector on
 * its name), so that a replace that wipes the caBundle (`helm upgrade --force`, a GitOps tool applying
 * the chart's rendering) is seen within seconds rather than at the next periodic check. The launcher's
 * informer does the listing, watching and restarting; only the name and version are kept.
 */
import { AdmissionregistrationV1Api, type KubeConfig } from "@kubernetes/client-node";
import { createInformer, type Informer } from "../launcher/kubernetes/informer.ts";
import { callKube } from "../runtime/kube.ts";
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
  const api = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const fieldSelector = `metadata.name=${name}`;
  return createInformer<ConfigurationVersion>({
    kubeConfig,
    path: "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
    what: `MutatingWebhookConfiguration ${name}`,
    labelSelector: "",
    fieldSelector,
    list: async (signal) => {
      const list = await callKube(
        `list MutatingWebhookConfiguration ${name}`,
        (config) => api.listMutatingWebhookConfiguration({ fieldSelector }, config),
        { signal, retry: { attempts: 1, initialDelayMs: 0, maxDelayMs: 0 } },
      );
      return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? "" };
    },
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
