/**
 * `agent-stack-k8s webhook`: the admission webhook server. It runs until SIGTERM or SIGINT, then stops
 * accepting connections, finishes the admissions in flight and exits 0; a second signal exits at once.
 * Configuration problems, and a certificate or key that does not load, exit 2 before anything listens.
 */
import { type CommandIo, lineStream, onTermination, readInput } from "../runtime/command-io.ts";
import { parsePort } from "../runtime/ops-server.ts";
import type { CommandFlag } from "../src/config/args.ts";
import { parseDuration } from "../src/config/duration.ts";
import { formatHelp } from "../src/config/help.ts";
import { loadConfig } from "../src/config/load.ts";
import { AgentStackError, isAgentStackError } from "../src/errors.ts";
import { type PodReference, podFromEnv } from "./pod-reference.ts";
import { DEFAULT_REQUEST_TIMEOUT_MS, MAX_REQUEST_TIMEOUT_MS } from "./request-timeout.ts";
import type { PodTemplateMode, RunningWebhook, WebhookOptions } from "./start.ts";

export const WEBHOOK_FLAGS = [
  {
    name: "tls-cert-file",
    valueName: "FILE",
    type: "string",
    required: true,
    description: "serving certificate (PEM, chain allowed); re-read when it changes",
  },
  {
    name: "tls-key-file",
    valueName: "FILE",
    type: "string",
    required: true,
    description: "private key of the serving certificate (PEM); re-read when it changes",
  },
  {
    name: "port",
    valueName: "PORT",
    type: "string",
    default: "8443",
    description: "HTTPS port of POST /mutate, GET /healthz, /readyz and /metrics; 0 picks a free port",
  },
  {
    name: "host",
    valueName: "ADDRESS",
    type: "string",
    default: "0.0.0.0",
    description: "address to listen on (:: for IPv6 and dual-stack)",
  },
  {
    name: "request-timeout",
    valueName: "DURATION",
    type: "string",
    default: `${DEFAULT_REQUEST_TIMEOUT_MS / 1000}s`,
    description:
      "budget of one request, from its first byte to the answer; keep it under the webhook's timeoutSeconds (10s in the chart)",
  },
  {
    name: "pod-templates",
    valueName: "SOURCE",
    type: "string",
    values: ["cluster", "none"],
    description:
      "where podTemplate names are looked up: cluster (an informer on the namespace's PodTemplates, the default) or none (no cluster: such jobs are denied); --pod-template FILE reads them from files instead",
  },
  {
    name: "pod-template",
    valueName: "FILE",
    type: "stringList",
    description: "PodTemplate objects (YAML or JSON) to look podTemplate names up in, instead of the cluster",
  },
] as const satisfies readonly CommandFlag[];

/** After the request budget, the slowest admission in flight is over: allow a little more, then go. */
const SHUTDOWN_GRACE_MS = 5_000;

export async function webhookCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const prepared = webhookOptions(args, io);
  if (prepared === "help") {
    io.stdout(`${formatHelp("webhook", WEBHOOK_FLAGS)}\n`);
    return 0;
  }
  // Loaded once the flags are read: fastify, prom-client and (for the cluster's PodTemplates) the
  // Kubernetes client are what a webhook costs, and `--help` needs none of them.
  const { startWebhook } = await import("./start.ts");
  let webhook: RunningWebhook;
  try {
    webhook = await startWebhook(prepared);
  } catch (error) {
    if (isAgentStackError(error)) throw error;
    io.stderr(`agent-stack-k8s webhook: cannot start: ${(error as Error).message}\n`);
    return 1;
  }

  const signal = await new Promise<NodeJS.Signals>((resolve) => onTermination(resolve));
  webhook.logger.info({ signal }, "shutting down: no new connections, finishing the requests in flight");
  const deadline = prepared.requestTimeoutMs + SHUTDOWN_GRACE_MS;
  const closed = await Promise.race([
    webhook.close().then(() => true),
    new Promise<false>((resolve) => setTimeout(resolve, deadline, false).unref()),
  ]);
  if (!closed) {
    webhook.logger.warn({ deadlineMs: deadline }, "shutdown did not finish in time: exiting anyway");
    return 1;
  }
  webhook.logger.info("shut down");
  return 0;
}

/**
 * What the webhook runs with, from the command line, the environment and the `--config` file; "help"
 * for `--help`. Throws `ASK_CLI_USAGE` and the configuration errors, which exit 2.
 */
export function webhookOptions(args: readonly string[], io: CommandIo): WebhookOptions | "help" {
  let configText: string | undefined;
  const loaded = loadConfig({
    args,
    env: io.env,
    commandFlags: WEBHOOK_FLAGS,
    subcommand: "webhook",
    readFile: (path) => {
      configText = io.readInput(path);
      return configText;
    },
  });
  if (loaded.help) return "help";
  const { flags } = loaded;
  if (loaded.positionals.length > 0) usage(`unexpected argument ${JSON.stringify(loaded.positionals[0])}`);
  return {
    config: loaded.config,
    ...(loaded.configFile !== undefined && configText !== undefined
      ? { configFile: { path: loaded.configFile, text: configText } }
      : {}),
    // The same flags and environment, a new text of the file: precedence is kept on every reload.
    reloadConfig: (text) =>
      loadConfig({
        args,
        env: io.env,
        commandFlags: WEBHOOK_FLAGS,
        subcommand: "webhook",
        readFile: () => text,
      }),
    configWarnings: loaded.warnings,
    tls: { certFile: flags["tls-cert-file"] as string, keyFile: flags["tls-key-file"] as string },
    host: flags.host,
    port: parsePort(flags.port) ?? usage(`--port ${JSON.stringify(flags.port)}: expected a port 0–65535`),
    requestTimeoutMs: parseRequestTimeout(flags["request-timeout"]),
    podTemplates: podTemplateMode(flags["pod-templates"], flags["pod-template"], io),
    logDestination: lineStream(io.stdout),
    ...podOf(io.env),
  };
}

/** The pod the webhook runs in, when the downward API says (the chart sets POD_NAME, POD_NAMESPACE, POD_UID). */
function podOf(env: Readonly<Record<string, string | undefined>>): { pod?: PodReference } {
  const pod = podFromEnv(env);
  return pod === undefined ? {} : { pod };
}

function podTemplateMode(
  source: string | undefined,
  files: readonly string[],
  io: CommandIo,
): PodTemplateMode {
  if (files.length > 0) {
    if (source !== undefined) usage("give either --pod-templates or --pod-template FILE, not both");
    return {
      kind: "files",
      files: files.map((path) => ({ path, text: readInput(io, path, "--pod-template") })),
    };
  }
  return source === "none" ? { kind: "none" } : { kind: "cluster" };
}

function parseRequestTimeout(text: string): number {
  const parsed = parseDuration(text);
  if (!parsed.ok) usage(`--request-timeout: ${parsed.error}`);
  const ms = parsed.nanoseconds / 1e6;
  if (ms <= 0 || ms > MAX_REQUEST_TIMEOUT_MS) {
    usage(
      `--request-timeout ${text}: expected more than 0 and at most 30s (kube-apiserver's longest timeoutSeconds)`,
    );
  }
  return ms;
}

function usage(message: string): never {
  throw new AgentStackError("ASK_CLI_USAGE", `webhook: ${message} (see agent-stack-k8s webhook --help)`);
}
