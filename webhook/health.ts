/**
 * `GET /healthz`: the process answers (liveness). `GET /readyz`: every dependency an admission needs is
 * loaded (readiness): 503 with the names of those that are not, so `kubectl describe pod` says what the
 * webhook is waiting for. While the server shuts down, fastify answers 503 to everything.
 */
import type { FastifyInstance, RawServerBase } from "fastify";
import type { ReadinessCheck } from "../runtime/ops-server.ts";

export type { ReadinessCheck } from "../runtime/ops-server.ts";

export function registerHealthRoutes<Server extends RawServerBase>(
  server: FastifyInstance<Server>,
  checks: readonly ReadinessCheck[],
): void {
  server.get("/healthz", (_request, reply) => {
    reply.type("text/plain").send("ok\n");
  });
  server.get("/readyz", (_request, reply) => {
    const waiting = checks.filter((check) => !check.ready()).map((check) => check.name);
    if (waiting.length > 0) {
      reply
        .code(503)
        .type("text/plain")
        .send(`not ready: waiting for ${waiting.join(", ")}\n`);
      return;
    }
    reply.type("text/plain").send("ok\n");
  });
}
