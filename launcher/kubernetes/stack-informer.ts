/**
 * An informer on one kind of this stack's objects in its namespace (`stackLabelSelector`): the list
 * call with its bound, the restart metric and the back-off, the same for Jobs and Pods. Each list is
 * one attempt: the informer's own back-off does the retrying.
 */
import type { ConfigurationOptions, KubeConfig } from "@kubernetes/client-node";
import type { Registry } from "prom-client";
import { callKube } from "../../runtime/kube.ts";
import type { Logger } from "../../runtime/logger.ts";
import type { Config } from "../../src/config/types.ts";
import { createInformer, type Informer } from "./informer.ts";
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

interface ListParameters {
  readonly namespace: string;
  readonly labelSelector: string;
  readonly timeoutSeconds: number;
}

export interface StackKind<S> {
  /** `Jobs`, `Pods`: for messages. */
  readonly what: string;
  /** The `resource` label of the restart metric. */
  readonly resource: string;
  /** The collection's path under the namespace's API path, e.g. `/apis/batch/v1/namespaces/NS/jobs`. */
  path(namespace: string): string;
  /** One list call with the generated client. */
  list(
    parameters: ListParameters,
    config: ConfigurationOptions,
  ): Promise<{ items: readonly unknown[]; metadata?: { resourceVersion?: string } }>;
  readonly transform: (object: unknown) => S | undefined;
  readonly nameOf: (snapshot: S) => string;
  readonly versionOf: (snapshot: S) => string;
}

const DEFAULT_LIST_TIMEOUT_MS = 60_000;

export function createStackInformer<S>(options: StackInformerOptions, kind: StackKind<S>): Informer<S> {
  const { namespace } = options.config;
  const labelSelector = stackLabelSelector(options.config);
  const listTimeoutMs = options.listTimeoutMs ?? DEFAULT_LIST_TIMEOUT_MS;
  const metrics = kubernetesMetrics(options.registry);
  return createInformer<S>({
    kubeConfig: options.kubeConfig,
    path: kind.path(namespace),
    what: kind.what,
    labelSelector,
    list: async (signal) => {
      const result = await callKube(
        `list the ${kind.what} of namespace ${namespace}`,
        (config) =>
          kind.list({ namespace, labelSelector, timeoutSeconds: Math.ceil(listTimeoutMs / 1000) }, config),
        { signal, timeoutMs: listTimeoutMs, retry: { attempts: 1, initialDelayMs: 0, maxDelayMs: 0 } },
      );
      return { items: result.items, resourceVersion: result.metadata?.resourceVersion ?? "" };
    },
    transform: kind.transform,
    nameOf: kind.nameOf,
    versionOf: kind.versionOf,
    logger: options.logger,
    onRestart: () => metrics.informer.restarts.inc({ resource: kind.resource }),
    ...(options.initialBackoffMs === undefined ? {} : { initialBackoffMs: options.initialBackoffMs }),
    ...(options.maxBackoffMs === undefined ? {} : { maxBackoffMs: options.maxBackoffMs }),
  });
}
