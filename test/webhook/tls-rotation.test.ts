/**
 * Certificate rotation under load: the certificate and key files are replaced (a new bundle, from a new
 * CA) while a stream of admissions is in flight. No request fails, new connections get the new
 * certificate, and a pair that does not load is refused while the old one keeps serving.
 */
import { X509Certificate } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { afterEach, describe, expect, test } from "vitest";
import { buildSkeleton } from "../../src/admission/skeleton.ts";
import { admissionReview, testConfig, testJob } from "../support/fixtures.ts";
import {
  eventually,
  httpsClient,
  kubeletMount,
  newCertificates,
  type RunningTestWebhook,
  runWebhook,
} from "./harness.ts";

const review = admissionReview(buildSkeleton(testJob(), testConfig()), "rotation-uid");

/** The fingerprint of the certificate a new TLS connection is given. */
function servedFingerprint(port: number, ca: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, servername: "localhost", ca: [...ca] }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on("error", reject);
  });
}

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

/** Admissions over `streams` keep-alive connections until `stop()`; counts answers and failures. */
function requestStream(port: number, ca: string[], streams: number) {
  let running = true;
  let succeeded = 0;
  const failures: string[] = [];
  const clients = Array.from({ length: streams }, (_, index) =>
    // Half the streams open a new connection per request, so handshakes happen during the swap too.
    httpsClient(port, ca, { keepAlive: index % 2 === 0 }),
  );
  const loops = clients.map(async (client) => {
    while (running) {
      try {
        const answer = await client.postJson("/mutate", review);
        if (answer.status === 200) succeeded += 1;
        else failures.push(`${answer.status} ${answer.body.slice(0, 200)}`);
      } catch (error) {
        failures.push((error as Error).message);
      }
    }
  });
  return {
    succeeded: () => succeeded,
    failures,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      for (const client of clients) client.close();
    },
  };
}

let running: RunningTestWebhook | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe("certificate rotation while requests are in flight", () => {
  test("a kubelet Secret update (atomic symlink swap) loses no request; new connections see the new certificate", async () => {
    const [first, second] = await Promise.all([newCertificates(), newCertificates()]);
    const mount = kubeletMount(mkdtempSync(join(tmpdir(), "webhook-tls-")));
    mount.write({ "tls.crt": first.cert, "tls.key": first.key });
    running = await runWebhook([
      "--tls-cert-file",
      mount.path("tls.crt"),
      "--tls-key-file",
      mount.path("tls.key"),
    ]);
    // During a CA rotation kube-apiserver's caBundle holds both CAs.
    const trusted = [first.caCert, second.caCert];
    expect(await servedFingerprint(running.port, trusted)).toBe(fingerprint(first.cert));

    const stream = requestStream(running.port, trusted, 8);
    await eventually("requests before the swap", () => stream.succeeded() >= 50);
    const beforeSwap = stream.succeeded();
    mount.write({ "tls.crt": second.cert, "tls.key": second.key });
    const port = running.port;
    await eventually("the new certificate on a new connection", async () => {
      return (await servedFingerprint(port, trusted)) === fingerprint(second.cert);
    });
    const atSwap = stream.succeeded();
    await eventually("requests after the swap", () => stream.succeeded() >= atSwap + 50);
    await stream.stop();

    expect(stream.failures).toEqual([]);
    expect(beforeSwap).toBeGreaterThan(0);
    expect(stream.succeeded()).toBeGreaterThan(atSwap);
    const reloaded = running.logs.lines().filter((line) => line.msg === "certificate reloaded");
    expect(reloaded).toEqual([expect.objectContaining({ fingerprint: fingerprint(second.cert) })]);
  });

  test("files rewritten in place, certificate then key, also lose no request", async () => {
    const [first, second] = await Promise.all([newCertificates(), newCertificates()]);
    const directory = mkdtempSync(join(tmpdir(), "webhook-tls-"));
    const certFile = join(directory, "tls.crt");
    const keyFile = join(directory, "tls.key");
    writeFileSync(certFile, first.cert);
    writeFileSync(keyFile, first.key);
    running = await runWebhook(["--tls-cert-file", certFile, "--tls-key-file", keyFile]);
    const trusted = [first.caCert, second.caCert];

    const stream = requestStream(running.port, trusted, 8);
    await eventually("requests before the rewrite", () => stream.succeeded() >= 50);
    writeFileSync(certFile, second.cert);
    // The moment between the two writes is a mismatched pair: it must never be served.
    await new Promise((resolve) => setTimeout(resolve, 150));
    writeFileSync(keyFile, second.key);
    const port = running.port;
    await eventually("the new certificate on a new connection", async () => {
      return (await servedFingerprint(port, trusted)) === fingerprint(second.cert);
    });
    const atSwap = stream.succeeded();
    await eventually("requests after the rewrite", () => stream.succeeded() >= atSwap + 50);
    await stream.stop();
    expect(stream.failures).toEqual([]);
  });
});

test("a pair that does not load is logged and refused, and the old certificate keeps serving", async () => {
  const [first, other] = await Promise.all([newCertificates(), newCertificates()]);
  const mount = kubeletMount(mkdtempSync(join(tmpdir(), "webhook-tls-")));
  mount.write({ "tls.crt": first.cert, "tls.key": first.key });
  running = await runWebhook([
    "--tls-cert-file",
    mount.path("tls.crt"),
    "--tls-key-file",
    mount.path("tls.key"),
  ]);

  // Another certificate with the first one's key: OpenSSL's "key values mismatch".
  mount.write({ "tls.crt": other.cert, "tls.key": first.key });
  const logs = running.logs;
  await eventually("the refusal in the log", () =>
    logs.lines().some((line) => String(line.msg).includes("does not load")),
  );
  const refusal = logs.lines().find((line) => String(line.msg).includes("does not load"));
  expect(refusal).toMatchObject({
    level: "error",
    reason: expect.stringMatching(/--tls-key-file .* does not load/),
  });
  expect(await servedFingerprint(running.port, [first.caCert])).toBe(fingerprint(first.cert));

  const client = httpsClient(running.port, first.caCert);
  const metrics = (await client.get("/metrics")).body;
  client.close();
  expect(metrics).toContain('agent_stack_k8s_webhook_certificate_reloads_total{result="error"} 1');
  const notAfter = new X509Certificate(first.cert).validToDate.getTime() / 1000;
  expect(metrics).toContain(`agent_stack_k8s_webhook_certificate_expiry_timestamp_seconds ${notAfter}`);
});

test("TLS 1.1 is refused, before and after a swap", async () => {
  const [first, second] = await Promise.all([newCertificates(), newCertificates()]);
  const mount = kubeletMount(mkdtempSync(join(tmpdir(), "webhook-tls-")));
  mount.write({ "tls.crt": first.cert, "tls.key": first.key });
  running = await runWebhook([
    "--tls-cert-file",
    mount.path("tls.crt"),
    "--tls-key-file",
    mount.path("tls.key"),
  ]);
  const port = running.port;
  const handshake = (maxVersion: "TLSv1.1" | "TLSv1.2", ca: string) =>
    new Promise<string>((resolve) => {
      const socket = connect(
        { host: "127.0.0.1", port, servername: "localhost", ca, maxVersion, minVersion: "TLSv1" },
        () => {
          resolve(socket.getProtocol() ?? "none");
          socket.end();
        },
      );
      socket.on("error", (error) => resolve(`refused: ${error.message}`));
    });
  expect(await handshake("TLSv1.1", first.caCert)).toMatch(/^refused/);
  expect(await handshake("TLSv1.2", first.caCert)).toBe("TLSv1.2");
  mount.write({ "tls.crt": second.cert, "tls.key": second.key });
  await eventually(
    "the new certificate",
    async () => (await servedFingerprint(port, [second.caCert]).catch(() => "")) === fingerprint(second.cert),
  );
  expect(await handshake("TLSv1.1", second.caCert)).toMatch(/^refused/);
  expect(await handshake("TLSv1.2", second.caCert)).toBe("TLSv1.2");
});
