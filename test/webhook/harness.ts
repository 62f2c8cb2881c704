/**
 * What the webhook tests share: certificates from `certs/generate.ts`, the real server on a random port,
 * an HTTPS client that trusts the test CA, and the server's log lines as parsed JSON.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import type { KubeConfig } from "@kubernetes/client-node";
import { type CertificateBundle, generateCertificates } from "../../certs/generate.ts";
import type { CommandIo } from "../../runtime/command-io.ts";
import type { ReadinessCheck } from "../../runtime/health.ts";
import { createLogger, type Logger } from "../../runtime/logger.ts";
import type { AdmissionContext } from "../../src/admission/admit.ts";
import type { Config } from "../../src/config/types.ts";
import type { PodTemplateResolver } from "../../src/expand/index.ts";
import { webhookOptions } from "../../webhook/command.ts";
import { createWebhookMetrics, type WebhookMetrics } from "../../webhook/metrics.ts";
import type { AdmitFunction } from "../../webhook/mutate-route.ts";
import { buildWebhookServer, type WebhookServer } from "../../webhook/server.ts";
import { type PodTemplateMode, type RunningWebhook, startWebhook } from "../../webhook/start.ts";
import { TEST_VERSION, testConfig } from "../support/fixtures.ts";

export function newCertificates(now?: Date): Promise<CertificateBundle> {
  return generateCertificates({
    serviceName: "agent-stack-k8s-webhook",
    namespace: "buildkite",
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1"],
    ...(now ? { now } : {}),
  });
}

export interface LogCapture {
  readonly stream: PassThrough;
  /** Every line written so far, parsed. */
  lines(): Array<Record<string, unknown>>;
  text(): string;
}

export function captureLogs(): LogCapture {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => {
    text += chunk.toString("utf8");
  });
  return {
    stream,
    text: () => text,
    lines: () =>
      text
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

export function testLogger(capture: LogCapture): Logger {
  return createLogger({
    name: "webhook",
    config: { logLevel: "debug", logFormat: "json" },
    destination: capture.stream,
  });
}

export interface Response {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  json(): Record<string, unknown>;
}

export interface Client {
  post(path: string, body: string | Buffer, headers?: Record<string, string>): Promise<Response>;
  postJson(path: string, value: unknown): Promise<Response>;
  get(path: string): Promise<Response>;
  close(): void;
}

/** An HTTPS client for `https://localhost:<port>` that trusts `ca` and keeps connections alive. */
export function httpsClient(
  port: number,
  ca: string | string[],
  options: { keepAlive?: boolean } = {},
): Client {
  const agent = new Agent({ keepAlive: options.keepAlive ?? true, ca, servername: "localhost" });
  const send = (method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}) =>
    new Promise<Response>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, path, method, agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: text,
            json: () => JSON.parse(text) as Record<string, unknown>,
          });
        });
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(body);
    });
  return {
    post: (path, body, headers = { "content-type": "application/json" }) => send("POST", path, body, headers),
    postJson: (path, value) =>
      send("POST", path, JSON.stringify(value), { "content-type": "application/json" }),
    get: (path) => send("GET", path),
    close: () => agent.destroy(),
  };
}

export interface TestServerOptions {
  readonly config?: Config;
  readonly podTemplates?: PodTemplateResolver;
  readonly readiness?: readonly ReadinessCheck[];
  readonly admit?: AdmitFunction;
  readonly requestTimeoutMs?: number;
  readonly bodyLimit?: number;
}

export interface TestServer {
  readonly server: WebhookServer;
  readonly port: number;
  readonly certificates: CertificateBundle;
  readonly client: Client;
  readonly logs: LogCapture;
  readonly metrics: WebhookMetrics;
  close(): Promise<void>;
}

let shared: Promise<CertificateBundle> | undefined;

/** The server of `server.ts`, built with injected dependencies and listening on a random port. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  shared ??= newCertificates();
  const certificates = await shared;
  const logs = captureLogs();
  const metrics = createWebhookMetrics({ defaultMetrics: false });
  const context: AdmissionContext = {
    config: options.config ?? testConfig(),
    version: TEST_VERSION,
    ...(options.podTemplates ? { podTemplates: options.podTemplates } : {}),
  };
  const server = buildWebhookServer({
    tls: certificates,
    context: () => context,
    readiness: options.readiness ?? [],
    logger: testLogger(logs),
    metrics,
    ...(options.admit ? { admit: options.admit } : {}),
    ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    ...(options.bodyLimit ? { bodyLimit: options.bodyLimit } : {}),
  });
  await server.listen({ host: "127.0.0.1", port: 0 });
  const port = (server.server.address() as { port: number }).port;
  const client = httpsClient(port, certificates.caCert);
  return {
    server,
    port,
    certificates,
    client,
    logs,
    metrics,
    close: async () => {
      client.close();
      await server.close();
    },
  };
}

/** The JSON Patch of an admission answer, decoded. */
export function patchOf(response: Record<string, unknown>): unknown[] | undefined {
  const patch = (response as { patch?: string }).patch;
  return patch === undefined
    ? undefined
    : (JSON.parse(Buffer.from(patch, "base64").toString("utf8")) as unknown[]);
}

/**
 * A directory laid out as kubelet mounts a Secret or ConfigMap: each file is a symlink through `..data`,
 * itself a symlink to a timestamped directory, and an update swaps `..data` in one atomic rename.
 */
export function kubeletMount(directory: string) {
  let generation = 0;
  return {
    path: (name: string) => join(directory, name),
    write(files: Readonly<Record<string, string>>): void {
      generation += 1;
      const target = `..${generation}_${Date.now()}`;
      mkdirSync(join(directory, target));
      for (const [name, text] of Object.entries(files)) {
        writeFileSync(join(directory, target, name), text);
        if (!existsSync(join(directory, name))) symlinkSync(join("..data", name), join(directory, name));
      }
      symlinkSync(target, join(directory, "..data_tmp"));
      renameSync(join(directory, "..data_tmp"), join(directory, "..data"));
    },
  };
}

/** Polls `condition` every 20 ms until it holds; fails after `timeoutMs` saying what it waited for. */
export async function eventually(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`still waiting, after ${timeoutMs} ms, for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface RunningTestWebhook {
  readonly webhook: RunningWebhook;
  readonly logs: LogCapture;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The whole webhook as `agent-stack-k8s webhook ARGS` starts it (flags, environment, config file,
 * certificate files), in this process, logging JSON lines, checking its files every 100 ms.
 */
export async function runWebhook(
  args: readonly string[],
  options: { env?: Record<string, string>; podTemplates?: PodTemplateMode; kubeConfig?: KubeConfig } = {},
): Promise<RunningTestWebhook> {
  const logs = captureLogs();
  const io: CommandIo = {
    stdout: (text) => logs.stream.write(text),
    stderr: (text) => logs.stream.write(text),
    readInput: (path) => readFileSync(path, "utf8"),
    env: options.env ?? {},
  };
  const prepared = webhookOptions(
    ["--log-format", "json", "--log-level", "debug", "--port", "0", ...args],
    io,
  );
  if (prepared === "help") throw new Error("--help given");
  const webhook = await startWebhook({
    ...prepared,
    host: "127.0.0.1",
    watch: { debounceMs: 20, pollIntervalMs: 100 },
    ...(options.podTemplates ? { podTemplates: options.podTemplates } : {}),
    ...(options.kubeConfig ? { kubeConfig: options.kubeConfig } : {}),
  });
  return { webhook, logs, port: webhook.port, close: () => webhook.close() };
}

export { freePort } from "../support/free-port.ts";
