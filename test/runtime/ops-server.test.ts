import { PassThrough } from "node:stream";
import { Counter, Registry } from "prom-client";
import { expect, test } from "vitest";
import { createLogger } from "../../runtime/logger.ts";
import { startMetricsServer } from "../../runtime/ops-server.ts";

test("with readiness checks it serves /healthz, /readyz (naming what it waits for) and /metrics", async () => {
  const registry = new Registry();
  new Counter({ name: "things_total", help: "things", registers: [registry] }).inc();
  let synced = false;
  const server = await startMetricsServer({
    port: 0,
    registry,
    logger: createLogger({
      name: "t",
      config: { logLevel: "error", logFormat: "json" },
      destination: new PassThrough(),
    }),
    readiness: [
      { name: "jobs-informer", ready: () => synced },
      { name: "first-poll", ready: () => true },
    ],
  });
  const get = (path: string) => fetch(`http://127.0.0.1:${server.port}${path}`);
  try {
    expect((await get("/healthz")).status).toBe(200);
    const notReady = await get("/readyz");
    expect([notReady.status, await notReady.text()]).toEqual([503, "not ready: waiting for jobs-informer\n"]);
    synced = true;
    expect((await get("/readyz")).status).toBe(200);
    expect(await (await get("/metrics")).text()).toContain("things_total 1");
    expect((await get("/nope")).status).toBe(404);
  } finally {
    await server.close();
  }
});
