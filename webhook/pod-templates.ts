/**
 * Where the webhook finds the PodTemplates that steps name with `podTemplate`.
 *
 * In the cluster: an informer (list, then watch) on the PodTemplates of `namespace`, so an admission
 * reads a local cache instead of calling the API server on the path of every Job create. The cache is
 * ready once the first list has arrived. When the list or the watch fails, the informer is started again
 * after a back-off that doubles up to a bound, for as long as the webhook runs; meanwhile the last
 * contents keep serving (as a client-go informer's store does), because refusing every `podTemplate`
 * job during an API server hiccup would be worse than a template a few seconds old.
 *
 * Without a cluster: the `--pod-template` files, as `render` reads them, or none at all.
 */
import { CoreV1Api, type KubeConfig, makeInformer, type V1PodTemplate } from "@kubernetes/client-node";
import { callKube } from "../runtime/kube.ts";
import type { Logger } from "../runtime/logger.ts";
import type { PodTemplateResolver } from "../src/expand/index.ts";
import type { PodSpec } from "../src/generated/k8s-types.ts";
import { copyJson } from "../src/k8s/copy.ts";
import { decodeDefinition } from "../src/k8s/decode.ts";
import { type PodTemplateFile, podTemplatesFrom } from "../src/render/pod-templates.ts";
import type { WebhookMetrics } from "./metrics.ts";

export interface PodTemplateSource {
  readonly resolve: PodTemplateResolver;
  /** Whether admissions may rely on `resolve` yet. */
  ready(): boolean;
  /** How many templates are known, for the metrics. */
  count(): number;
  stop(): Promise<void>;
}

export function noPodTemplates(): PodTemplateSource {
  return {
    resolve: (name) => {
      throw new Error(
        `podtemplates ${JSON.stringify(name)} cannot be looked up: the webhook runs with --pod-templates none`,
      );
    },
    ready: () => true,
    count: () => 0,
    stop: async () => {},
  };
}

export function filePodTemplates(files: readonly PodTemplateFile[]): PodTemplateSource {
  const resolve = podTemplatesFrom(files);
  // The count is the informer cache's; files are not a cache.
  return { resolve, ready: () => true, count: () => 0, stop: async () => {} };
}

export interface InformerOptions {
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

const DEFAULT_LIST_TIMEOUT_MS = 30_000;
const DEFAULT_INITIAL_BACKOFF_MS = 1_000;
const DEFAULT_MAX_BACKOFF_MS = 30_000;

export function informerPodTemplates(options: InformerOptions): PodTemplateSource {
  const { namespace, logger, metrics } = options;
  const listTimeoutMs = options.listTimeoutMs ?? DEFAULT_LIST_TIMEOUT_MS;
  const initialBackoffMs = options.initialBackoffMs ?? DEFAULT_INITIAL_BACKOFF_MS;
  const maxBackoffMs = options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
  const api = options.kubeConfig.makeApiClient(CoreV1Api);

  // One attempt, cancelled at the timeout: the informer's own restart loop is the retry.
  const list = () =>
    callKube(
      `list the PodTemplates of namespace ${namespace}`,
      (callOptions) =>
        api.listNamespacedPodTemplate(
          { namespace, timeoutSeconds: Math.ceil(listTimeoutMs / 1000) },
          callOptions,
        ),
      { timeoutMs: listTimeoutMs, retry: { attempts: 1, initialDelayMs: 0, maxDelayMs: 0 } },
    );
  const informer = makeInformer<V1PodTemplate>(
    options.kubeConfig,
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/podtemplates`,
    list,
  );

  let synced = false;
  let stopped = false;
  let failedSinceStart = false;
  let backoffMs = initialBackoffMs;
  let restart: NodeJS.Timeout | undefined;

  const start = async () => {
    restart = undefined;
    if (stopped) return;
    failedSinceStart = false;
    await informer.start();
    if (failedSinceStart || stopped) return;
    backoffMs = initialBackoffMs;
    if (!synced)
      logger.info({ namespace, count: informer.list(namespace).length }, "PodTemplate cache synced");
    synced = true;
  };

  informer.on("error", (error: unknown) => {
    failedSinceStart = true;
    if (stopped || restart) return;
    metrics.podTemplateInformerRestarts.inc();
    logger.warn(
      {
        namespace,
        reason: describeError(error),
        retryInMs: backoffMs,
        synced,
        ...(synced
          ? {}
          : { hint: "without a cluster, run with --pod-templates none or --pod-template FILE" }),
      },
      "PodTemplate list/watch failed: starting it again after a back-off",
    );
    restart = setTimeout(() => void start().catch(reportUnexpected), backoffMs);
    restart.unref();
    backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
  });
  const reportUnexpected = (error: unknown) =>
    logger.error({ namespace, err: error }, "PodTemplate informer failed to start");
  void start().catch(reportUnexpected);

  // Decoded once per object version: the informer replaces an object on every update.
  const decoded = new WeakMap<V1PodTemplate, PodSpec | Error>();
  const specOf = (template: V1PodTemplate, name: string): PodSpec => {
    let spec = decoded.get(template);
    if (spec === undefined) {
      spec = decodePodTemplate(template, name, namespace);
      decoded.set(template, spec);
    }
    if (spec instanceof Error) throw spec;
    return copyJson(spec);
  };

  return {
    resolve: (name) => {
      if (!synced) {
        throw new Error(
          `the PodTemplates of namespace ${namespace} are not loaded yet (the webhook is not ready)`,
        );
      }
      const template = informer.get(name, namespace);
      if (template === undefined) {
        throw new Error(`podtemplates ${JSON.stringify(name)} not found in namespace ${namespace}`);
      }
      return specOf(template, name);
    },
    ready: () => synced,
    count: () => informer.list(namespace).length,
    stop: async () => {
      stopped = true;
      if (restart) clearTimeout(restart);
      await informer.stop();
    },
  };
}

function decodePodTemplate(template: V1PodTemplate, name: string, namespace: string): PodSpec | Error {
  // The list's objects are the client's model classes, the watch's are plain JSON: make both plain.
  const spec: unknown = JSON.parse(JSON.stringify(template.template?.spec ?? null));
  if (spec === null)
    return new Error(`podtemplates ${JSON.stringify(name)} in namespace ${namespace} has no template.spec`);
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

function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
