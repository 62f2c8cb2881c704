/**
 * `GET /healthz` and `GET /readyz` on the webhook's HTTPS server (`runtime/health.ts` says what they
 * answer). While the server shuts down, fastify answers 503 to everything.
 */
import type { FastifyInstance, RawServerBase } from "fastify";
import { HEALTH_PATHS, healthAnswer, type ReadinessCheck } from "../runtime/health.ts";

export function registerHealthRoutes<Server extends RawServerBase>(
  server: FastifyInstance<Server>,
  checks: readonly ReadinessCheck[],
): void {
  for (const path of HEALTH_PATHS) {
    server.get(path, (_request, reply) => {
      const answer = healthAnswer(path, checks) ?? { status: 200, body: "ok\n" };
      reply.code(answer.status).type("text/plain").send(answer.body);
    });
  }
}
