/**
 * The informer on this stack's pods (same selector as the Jobs: the Job's labels are on its pod
 * template), shared by the pod watcher, the cancel checker and the completion watcher, as upstream
 * shares one Pods informer between its watchers.
 */
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { Registry } from "prom-client";
import { callKube } from "../../runtime/kube.ts";
import type { Logger } from "../../runtime/logger.ts";
import type { Config } from "../../src/config/types.ts";
import { createInformer, type Informer } from "./informer.ts";
import { kubernetesMetrics } from "./metrics.ts";
import { type PodSnapshot, podSnapshot } from "./pod-snapshot.ts";
import { stackLabelSelector } from "./selector.ts";

export interface PodInformerOptions {
  readonly kubeConfig: KubeConfig;
  readonly config: Pick<Config, "namespace" | "id">;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly listTimeoutMs?: number;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

const DEFAULT_LIST_TIMEOUT_MS = 60_000;

export function createPodInformer(options: PodInformerOptions): Informer<PodSnapshot> {
  const { namespace } = options.config;
  const api = options.kubeConfig.makeApiClient(CoreV1Api);
  const labelSelector = stackLabelSelector(options.config);
  const listTimeoutMs = options.listTimeoutMs ?? DEFAULT_LIST_TIMEOUT_MS;
  const metrics = kubernetesMetrics(options.registry);
  return createInformer<PodSnapshot>({
    kubeConfig: options.kubeConfig,
    path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
    what: "Pods",
    labelSelector,
    list: async (signal) => {
      const result = await callKube(
        `list the Pods of namespace ${namespace}`,
        (config) =>
          api.listNamespacedPod(
            { namespace, labelSelector, timeoutSeconds: Math.ceil(listTimeoutMs / 1000) },
            config,
          ),
        { signal, timeoutMs: listTimeoutMs, retry: { attempts: 1, initialDelayMs: 0, maxDelayMs: 0 } },
      );
      return { items: result.items, resourceVersion: result.metadata?.resourceVersion ?? "" };
    },
    transform: podSnapshot,
    nameOf: (pod) => pod.name,
    versionOf: (pod) => pod.resourceVersion,
    logger: options.logger,
    onRestart: () => metrics.informer.restarts.inc({ resource: "pods" }),
    ...(options.initialBackoffMs === undefined ? {} : { initialBackoffMs: options.initialBackoffMs }),
    ...(options.maxBackoffMs === undefined ? {} : { maxBackoffMs: options.maxBackoffMs }),
  });
}
