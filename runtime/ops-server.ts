/**
 * The plain-HTTP operations endpoints of the long-running commands: `GET /metrics` (as upstream serves it
 * on `prometheus-port`, controller-runtime.md §6.1), and, when readiness checks are given, `GET /healthz`
 * and `GET /readyz` (503 naming what is not ready). Any other path is a 404. Headers must arrive within
 * 2 s (upstream's ReadHeaderTimeout). A port that cannot be opened is logged and does not stop the
 * process.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import { healthAnswer, type ReadinessCheck } from "./health.ts";
import type { Logger } from "./logger.ts";

/** A `--port` value: 0–65535, where 0 picks a free port; undefined for anything else. */
export function parsePort(text: string): number | undefined {
  const port = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  return Number.isInteger(port) && port <= 65535 ? port : undefined;
}

export interface MetricsServer {
  /** The port listened on, or undefined when it could not be opened. */
  readonly port: number | undefined;
  close(): Promise<void>;
}

export async function startMetricsServer(options: {
  readonly port: number;
  readonly registry: Registry;
  readonly logger: Logger;
  /** Serve `/healthz` and `/readyz` too, ready when every check is. */
  readonly readiness?: readonly ReadinessCheck[];
}): Promise<MetricsServer> {
  const { registry, logger, readiness } = options;
  const server: Server = createServer(
    { headersTimeout: 2_000, requestTimeout: 10_000 },
    (request, response) => {
      const path = (request.url ?? "").split("?")[0] ?? "";
      const health = request.method === "GET" && readiness ? healthAnswer(path, readiness) : undefined;
      if (health !== undefined) {
        response.writeHead(health.status, { "content-type": "text/plain" }).end(health.body);
        return;
      }
      if (request.method !== "GET" || path !== "/metrics") {
        response.writeHead(404, { "content-type": "text/plain" }).end("404 page not found\n");
        return;
      }
      registry.metrics().then(
        (text) => response.writeHead(200, { "content-type": registry.contentType }).end(text),
        (error: unknown) => {
          logger.error({ err: error }, "collecting metrics failed");
          response.writeHead(500, { "content-type": "text/plain" }).end("collecting metrics failed\n");
        },
      );
    },
  );
  const port = await new Promise<number | undefined>((resolve) => {
    server.once("error", (error) => {
      logger.error({ port: options.port, reason: error.message }, "http server exited");
      resolve(undefined);
    });
    server.listen(options.port, () => resolve((server.address() as AddressInfo).port));
  });
  if (port !== undefined) {
    logger.info(
      { port },
      readiness ? "serving GET /metrics, /healthz, /readyz over HTTP" : "serving GET /metrics over HTTP",
    );
  }
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        if (port === undefined) return resolve();
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
