/**
 * The informer on this stack's pods (same selector as the Jobs: the Job's labels are on its pod
 * template), shared by the pod watcher, the cancel checker and the completion watcher, as upstream
 * shares one Pods informer between its watchers.
 */
import type { Informer } from "../../runtime/informer.ts";
import { type PodSnapshot, podSnapshot } from "./pod-snapshot.ts";
import { createStackInformer, type StackInformerOptions } from "./stack-informer.ts";

export type PodInformerOptions = StackInformerOptions;

export function createPodInformer(options: PodInformerOptions): Informer<PodSnapshot> {
  return createStackInformer(options, {
    what: "Pods",
    resource: "pods",
    path: (namespace) => `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
    transform: podSnapshot,
    nameOf: (pod) => pod.name,
    versionOf: (pod) => pod.resourceVersion,
  });
}
