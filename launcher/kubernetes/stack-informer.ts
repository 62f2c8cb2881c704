/**
 * An informer on one kind of this stack's objects in its namespace (`stackLabelSelector`): the list
 * bound, the restart metric and the back-off, the same for Jobs and Pods.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { Registry } from "prom-client";
import { createInformer, type Informer } from "../../runtime/informer.ts";
import type { Logger } from "../../runtime/logger.ts";
import type { Config } from "../../src/config/types.ts";
import { kubernetesMetrics } from "./metrics.ts";
import { stackLabelSelector } from "./selector.ts";

export interface StackInformerOptions {
  readonly kubeConfig: KubeConfig;
  readonly config: Pick<Config, "namespace" | "id">;
  readonly logger: Logger;
  readonly registry: Registry;
  /** Bound on each list call; default 60 s. */
  readonly listTimeoutMs?: number;
  /** Restart back-off after a failed list or watch; defaults 1 s doubling to 30 s. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

export interface StackKind<S> {
  /** `Jobs`, `Pods`: for messages. */
  readonly what: string;
  /** The `resource` label of the restart metric. */
  readonly resource: string;
  /** The collection's path under the namespace's API path, e.g. `/apis/batch/v1/namespaces/NS/jobs`. */
  path(namespace: string): string;
  readonly transform: (object: unknown) => S | undefined;
  readonly nameOf: (snapshot: S) => string;
  readonly versionOf: (snapshot: S) => string;
}

export function createStackInformer<S>(options: StackInformerOptions, kind: StackKind<S>): Informer<S> {
  const { namespace } = options.config;
  const metrics = kubernetesMetrics(options.registry);
  return createInformer<S>({
    kubeConfig: options.kubeConfig,
    path: kind.path(namespace),
    what: kind.what,
    labelSelector: stackLabelSelector(options.config),
    transform: kind.transform,
    nameOf: kind.nameOf,
    versionOf: kind.versionOf,
    logger: options.logger,
    onRestart: () => metrics.informer.restarts.inc({ resource: kind.resource }),
    ...(options.listTimeoutMs === undefined ? {} : { listTimeoutMs: options.listTimeoutMs }),
    ...(options.initialBackoffMs === undefined ? {} : { initialBackoffMs: options.initialBackoffMs }),
    ...(options.maxBackoffMs === undefined ? {} : { maxBackoffMs: options.maxBackoffMs }),
  });
}
