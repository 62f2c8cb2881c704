/**
 * Health, readiness and metrics: `/healthz`, `/readyz` naming what it waits for, `/metrics` on the HTTPS
 * port with the webhook's metric names, the plain-HTTP `prometheus-port`, the in-flight gauge and the
 * per-request budget.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildSkeleton } from "../../src/admission/skeleton.ts";
import { admissionReview, testConfig, testJob } from "../support/fixtures.ts";
import {
  eventually,
  freePort,
  newCertificates,
  runWebhook,
  startTestServer,
  type TestServer,
} from "./harness.ts";

const review = admissionReview(buildSkeleton(testJob(), testConfig()), "endpoint-uid");

describe("/healthz and /readyz", () => {
  let webhook: TestServer;
  const state = { certificates: false, config: true, podTemplates: false };
  beforeAll(async () => {
    webhook = await startTestServer({
      readiness: [
        { name: "certificates", ready: () => state.certificates },
        { name: "config", ready: () => state.config },
        { name: "pod-templates", ready: () => state.podTemplates },
      ],
    });
  });
  afterAll(() => webhook.close());

  test("/readyz is 503 naming each dependency not yet loaded, then 200; /healthz is 200 throughout", async () => {
    const first = await webhook.client.get("/readyz");
    expect(first.status).toBe(503);
    expect(first.body).toBe("not ready: waiting for certificates, pod-templates\n");
    expect((await webhook.client.get("/healthz")).status).toBe(200);

    state.certificates = true;
    expect((await webhook.client.get("/readyz")).body).toBe("not ready: waiting for pod-templates\n");
    state.podTemplates = true;
    const ready = await webhook.client.get("/readyz");
    expect(ready.status).toBe(200);
    expect(ready.body).toBe("ok\n");
  });

  test("an unknown path is a 404", async () => {
    expect((await webhook.client.get("/mutate/x")).status).toBe(404);
  });
});

describe("/metrics", () => {
  let webhook: TestServer;
  beforeAll(async () => {
    webhook = await startTestServer();
  });
  afterAll(() => webhook.close());

  test("counts requests by result, denials by code and times them", async () => {
    await webhook.client.postJson("/mutate", review);
    const denied = testJob({ plugin: { podSpec: { containers: [{ image: "not a valid image" }] } } });
    await webhook.client.postJson("/mutate", admissionReview(buildSkeleton(denied, testConfig())));
    await webhook.client.post("/mutate", "{");
    const metrics = await webhook.client.get("/metrics");
    expect(metrics.status).toBe(200);
    expect(metrics.headers["content-type"]).toMatch(/^text\/plain/);
    for (const line of [
      'agent_stack_k8s_webhook_requests_total{result="expanded"} 1',
      'agent_stack_k8s_webhook_requests_total{result="denied"} 1',
      'agent_stack_k8s_webhook_requests_total{result="bad_request"} 1',
      'agent_stack_k8s_webhook_requests_total{result="unchanged"} 0',
      'agent_stack_k8s_webhook_requests_total{result="error"} 0',
      'agent_stack_k8s_webhook_denials_total{code="ASK_IMAGE_REFERENCE"} 1',
      'agent_stack_k8s_webhook_request_duration_seconds_count{result="expanded"} 1',
      "agent_stack_k8s_webhook_requests_in_flight 0",
      'agent_stack_k8s_webhook_config_reloads_total{result="success"} 0',
      'agent_stack_k8s_webhook_certificate_reloads_total{result="error"} 0',
    ]) {
      expect(metrics.body).toContain(line);
    }
  });

  test("a request still uploading its body is in flight; one that takes longer than the budget is a 408", async () => {
    const slow = await startTestServer({ requestTimeoutMs: 500 });
    const body = JSON.stringify(review);
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: "127.0.0.1",
          port: slow.port,
          path: "/mutate",
          method: "POST",
          ca: slow.certificates.caCert,
          servername: "localhost",
          headers: { "content-type": "application/json", "content-length": String(body.length) },
        },
        (res) => {
          let text = "";
          res.on("data", (chunk: Buffer) => {
            text += chunk.toString();
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on("error", reject);
      // Half the body, then nothing: a stuck client.
      req.write(body.slice(0, body.length / 2));
    });
    await eventually("the request in flight", async () =>
      (await slow.client.get("/metrics")).body.includes("agent_stack_k8s_webhook_requests_in_flight 1"),
    );
    const { status, body: answerBody } = await answer;
    expect(status).toBe(408);
    expect(JSON.parse(answerBody).message).toBe(
      "the request did not arrive within the webhook's 500 ms request timeout",
    );
    await eventually("the request no longer in flight", async () =>
      (await slow.client.get("/metrics")).body.includes("agent_stack_k8s_webhook_requests_in_flight 0"),
    );
    expect((await slow.client.get("/metrics")).body).toContain(
      'agent_stack_k8s_webhook_requests_total{result="bad_request"} 1',
    );
    expect(slow.logs.lines().find((line) => line.status === 408)).toMatchObject({
      level: "warn",
      outcome: "bad_request",
    });
    await slow.close();
  });
});

test("prometheus-port serves GET /metrics over plain HTTP, with process metrics, and 404 elsewhere", async () => {
  const certificates = await newCertificates();
  const directory = mkdtempSync(join(tmpdir(), "webhook-metrics-"));
  writeFileSync(join(directory, "tls.crt"), certificates.cert);
  writeFileSync(join(directory, "tls.key"), certificates.key);
  const tls = ["--tls-cert-file", join(directory, "tls.crt"), "--tls-key-file", join(directory, "tls.key")];
  // 0 turns the port off, as upstream.
  const without = await runWebhook([...tls, "--prometheus-port", "0"]);
  expect(without.webhook.metricsPort).toBeUndefined();
  await without.close();

  const free = await freePort();
  const withMetrics = await runWebhook([...tls, "--prometheus-port", String(free)]);
  expect(withMetrics.webhook.metricsPort).toBe(free);
  const get = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      httpRequest({ host: "127.0.0.1", port: free, path }, (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => {
          text += chunk.toString();
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      })
        .on("error", reject)
        .end();
    });
  const metrics = await get("/metrics");
  expect(metrics.status).toBe(200);
  expect(metrics.body).toContain("agent_stack_k8s_webhook_requests_total");
  expect(metrics.body).toContain("process_cpu_seconds_total");
  expect(metrics.body).toContain("nodejs_eventloop_lag_seconds");
  expect((await get("/mutate")).status).toBe(404);
  await withMetrics.close();
});
