import { X509Certificate } from "node:crypto";
import { PassThrough } from "node:stream";
import type { V1Secret } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { StoredCertificates } from "../../certs/inspect.ts";
import { type CertificateSecretOptions, ensureCertificateSecret } from "../../certs/secret.ts";
import { type KubeClient, type KubeRequest, kubeClient } from "../../runtime/kube.ts";
import { createLogger } from "../../runtime/logger.ts";
import { isAgentStackError } from "../../src/errors.ts";
import { type FakeKubernetes, startFakeKubernetes } from "../fakes/kubernetes-api.ts";
import { DAY_MS, expectNoKeyMaterial } from "./helpers.ts";

let fake: FakeKubernetes;
let logText = "";

beforeEach(async () => {
  fake = await startFakeKubernetes();
  logText = "";
});

afterEach(async () => {
  await fake.close();
});

function options(overrides: Partial<CertificateSecretOptions> = {}): CertificateSecretOptions {
  const stream = new PassThrough();
  stream.on("data", (chunk: Buffer) => {
    logText += chunk.toString("utf8");
  });
  return {
    client: kubeClient(fake.kubeConfig()),
    namespace: "ns",
    name: "hook-tls",
    certificates: { serviceName: "hook", namespace: "ns" },
    call: { timeoutMs: 5_000, retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 5 } },
    logger: createLogger({
      name: "test",
      config: { logLevel: "debug", logFormat: "json" },
      destination: stream,
    }),
    ...overrides,
  };
}

const stored = () => fake.get("v1", "Secret", "ns", "hook-tls") as V1Secret | undefined;
const later = (days: number) => () => new Date(Date.now() + days * DAY_MS);

/**
 * A client whose `method` calls wait until `count` of them are in flight, then all go: replicas that
 * read the same state and write at the same moment, every time.
 */
/** A client whose writes of this `method` (POST creates, PUT updates) wait until `count` of them are under way. */
function inStep(client: KubeClient, method: "POST" | "PUT", count: number): KubeClient {
  const waiting: Array<() => void> = [];
  return {
    async request<T>(request: KubeRequest, signal: AbortSignal): Promise<T> {
      if (request.method === method) {
        await new Promise<void>((resolve) => {
          waiting.push(resolve);
          if (waiting.length === count) for (const go of waiting) go();
        });
      }
      return client.request<T>(request, signal);
    },
  };
}

describe("the certificate Secret", () => {
  test("is created as a kubernetes.io/tls Secret with tls.crt, tls.key, ca.crt and ca.key, labelled as ours", async () => {
    const result = await ensureCertificateSecret(options());
    expect(result.action).toBe("created");
    const secret = stored();
    expect(secret?.type).toBe("kubernetes.io/tls");
    expect(secret?.metadata?.labels).toEqual({ "app.kubernetes.io/managed-by": "agent-stack-k8s" });
    expect(Object.keys(secret?.data ?? {}).sort()).toEqual(["ca.crt", "ca.key", "tls.crt", "tls.key"]);
    expect(Buffer.from(secret?.data?.["tls.crt"] ?? "", "base64").toString()).toBe(result.stored.cert);
  });

  test("is reused while valid, without a write", async () => {
    const first = await ensureCertificateSecret(options());
    const writes = fake.requests.length;
    const second = await ensureCertificateSecret(options());
    expect(second.action).toBe("reused");
    expect(second.stored).toEqual(first.stored);
    expect(fake.requests.slice(writes).map((request) => request.method)).toEqual(["GET"]);
  });

  test("is renewed from the same CA when due, keeping keys others added", async () => {
    const first = await ensureCertificateSecret(options());
    const secret = stored()!;
    fake.put({ ...secret, apiVersion: "v1", kind: "Secret", data: { ...secret.data, extra: "eA==" } });
    const renewed = await ensureCertificateSecret(options({ now: later(250) }));
    expect(renewed.action).toBe("renewed");
    expect(renewed.reason).toMatch(/^Secret ns\/hook-tls tls\.crt: due for renewal since /);
    expect(renewed.stored.caCert).toBe(first.stored.caCert);
    expect(renewed.stored.cert).not.toBe(first.stored.cert);
    expect(stored()?.data?.extra).toBe("eA==");
    expect(fake.requests.at(-1)?.method).toBe("PUT");
  });

  test("an invalid Secret of ours is replaced", async () => {
    await ensureCertificateSecret(options());
    const secret = stored()!;
    fake.put({
      ...secret,
      apiVersion: "v1",
      kind: "Secret",
      data: { ...secret.data, "tls.crt": "Z2FyYmFnZQ==" },
    });
    const result = await ensureCertificateSecret(options());
    expect(result.action).toBe("renewed");
    expect(result.reason).toBe(
      "Secret ns/hook-tls tls.crt: no PEM certificate (-----BEGIN CERTIFICATE-----) found",
    );
  });

  test("two replicas creating at once end with one Secret both use", async () => {
    const client = inStep(kubeClient(fake.kubeConfig()), "POST", 2);
    const [a, b] = await Promise.all([
      ensureCertificateSecret(options({ client })),
      ensureCertificateSecret(options({ client })),
    ]);
    expect([a.action, b.action].sort()).toEqual(["created", "reused"]);
    expect(a.stored).toEqual(b.stored);
    expect(Buffer.from(stored()?.data?.["tls.crt"] ?? "", "base64").toString()).toBe(a.stored.cert);
    expect(fake.requests.filter((request) => request.method === "POST")).toHaveLength(2);
    expect(logText).toContain("another replica wrote the certificate Secret first");
  });

  test("two replicas renewing at once: the one that meets Conflict reads again and reuses the winner's", async () => {
    await ensureCertificateSecret(options());
    const client = inStep(kubeClient(fake.kubeConfig()), "PUT", 2);
    const now = later(250);
    const [a, b] = await Promise.all([
      ensureCertificateSecret(options({ client, now })),
      ensureCertificateSecret(options({ client, now })),
    ]);
    expect([a.action, b.action].sort()).toEqual(["renewed", "reused"]);
    expect(a.stored).toEqual(b.stored);
    expect(fake.requests.filter((request) => request.method === "PUT")).toHaveLength(2);
  });

  test("a Secret that is not kubernetes.io/tls is refused, not overwritten", async () => {
    fake.put({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "hook-tls", namespace: "ns" },
      type: "Opaque",
      data: { a: "YQ==" },
    });
    const error = await ensureCertificateSecret(options()).catch((caught: unknown) => caught);
    expect(isAgentStackError(error, "ASK_CERTS_SECRET_NOT_USABLE")).toBe(true);
    expect((error as Error).message).toBe(
      'Secret ns/hook-tls has type "Opaque", not kubernetes.io/tls, and a Secret\'s type cannot change; delete it or name another Secret',
    );
    expect(stored()?.data).toEqual({ a: "YQ==" });
  });

  test("someone else's TLS Secret is reused while valid and never replaced", async () => {
    const mine = await ensureCertificateSecret(options());
    const foreign = {
      ...stored()!,
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "hook-tls", namespace: "ns" },
    };
    fake.remove("v1", "Secret", "ns", "hook-tls");
    fake.put(foreign);
    expect((await ensureCertificateSecret(options())).action).toBe("reused");
    const error = await ensureCertificateSecret(options({ now: later(250) })).catch(
      (caught: unknown) => caught,
    );
    expect(isAgentStackError(error, "ASK_CERTS_SECRET_NOT_USABLE")).toBe(true);
    expect((error as Error).message).toMatch(
      /^Secret ns\/hook-tls was not created by agent-stack-k8s \(no label app\.kubernetes\.io\/managed-by=agent-stack-k8s\) and its certificates cannot be used: .*tls\.crt: due for renewal/,
    );
    expect(Buffer.from(stored()?.data?.["tls.crt"] ?? "", "base64").toString()).toBe(mine.stored.cert);
  });

  test("500s are retried within the bound; past it the failure names the call", async () => {
    fake.failNext(2, 500);
    expect((await ensureCertificateSecret(options())).action).toBe("created");
    fake.failNext(3, 429, { retryAfterSeconds: 0 });
    const error = await ensureCertificateSecret(options()).catch((caught: unknown) => caught);
    expect(isAgentStackError(error, "ASK_CERTS_KUBERNETES_API")).toBe(true);
    expect((error as Error).message).toBe(
      "get Secret ns/hook-tls: 429 TooManyRequests: the server has received too many requests and has asked us to try again later",
    );
  });

  test("nothing logged carries key material", async () => {
    const client = inStep(kubeClient(fake.kubeConfig()), "POST", 2);
    const results: StoredCertificates[] = [];
    const raced = await Promise.all([
      ensureCertificateSecret(options({ client })),
      ensureCertificateSecret(options({ client })),
    ]);
    results.push(...raced.map((result) => result.stored));
    results.push((await ensureCertificateSecret(options({ now: later(250) }))).stored);
    expect(logText).not.toBe("");
    expectNoKeyMaterial(logText, results);
    expect(new X509Certificate(results[1]!.cert).issuer).toContain("agent-stack-k8s webhook CA");
  });
});
