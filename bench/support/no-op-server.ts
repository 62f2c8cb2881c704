/**
 * The floor of any webhook, run as a process of its own: fastify over HTTPS, the body parsed as JSON,
 * `allowed: true` in the version asked. `node bench/support/no-op-server.ts CERT KEY PORT [ANSWER]`:
 * with ANSWER (a file holding an AdmissionReview answer), that answer is sent instead, with the
 * request's uid, so the floor can carry as many bytes back as the real webhook's answer does.
 */
import { readFileSync } from "node:fs";
import Fastify from "fastify";

const [certFile, keyFile, port, answerFile] = process.argv.slice(2) as [string, string, string, string?];
const canned =
  answerFile === undefined
    ? undefined
    : (JSON.parse(readFileSync(answerFile, "utf8")) as { response: Record<string, unknown> });
const server = Fastify({
  https: { cert: readFileSync(certFile), key: readFileSync(keyFile), minVersion: "TLSv1.2" },
  bodyLimit: 7 * 1024 * 1024,
});
server.post("/mutate", (request, reply) => {
  const review = request.body as { apiVersion: string; request: { uid: string } };
  if (canned !== undefined) {
    reply.send({ ...canned, response: { ...canned.response, uid: review.request.uid } });
    return;
  }
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
