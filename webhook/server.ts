/**
 * The webhook's fastify HTTPS server, built from what it is given (TLS material, the admission context,
 * readiness checks, a logger, metrics) so that tests need no files and no cluster.
 *
 * Timeouts, all below kube-apiserver's: the webhook's `timeoutSeconds` is 10 s in the chart, so a request
 * (headers and body) must arrive within `requestTimeoutMs` (default 9 s) or it is answered 408/503 and
 * dropped; a TLS handshake gets as long. The expansion itself is synchronous and takes well under a
 * millisecond, so the budget is spent only by a slow or stuck client. Idle keep-alive connections stay
 * open for 2 minutes, longer than the 90 s after which Go's HTTP client (kube-apiserver's) drops them
 * itself, so the server never closes a connection the client is about to reuse.
 */
import { STATUS_CODES } from "node:http";
import type { Server as HttpsServer, ServerOptions as HttpsServerOptions } from "node:https";
import type { Duplex } from "node:stream";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import type { ReadinessCheck } from "../runtime/health.ts";
import type { Logger } from "../runtime/logger.ts";
import type { AdmissionContext } from "../src/admission/admit.ts";
import { answerAndClose, isClosing, isDraining } from "./graceful-close.ts";
import { registerHealthRoutes } from "./health.ts";
import type { WebhookMetrics } from "./metrics.ts";
import {
  type AdmitFunction,
  DEFAULT_BODY_LIMIT,
  registerMutateRoute,
  requestTimeoutMessage,
} from "./mutate-route.ts";
import { DEFAULT_REQUEST_TIMEOUT_MS } from "./request-timeout.ts";
import { secureContextOptions, type TlsPair } from "./tls-reloader.ts";

const KEEP_ALIVE_TIMEOUT_MS = 120_000;
/**
 * How often Node looks for requests past their timeout: 30 s by default, far too coarse here. The
 * budget is enforced within this much, so 9 s plus 0.5 s stays under the chart's 10 s.
 */
const TIMEOUT_CHECK_INTERVAL_MS = 500;
/** How long a broken connection is kept half-open for its client to finish sending and read the answer. */
const LINGER_MS = 2_000;

export type WebhookServer = FastifyInstance<HttpsServer>;

export interface WebhookServerOptions {
  readonly tls: Pick<TlsPair, "cert" | "key">;
  readonly context: () => AdmissionContext;
  readonly readiness: readonly ReadinessCheck[];
  readonly logger: Logger;
  readonly metrics: WebhookMetrics;
  readonly requestTimeoutMs?: number;
  readonly bodyLimit?: number;
  /** Replaces the admission function; tests use it to make it throw. */
  readonly admit?: AdmitFunction;
}

export function buildWebhookServer(options: WebhookServerOptions): WebhookServer {
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const https: HttpsServerOptions = {
    ...secureContextOptions(options.tls),
    handshakeTimeout: requestTimeoutMs,
    requestTimeout: requestTimeoutMs,
    headersTimeout: requestTimeoutMs,
    connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
  };
  const server = Fastify({
    https,
    loggerInstance: options.logger as FastifyBaseLogger,
    // One line per admission comes from the route, without the body; fastify's two per request would
    // double the log volume and say less.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    requestTimeout: requestTimeoutMs,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    // A backstop for a socket that goes silent in any other state; longer than keep-alive so it never
    // cuts an idle connection first.
    connectionTimeout: KEEP_ALIVE_TIMEOUT_MS + 10_000,
    // Node's own request timeout is the budget (no per-request timer: fastify's handlerTimeout costs
    // an AbortController and a DOMException per request, a twentieth of an admission).
    clientErrorHandler: (error, socket) => answerClientError(error, socket, requestTimeoutMs),
  });

  let closing = false;
  server.addHook("preClose", (done) => {
    closing = true;
    done();
  });
  registerMutateRoute(server, {
    closing: () => closing,
    context: options.context,
    metrics: options.metrics,
    logger: options.logger,
    bodyLimit,
    requestTimeoutMs,
    ...(options.admit ? { admit: options.admit } : {}),
  });
  registerHealthRoutes(server, options.readiness);
  server.get("/metrics", async (_request, reply) => {
    reply.type(options.metrics.registry.contentType);
    return options.metrics.registry.metrics();
  });
  return server;
}

/**
 * What Node reports outside a route: the request timeout (408, with the webhook's message), headers too
 * large (431), anything else malformed (400). The answer goes out after the responses under way, and the
 * connection is half-closed so that a client still sending reads it (see `graceful-close.ts`). A
 * request whose answer has gone while its body is dropped is simply cut at its timeout.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex, requestTimeoutMs: number): void {
  if (error.code === "ECONNRESET" || socket.destroyed || isClosing(socket)) return;
  if (isDraining(socket)) {
    socket.destroy();
    return;
  }
  const timeout = error.code === "ERR_HTTP_REQUEST_TIMEOUT";
  const [status, message] = timeout
    ? [408, requestTimeoutMessage(requestTimeoutMs)]
    : error.code === "HPE_HEADER_OVERFLOW"
      ? [431, "the request's headers are too large"]
      : [400, `malformed HTTP request: ${error.message}`];
  const body = JSON.stringify({ code: "ASK_WEBHOOK_BAD_REQUEST", message });
  const response = `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  answerAndClose(socket, response, { lingerMs: LINGER_MS, afterResponsesUnderWay: !timeout });
}

/** Swaps the serving certificate: new handshakes use it, established connections keep theirs. */
export function useTlsPair(server: WebhookServer, pair: Pick<TlsPair, "cert" | "key">): void {
  server.server.setSecureContext(secureContextOptions(pair));
}
