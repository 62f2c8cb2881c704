/**
 * The running webhook, wired in one place: certificate and key (reloaded) → configuration (reloaded) →
 * PodTemplate cache → metrics → HTTPS server → optional plain-HTTP metrics port. `command.ts` adds the
 * command line and the signals around it; tests start it directly.
 */
import type { AddressInfo } from "node:net";
import type { KubeConfig } from "@kubernetes/client-node";
import type { ReadinessCheck } from "../runtime/health.ts";
import { createLogger, type LogDestination, type Logger } from "../runtime/logger.ts";
import { type MetricsServer, startMetricsServer } from "../runtime/ops-server.ts";
import type { AdmissionContext } from "../src/admission/admit.ts";
import type { Config } from "../src/config/types.ts";
import type { PodTemplateFile } from "../src/render/pod-templates.ts";
import { VERSION } from "../src/version.ts";
import { type ConfigReloader, type LoadedFromText, startConfigReloader } from "./config-reloader.ts";
import { createWebhookMetrics } from "./metrics.ts";
import type { EventRecorder } from "./pod-events.ts";
import type { PodReference } from "./pod-reference.ts";
import { filePodTemplates, noPodTemplates, type PodTemplateSource } from "./pod-templates.ts";
import { buildWebhookServer, useTlsPair } from "./server.ts";
import { loadTlsPair, startTlsReloader, type TlsFiles } from "./tls-reloader.ts";
import type { FileWatchOptions } from "./watch-files.ts";

export type PodTemplateMode =
  | { readonly kind: "cluster"; readonly kubeConfig?: KubeConfig }
  | { readonly kind: "none" }
  | { readonly kind: "files"; readonly files: readonly PodTemplateFile[] };

export interface WebhookOptions {
  readonly config: Config;
  /** The `--config` file and the text the configuration was loaded from; absent: nothing to reload. */
  readonly configFile?: { readonly path: string; readonly text: string };
  /** Loads the configuration again from a new text of the file, with the same flags and environment. */
  readonly reloadConfig: (text: string) => LoadedFromText;
  /** Warnings of the first load, logged once the logger exists. */
  readonly configWarnings?: readonly string[];
  readonly tls: TlsFiles;
  readonly host: string;
  readonly port: number;
  readonly requestTimeoutMs: number;
  readonly podTemplates: PodTemplateMode;
  /** Where log lines go; stdout by default. */
  readonly logDestination?: LogDestination;
  /** The webhook's pod (downward API): problems it should not keep to its log become Events on it. */
  readonly pod?: PodReference;
  /** For those Events; default: in-cluster configuration or kubeconfig. */
  readonly kubeConfig?: KubeConfig;
  /** Tests check files more often than the default minute. */
  readonly watch?: FileWatchOptions;
  readonly version?: string;
}

export interface RunningWebhook {
  readonly port: number;
  readonly metricsPort: number | undefined;
  readonly logger: Logger;
  /** Stops accepting, finishes what is in flight, stops watching; resolves when all is closed. */
  close(): Promise<void>;
}

export async function startWebhook(options: WebhookOptions): Promise<RunningWebhook> {
  let config = options.config;
  const logger = createLogger({
    name: "webhook",
    config,
    ...(options.logDestination ? { destination: options.logDestination } : {}),
  });
  for (const warning of options.configWarnings ?? []) logger.warn(warning);
  if (config.profilerAddress !== "") {
    logger.warn(
      { profilerAddress: config.profilerAddress },
      "profiler-address is accepted for compatibility, but Node serves no Go pprof: profile with node --cpu-prof or --inspect",
    );
  }
  const metrics = createWebhookMetrics();
  const firstPair = loadTlsPair(options.tls);

  const podTemplates = await podTemplateSource(
    options.podTemplates,
    options.kubeConfig,
    config,
    logger,
    metrics,
  );
  metrics.podTemplatesCached = podTemplates.count;
  const version = options.version ?? VERSION;
  let context: AdmissionContext = { config, podTemplates: podTemplates.resolve, version };

  let tls = { current: () => firstPair };
  const readiness: ReadinessCheck[] = [
    // An expired certificate is refused by kube-apiserver: say so where `kubectl get pods` shows it.
    { name: "certificates", ready: () => tls.current().notAfter.getTime() > Date.now() },
    { name: "config", ready: () => true },
    { name: "pod-templates", ready: podTemplates.ready },
  ];
  const server = buildWebhookServer({
    tls: firstPair,
    context: () => context,
    readiness,
    logger,
    metrics,
    requestTimeoutMs: options.requestTimeoutMs,
  });

  try {
    await server.listen({ host: options.host, port: options.port });
  } catch (error) {
    await podTemplates.stop();
    await server.close();
    throw error;
  }
  const port = (server.server.address() as AddressInfo).port;

  const tlsReloader = startTlsReloader({
    files: options.tls,
    initial: firstPair,
    apply: (pair) => useTlsPair(server, pair),
    logger,
    metrics,
    ...(options.watch ? { watch: options.watch } : {}),
  });
  tls = tlsReloader;

  let configReloader: ConfigReloader | undefined;
  if (options.configFile) {
    const events = options.pod ? await eventRecorder(options.pod, options.kubeConfig, logger) : undefined;
    configReloader = startConfigReloader({
      configFile: options.configFile.path,
      initialText: options.configFile.text,
      initial: config,
      load: options.reloadConfig,
      apply: (next) => {
        config = next;
        context = { ...context, config };
        logger.level = config.logLevel;
      },
      logger,
      metrics,
      ...(options.watch ? { watch: options.watch } : {}),
      ...(events ? { onInvalid: (message: string) => void events.warning("InvalidConfig", message) } : {}),
    });
  }

  let metricsServer: MetricsServer | undefined;
  if (config.prometheusPort > 0) {
    metricsServer = await startMetricsServer({
      port: config.prometheusPort,
      registry: metrics.registry,
      logger,
    });
  }

  logger.info(
    {
      host: options.host,
      port,
      version,
      namespace: config.namespace,
      podTemplates: options.podTemplates.kind,
      configFile: options.configFile?.path,
      notAfter: firstPair.notAfter.toISOString(),
    },
    "webhook listening: POST /mutate, GET /healthz, /readyz, /metrics",
  );

  return {
    port,
    metricsPort: metricsServer?.port,
    logger,
    close: async () => {
      tlsReloader.close();
      configReloader?.close();
      await server.close();
      await metricsServer?.close();
      await podTemplates.stop();
    },
  };
}

async function podTemplateSource(
  mode: PodTemplateMode,
  kubeConfig: KubeConfig | undefined,
  config: Config,
  logger: Logger,
  metrics: ReturnType<typeof createWebhookMetrics>,
): Promise<PodTemplateSource> {
  switch (mode.kind) {
    case "none":
      return noPodTemplates();
    case "files":
      return filePodTemplates(mode.files);
    case "cluster": {
      // The only mode that talks to a cluster, so the only one that loads the Kubernetes client.
      const [{ informerPodTemplates }, { loadKubeConfig }] = await Promise.all([
        import("./pod-template-informer.ts"),
        import("../runtime/kube-config.ts"),
      ]);
      return informerPodTemplates({
        kubeConfig: mode.kubeConfig ?? kubeConfig ?? loadKubeConfig(),
        namespace: config.namespace,
        logger,
        metrics,
      });
    }
  }
}

/** Events on the webhook's pod; they talk to the cluster, so they load the Kubernetes client. */
async function eventRecorder(
  pod: PodReference,
  kubeConfig: KubeConfig | undefined,
  logger: Logger,
): Promise<EventRecorder | undefined> {
  const [{ createEventRecorder }, { loadKubeConfig }] = await Promise.all([
    import("./pod-events.ts"),
    import("../runtime/kube-config.ts"),
  ]);
  try {
    return createEventRecorder({
      kubeConfig: kubeConfig ?? loadKubeConfig(),
      pod,
      component: "agent-stack-k8s-webhook",
      logger,
    });
  } catch (error) {
    logger.warn(
      { err: (error as Error).message },
      "no Kubernetes client configuration: no Events on the pod",
    );
    return undefined;
  }
}
