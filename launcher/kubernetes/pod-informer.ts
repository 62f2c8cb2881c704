/**
 * The informer on this stack's pods (same selector as the Jobs: the Job's labels are on its pod
 * template), shared by the pod watcher, the cancel checker and the completion watcher, as upstream
 * shares one Pods informer between its watchers.
 */
import { CoreV1Api } from "@kubernetes/client-node";
import type { Informer } from "./informer.ts";
import { type PodSnapshot, podSnapshot } from "./pod-snapshot.ts";
import { createStackInformer, type StackInformerOptions } from "./stack-informer.ts";

export type PodInformerOptions = StackInformerOptions;

export function createPodInformer(options: PodInformerOptions): Informer<PodSnapshot> {
  const api = options.kubeConfig.makeApiClient(CoreV1Api);
  return createStackInformer(options, {
    what: "Pods",
    resource: "pods",
    path: (namespace) => `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
    list: (parameters, config) => api.listNamespacedPod(parameters, config),
    transform: podSnapshot,
    nameOf: (pod) => pod.name,
    versionOf: (pod) => pod.resourceVersion,
  });
}
