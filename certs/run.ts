/**
 * The work of `agent-stack-k8s certs` once its flags are good (`command.ts`): one provisioning pass,
 * or `--watch` until SIGTERM or SIGINT. Only the Secret store talks to a cluster, so only it loads the
 * Kubernetes client.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { Counter, Registry } from "prom-client";
import type { RetryPolicy } from "../runtime/backoff.ts";
import { type CommandIo, lineStream, onTermination } from "../runtime/command-io.ts";
import type { KubeClient } from "../runtime/kube.ts";
import type { KubeApiError } from "../runtime/kube-api-error.ts";
import { createLogger, type Logger } from "../runtime/logger.ts";
import { startMetricsServer } from "../runtime/ops-server.ts";
import type { CertsCommandContext, CertsPlan } from "./command.ts";
import { type ClusterStore, type ProvisionOptions, provisionOnce } from "./provision.ts";
import { watchCertificates } from "./watch.ts";

const WATCH_RETRY: RetryPolicy = {
  attempts: Number.POSITIVE_INFINITY,
  initialDelayMs: 1_000,
  maxDelayMs: 300_000,
};

export async function runCerts(
  plan: CertsPlan,
  io: CommandIo,
  context: CertsCommandContext,
): Promise<number> {
  const logger = createLogger({ name: "certs", config: plan.config, destination: lineStream(io.stdout) });
  for (const warning of plan.warnings) logger.warn(warning);
  let kubeConfig: KubeConfig | undefined;
  let cluster: ClusterStore | undefined;
  if (plan.secret !== undefined) {
    const [{ kubeClient }, { loadKubeConfig }] = await Promise.all([
      import("../runtime/kube.ts"),
      import("../runtime/kube-config.ts"),
    ]);
    kubeConfig = context.kubeConfig ?? loadKubeConfig("ASK_CERTS_KUBERNETES_API");
    cluster = clusterStore(plan.secret, plan.config.namespace, kubeClient(kubeConfig), context, logger);
  }
  const options: ProvisionOptions = {
    certificates: plan.certificates,
    renewFraction: plan.renewFraction,
    now: context.now ?? (() => new Date()),
    outDir: plan.outDir,
    cluster,
    logger,
  };
  if (plan.checkIntervalMs === undefined) {
    await provisionOnce(options);
    return 0;
  }
  return watch(options, plan.checkIntervalMs, { context, logger, port: plan.port, kubeConfig });
}

async function watch(
  options: ProvisionOptions,
  checkIntervalMs: number,
  run: {
    readonly context: CertsCommandContext;
    readonly logger: Logger;
    readonly port: number | undefined;
    readonly kubeConfig: KubeConfig | undefined;
  },
): Promise<number> {
  const { context, logger } = run;
  const controller = new AbortController();
  const removeSignalHandlers = onTermination((signal) => {
    logger.info({ signal }, "stopping");
    controller.abort();
  });
  const signal =
    context.signal === undefined ? controller.signal : AbortSignal.any([controller.signal, context.signal]);
  // API calls stop with the watch, so a shutdown never waits for their retries.
  const cluster =
    options.cluster === undefined
      ? undefined
      : { ...options.cluster, call: { ...options.cluster.call, signal } };
  const registry = new Registry();
  const passes = new Counter({
    name: "agent_stack_k8s_certs_checks_total",
    help: "Certificate checks (Secret, files and caBundle brought up to date), by result",
    labelNames: ["result"] as const,
    registers: [registry],
  });
  let inOrder = false;
  const ops =
    run.port === undefined
      ? undefined
      : await startMetricsServer({
          port: run.port,
          registry,
          logger,
          readiness: [{ name: "certificates", ready: () => inOrder }],
        });
  context.onListening?.(ops?.port);
  // The webhook configuration followed: a replace that wiped its caBundle is seen within seconds.
  const configuration =
    cluster?.webhookConfiguration === undefined || run.kubeConfig === undefined
      ? undefined
      : (await import("./configuration-informer.ts")).webhookConfigurationInformer(
          run.kubeConfig,
          cluster.webhookConfiguration,
          logger,
        );
  configuration?.start();
  try {
    await watchCertificates(() => provisionOnce({ ...options, cluster }), {
      signal,
      checkIntervalMs,
      retry: context.watchRetry ?? WATCH_RETRY,
      now: options.now,
      logger,
      onPass: (ok) => {
        inOrder = ok;
        passes.inc({ result: ok ? "success" : "error" });
      },
      ...(configuration ? { nudges: (nudge: () => void) => configuration.subscribe(() => nudge()) } : {}),
    });
    logger.info("stopped");
    return 0;
  } finally {
    removeSignalHandlers();
    await configuration?.stop();
    await ops?.close();
  }
}

function clusterStore(
  secret: NonNullable<CertsPlan["secret"]>,
  namespace: string,
  client: KubeClient,
  context: CertsCommandContext,
  logger: Logger,
): ClusterStore {
  let lastRetried: string | undefined;
  const onRetry = (error: KubeApiError, attempt: number, delayMs: number) => {
    // A struggling API server fails the same way many times: say it once.
    const level = error.message === lastRetried ? "debug" : "warn";
    lastRetried = error.message;
    logger[level](
      { error: error.message, attempt, retryInMs: delayMs },
      "Kubernetes API call failed; retrying",
    );
  };
  return {
    client,
    namespace,
    secretName: secret.name,
    webhookConfiguration: secret.webhookConfiguration,
    call: { ...context.call, onRetry },
    ...(context.caBundleRetry === undefined ? {} : { caBundleRetry: context.caBundleRetry }),
  };
}
