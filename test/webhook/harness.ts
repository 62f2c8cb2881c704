/**
 * What the webhook tests share: certificates from `certs/generate.ts`, the real server on a random port,
 * an HTTPS client that trusts the test CA, and the server's log lines as parsed JSON.
 */
import { Agent, request } from "node:https";
import { PassThrough } from "node:stream";
import { type CertificateBundle, generateCertificates } from "../../certs/generate.ts";
import { createLogger, type Logger } from "../../runtime/logger.ts";
import type { AdmissionContext } from "../../src/admission/admit.ts";
import type { Config } from "../../src/config/types.ts";
import type { PodTemplateResolver } from "../../src/expand/index.ts";
import type { ReadinessCheck } from "../../webhook/health.ts";
import { createWebhookMetrics, type WebhookMetrics } from "../../webhook/metrics.ts";
import type { AdmitFunction } from "../../webhook/mutate-route.ts";
import { buildWebhookServer, type WebhookServer } from "../../webhook/server.ts";
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
export function httpsClient(port: number, ca: string, options: { keepAlive?: boolean } = {}): Client {
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
