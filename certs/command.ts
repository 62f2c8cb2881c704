/**
 * `agent-stack-k8s certs`: the webhook's CA and serving certificate.
 *
 * - `--out-dir DIR` alone: files only (local runs, tests), renewed in place.
 * - `--secret NAME --service NAME [--webhook-configuration NAME]`: a Secret in the configured namespace,
 *   shared by every replica, and the CA patched into the webhook configuration's `caBundle`; with
 *   `--out-dir` too, a copy of the files for a webhook container (a sidecar next to it).
 * - `--watch`: keep running, renew at two thirds of the lifetime, check every `--check-interval`, and
 *   at once when the webhook configuration changes (a replace that wiped its caBundle); SIGTERM or
 *   SIGINT stop it with exit status 0. With `--port`, `/healthz`, `/readyz` (the last check succeeded)
 *   and `/metrics` are served over HTTP for the pod's probes.
 *
 * This module reads and checks the flags; `run.ts`, imported once they are good, does the work (and
 * loads the Kubernetes client only for a Secret).
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { RetryPolicy } from "../runtime/backoff.ts";
import type { CommandIo } from "../runtime/command-io.ts";
import type { KubeCallOptions } from "../runtime/kube.ts";
import { parsePort } from "../runtime/ops-server.ts";
import type { CommandFlag } from "../src/config/args.ts";
import { DURATION_SYNTAX, MILLISECOND, parseDuration } from "../src/config/duration.ts";
import { formatHelp } from "../src/config/help.ts";
import { loadConfig } from "../src/config/load.ts";
import type { Config } from "../src/config/types.ts";
import { AgentStackError } from "../src/errors.ts";
import type { ServingCertificateOptions } from "./generate.ts";
import { DEFAULT_RENEW_FRACTION } from "./inspect.ts";

export const DEFAULT_SERVICE = "agent-stack-k8s-webhook";

export const CERTS_FLAGS = [
  {
    name: "out-dir",
    valueName: "DIR",
    type: "string",
    description:
      "write ca.crt, tls.crt and tls.key (0600) here; alone, the directory is the store (with ca.key)",
  },
  {
    name: "secret",
    valueName: "NAME",
    type: "string",
    description: "keep the certificates in this kubernetes.io/tls Secret of the namespace (cluster mode)",
  },
  {
    name: "service",
    valueName: "NAME",
    type: "string",
    description: `the webhook Service whose DNS names the certificate covers (required with --secret; default ${DEFAULT_SERVICE} with --out-dir alone)`,
  },
  {
    name: "webhook-configuration",
    valueName: "NAME",
    type: "string",
    description: "set the caBundle of every webhook of this MutatingWebhookConfiguration (with --secret)",
  },
  {
    name: "dns-name",
    valueName: "NAME",
    type: "stringList",
    description: "another DNS name for the serving certificate, e.g. localhost",
  },
  {
    name: "ip-address",
    valueName: "IP",
    type: "stringList",
    description: "an IP address for the serving certificate, e.g. 127.0.0.1",
  },
  {
    name: "ca-validity",
    valueName: "DURATION",
    type: "string",
    default: "87600h",
    description: "lifetime of a new CA (10 years)",
  },
  {
    name: "serving-validity",
    valueName: "DURATION",
    type: "string",
    default: "8760h",
    description: "lifetime of a new serving certificate (1 year)",
  },
  {
    name: "renew-fraction",
    valueName: "FRACTION",
    type: "string",
    description: "renew a certificate once this fraction of its lifetime has passed, in (0, 1]; default 2/3",
  },
  { name: "watch", type: "bool", description: "keep running and renew the certificates when due" },
  {
    name: "check-interval",
    valueName: "DURATION",
    type: "string",
    default: "10m",
    description: "with --watch: longest time between two checks",
  },
  {
    name: "port",
    valueName: "PORT",
    type: "string",
    description:
      "with --watch: serve GET /healthz, /readyz (ready once a check succeeded, until one fails) and /metrics over HTTP on this port; 0 picks a free port",
  },
] as const satisfies readonly CommandFlag[];

/** Seams for tests; production uses the defaults. */
export interface CertsCommandContext {
  /** Default: in-cluster configuration or kubeconfig (`KubeConfig.loadFromDefault`). */
  readonly kubeConfig?: KubeConfig;
  readonly now?: () => Date;
  /** Stops `--watch` as SIGTERM does. */
  readonly signal?: AbortSignal;
  /** Called once `--watch` serves its probes (tests read the port). */
  readonly onListening?: (port: number | undefined) => void;
  readonly call?: KubeCallOptions;
  readonly caBundleRetry?: RetryPolicy;
  readonly watchRetry?: RetryPolicy;
}

/** What to do, from the flags: every usage problem is found before anything runs. */
export interface CertsPlan {
  readonly config: Config;
  readonly warnings: readonly string[];
  readonly certificates: Omit<ServingCertificateOptions, "now">;
  readonly renewFraction: number;
  readonly outDir: string | undefined;
  /** The Secret store (cluster mode). */
  readonly secret: { readonly name: string; readonly webhookConfiguration: string | undefined } | undefined;
  /** With `--watch`: the longest time between two checks. */
  readonly checkIntervalMs: number | undefined;
  /** With `--watch`: where the probes and metrics are served. */
  readonly port: number | undefined;
}

export async function certsCommand(
  args: readonly string[],
  io: CommandIo,
  context: CertsCommandContext = {},
): Promise<number> {
  const loaded = loadConfig({ args, env: io.env, commandFlags: CERTS_FLAGS, readFile: io.readInput });
  if (loaded.help) {
    io.stdout(`${formatHelp("certs", CERTS_FLAGS)}\n`);
    return 0;
  }
  const { flags, config } = loaded;
  if (loaded.positionals.length > 0) usage(`unexpected argument ${JSON.stringify(loaded.positionals[0])}`);
  const outDir = flags["out-dir"];
  const secretName = flags.secret;
  if (outDir === undefined && secretName === undefined) usage("give --out-dir DIR, --secret NAME, or both");
  if (secretName !== undefined && flags.service === undefined) {
    usage("--secret needs --service NAME: the certificate must name the Service kube-apiserver calls");
  }
  if (flags["webhook-configuration"] !== undefined && secretName === undefined) {
    usage("--webhook-configuration needs --secret: the CA it trusts must be shared by every replica");
  }
  if (flags.port !== undefined && !flags.watch)
    usage("--port needs --watch: only a running keeper has probes");
  const port =
    flags.port === undefined
      ? undefined
      : (parsePort(flags.port) ?? usage(`--port ${JSON.stringify(flags.port)}: expected a port 0–65535`));
  const plan: CertsPlan = {
    config,
    warnings: loaded.warnings,
    certificates: {
      serviceName: flags.service ?? DEFAULT_SERVICE,
      namespace: config.namespace,
      dnsNames: flags["dns-name"],
      ipAddresses: flags["ip-address"],
      validity: {
        caDays: days(flags["ca-validity"], "--ca-validity"),
        servingDays: days(flags["serving-validity"], "--serving-validity"),
      },
    },
    renewFraction: renewFraction(flags["renew-fraction"]),
    outDir,
    secret:
      secretName === undefined
        ? undefined
        : { name: secretName, webhookConfiguration: flags["webhook-configuration"] },
    checkIntervalMs: flags.watch ? durationMs(flags["check-interval"], "--check-interval") : undefined,
    port,
  };
  const { runCerts } = await import("./run.ts");
  return runCerts(plan, io, context);
}

function durationMs(text: string, flag: string): number {
  const parsed = parseDuration(text);
  if (!parsed.ok) usage(`${flag} ${JSON.stringify(text)}: ${parsed.error}; expected ${DURATION_SYNTAX}`);
  if (parsed.nanoseconds <= 0) usage(`${flag} ${JSON.stringify(text)}: must be longer than 0`);
  return parsed.nanoseconds / MILLISECOND;
}

function days(text: string, flag: string): number {
  return durationMs(text, flag) / (24 * 60 * 60 * 1000);
}

function renewFraction(text: string | undefined): number {
  if (text === undefined) return DEFAULT_RENEW_FRACTION;
  const fraction = Number(text);
  if (text.trim() === "" || !(fraction > 0 && fraction <= 1)) {
    usage(`--renew-fraction ${JSON.stringify(text)}: expected a number in (0, 1], such as 0.5`);
  }
  return fraction;
}

function usage(message: string): never {
  throw new AgentStackError("ASK_CLI_USAGE", `${message} (see agent-stack-k8s certs --help)`);
}
