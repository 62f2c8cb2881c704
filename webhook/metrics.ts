/**
 * The webhook's Prometheus metrics, in a registry of their own (one per server, so tests can run several
 * servers in one process), with Node's process metrics beside them. Every label value is created at 0 up
 * front, so a dashboard sees each series before the first event.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export const METRIC_PREFIX = "agent_stack_k8s_webhook_";

export const REQUEST_RESULTS = ["expanded", "unchanged", "denied", "bad_request", "error"] as const;
export type RequestResult = (typeof REQUEST_RESULTS)[number];

export const RELOAD_RESULTS = ["success", "error"] as const;
export type ReloadResult = (typeof RELOAD_RESULTS)[number];

/** Admission takes well under a millisecond; the default buckets (from 5 ms) would hide it. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface WebhookMetrics {
  readonly registry: Registry;
  readonly requests: Counter<"result">;
  readonly denials: Counter<"code">;
  readonly requestDuration: Histogram<"result">;
  readonly requestsInFlight: Gauge;
  readonly configReloads: Counter<"result">;
  /** 1 while the --config file holds a configuration that does not load (the previous one is served). */
  readonly configInvalid: Gauge;
  readonly certificateReloads: Counter<"result">;
  readonly certificateExpiry: Gauge;
  readonly podTemplateInformerRestarts: Counter;
  /** Set by whoever owns the PodTemplate cache: how many it holds right now. */
  podTemplatesCached: () => number;
}

export interface MetricsOptions {
  /** Node's process metrics (`process_*`, `nodejs_*`); off in tests that build many registries. */
  readonly defaultMetrics?: boolean;
}

export function createWebhookMetrics(options: MetricsOptions = {}): WebhookMetrics {
  const registry = new Registry();
  const registers = [registry];
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  const requests = new Counter({
    name: `${METRIC_PREFIX}requests_total`,
    help: "AdmissionReview requests answered, by result",
    labelNames: ["result"] as const,
    registers,
  });
  for (const result of REQUEST_RESULTS) requests.inc({ result }, 0);

  const denials = new Counter({
    name: `${METRIC_PREFIX}denials_total`,
    help: "Jobs denied, by the error code of the reason",
    labelNames: ["code"] as const,
    registers,
  });

  const requestDuration = new Histogram({
    name: `${METRIC_PREFIX}request_duration_seconds`,
    help: "Time from a request's arrival to its answer, body upload included, by result",
    labelNames: ["result"] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });

  const requestsInFlight = new Gauge({
    name: `${METRIC_PREFIX}requests_in_flight`,
    help: "AdmissionReview requests received and not yet answered",
    registers,
  });

  const configReloads = new Counter({
    name: `${METRIC_PREFIX}config_reloads_total`,
    help: "Reloads of a changed --config file: success applied it, error kept the previous configuration",
    labelNames: ["result"] as const,
    registers,
  });
  const configInvalid = new Gauge({
    name: `${METRIC_PREFIX}config_invalid`,
    help: "1 while the --config file holds a configuration that does not load and the previous one is served",
    registers,
  });
  const certificateReloads = new Counter({
    name: `${METRIC_PREFIX}certificate_reloads_total`,
    help: "Reloads of a changed certificate and key: success swapped them in, error kept the previous pair",
    labelNames: ["result"] as const,
    registers,
  });
  for (const result of RELOAD_RESULTS) {
    configReloads.inc({ result }, 0);
    certificateReloads.inc({ result }, 0);
  }

  const certificateExpiry = new Gauge({
    name: `${METRIC_PREFIX}certificate_expiry_timestamp_seconds`,
    help: "When the serving certificate in use expires (notAfter), in seconds since the epoch",
    registers,
  });

  const podTemplateInformerRestarts = new Counter({
    name: `${METRIC_PREFIX}pod_template_informer_restarts_total`,
    help: "Times the PodTemplate list/watch failed and was started again after a back-off",
    registers,
  });

  const metrics: WebhookMetrics = {
    registry,
    requests,
    denials,
    requestDuration,
    requestsInFlight,
    configReloads,
    configInvalid,
    certificateReloads,
    certificateExpiry,
    podTemplateInformerRestarts,
    podTemplatesCached: () => 0,
  };
  new Gauge({
    name: `${METRIC_PREFIX}pod_templates_cached`,
    help: "PodTemplates of the namespace held in the informer cache",
    registers,
    collect() {
      this.set(metrics.podTemplatesCached());
    },
  });
  return metrics;
}
