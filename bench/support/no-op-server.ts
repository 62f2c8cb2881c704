/**
 * The floor of any webhook, run as a process of its own: fastify over HTTPS, the body parsed as JSON,
 * `allowed: true` in the version asked. `node bench/support/no-op-server.ts CERT KEY PORT`.
 */
import { readFileSync } from "node:fs";
import Fastify from "fastify";

const [certFile, keyFile, port] = process.argv.slice(2) as [string, string, string];
const server = Fastify({
  https: { cert: readFileSync(certFile), key: readFileSync(keyFile), minVersion: "TLSv1.2" },
  bodyLimit: 7 * 1024 * 1024,
});
server.post("/mutate", (request, reply) => {
  const review = request.body as { apiVersion: string; request: { uid: string } };
  reply.send({
    apiVersion: review.apiVersion,
    kind: "AdmissionReview",
    response: { uid: review.request.uid, allowed: true },
  });
});
server.get("/readyz", (_request, reply) => {
  reply.send("ok\n");
});
await server.listen({ host: "127.0.0.1", port: Number(port) });
process.on("SIGTERM", () => void server.close().then(() => process.exit(0)));
