/**
 * The PodTemplates of the webhook's namespace, from the cluster: the stack's informer (list, then
 * watch; `runtime/informer.ts`), so an admission reads a local cache instead of calling the API server
 * on the path of every Job create. Each template is decoded to the PodSpec an expansion starts from as
 * it arrives, once per version, and only that is kept.
 *
 * The source is ready once the first list has arrived. When the list or the watch fails, the informer
 * starts again after a back-off, for as long as the webhook runs; meanwhile the last contents keep
 * serving (as a client-go informer's store does), because refusing every `podTemplate` job during an
 * API server hiccup would be worse than a template a few seconds old.
 *
 * This module loads the Kubernetes client: the webhook imports it only with `--pod-templates cluster`.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { createInformer } from "../runtime/informer.ts";
import type { Logger } from "../runtime/logger.ts";
import type { PodSpec } from "../src/generated/k8s-types.ts";
import { copyJson } from "../src/k8s/copy.ts";
import { decodeDefinition, isPlainObject } from "../src/k8s/decode.ts";
import type { WebhookMetrics } from "./metrics.ts";
import type { PodTemplateSource } from "./pod-templates.ts";

export interface PodTemplateInformerOptions {
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  readonly logger: Logger;
  readonly metrics: WebhookMetrics;
  /** Bound on each list call; the API server is also asked to give up after it. */
  readonly listTimeoutMs?: number;
  /** First delay before starting again after a failure; it doubles up to `maxBackoffMs`. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

/** What the cache keeps of a PodTemplate: its decoded pod spec, or why it cannot be used. */
interface CachedTemplate {
  readonly name: string;
  readonly resourceVersion: string;
  readonly spec: PodSpec | Error;
}

const DEFAULT_LIST_TIMEOUT_MS = 30_000;

export function informerPodTemplates(options: PodTemplateInformerOptions): PodTemplateSource {
  const { namespace, metrics } = options;
  const informer = createInformer<CachedTemplate>({
    kubeConfig: options.kubeConfig,
    path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/podtemplates`,
    what: "PodTemplates",
    hint: "without a cluster, run with --pod-templates none or --pod-template FILE",
    listTimeoutMs: options.listTimeoutMs ?? DEFAULT_LIST_TIMEOUT_MS,
    transform: (object) => cachedTemplate(object, namespace),
    nameOf: (template) => template.name,
    versionOf: (template) => template.resourceVersion,
    logger: options.logger,
    onRestart: () => metrics.podTemplateInformerRestarts.inc(),
    ...(options.initialBackoffMs === undefined ? {} : { initialBackoffMs: options.initialBackoffMs }),
    ...(options.maxBackoffMs === undefined ? {} : { maxBackoffMs: options.maxBackoffMs }),
  });
  informer.start();

  return {
    resolve: (name) => {
      if (!informer.hasSynced()) {
        throw new Error(
          `the PodTemplates of namespace ${namespace} are not loaded yet (the webhook is not ready)`,
        );
      }
      const template = informer.get(name);
      if (template === undefined) {
        throw new Error(`podtemplates ${JSON.stringify(name)} not found in namespace ${namespace}`);
      }
      if (template.spec instanceof Error) throw template.spec;
      // The expansion changes what it is given; the cache must stay as the API server sent it.
      return copyJson(template.spec);
    },
    ready: () => informer.hasSynced(),
    count: () => informer.list().length,
    stop: () => informer.stop(),
  };
}

function cachedTemplate(template: unknown, namespace: string): CachedTemplate | undefined {
  if (!isPlainObject(template) || !isPlainObject(template.metadata)) return undefined;
  const { name, resourceVersion } = template.metadata;
  if (typeof name !== "string" || name === "") return undefined;
  return {
    name,
    resourceVersion: typeof resourceVersion === "string" ? resourceVersion : "",
    spec: decodePodSpec(template, name, namespace),
  };
}

function decodePodSpec(template: Record<string, unknown>, name: string, namespace: string): PodSpec | Error {
  const spec = isPlainObject(template.template) ? template.template.spec : undefined;
  if (spec === undefined || spec === null) {
    return new Error(`podtemplates ${JSON.stringify(name)} in namespace ${namespace} has no template.spec`);
  }
  try {
    return decodeDefinition<PodSpec>(spec, "io.k8s.api.core.v1.PodSpec", {
      errorCode: "ASK_POD_TEMPLATE_FETCH",
      unknownFields: "drop",
      rootPath: `podtemplates/${name}.template.spec`,
    }).value;
  } catch (error) {
    return error as Error;
  }
}
