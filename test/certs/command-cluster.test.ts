import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { V1MutatingWebhookConfiguration, V1Secret } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { parseCertificates, type StoredCertificates } from "../../certs/inspect.ts";
import { main } from "../../cli/main.ts";
import { isAgentStackError } from "../../src/errors.ts";
import { type FakeKubernetes, startFakeKubernetes } from "../fakes/kubernetes-api.ts";
import {
  allOutput,
  DAY_MS,
  expectNoKeyMaterial,
  messages,
  runCerts,
  temporaryDirectory,
  webhookConfiguration,
} from "./helpers.ts";

let fake: FakeKubernetes;
let directory: { path: string; remove: () => void };
const seen: StoredCertificates[] = [];

beforeEach(async () => {
  fake = await startFakeKubernetes();
  directory = temporaryDirectory();
});

afterEach(async () => {
  await fake.close();
  directory.remove();
});

const ARGS = ["--secret", "hook-tls", "--service", "hook", "--webhook-configuration", "hooks"];

function run(extra: readonly string[] = [], days = 0) {
  return runCerts([...ARGS, ...extra], {
    kubeConfig: fake.kubeConfig(),
    ...(days === 0 ? {} : { now: () => new Date(Date.now() + days * DAY_MS) }),
  });
}

function secretData(): StoredCertificates {
  const data = (fake.get("v1", "Secret", "ns", "hook-tls") as V1Secret).data ?? {};
  const text = (key: string) => Buffer.from(data[key] ?? "", "base64").toString("utf8");
  const stored = {
    caCert: text("ca.crt"),
    caKey: text("ca.key"),
    cert: text("tls.crt"),
    key: text("tls.key"),
  };
  seen.push(stored);
  return stored;
}

const caBundles = () =>
  (
    fake.get(
      "admissionregistration.k8s.io/v1",
      "MutatingWebhookConfiguration",
      undefined,
      "hooks",
    ) as V1MutatingWebhookConfiguration
  ).webhooks?.map((webhook) => Buffer.from(webhook.clientConfig.caBundle ?? "", "base64").toString("utf8"));

const writes = () =>
  fake.requests
    .filter((request) => request.method !== "GET")
    .map((request) => `${request.method} ${request.path}`);

describe("--secret with --webhook-configuration", () => {
  test("creates the Secret, sets every caBundle to its CA, and writes the files without the CA key", async () => {
    fake.put(webhookConfiguration("hooks"));
    const out = join(directory.path, "tls");
    const result = await run(["--out-dir", out]);
    expect(result.code).toBe(0);
    const stored = secretData();
    expect(caBundles()).toEqual([stored.caCert, stored.caCert]);
    expect(readdirSync(out).sort()).toEqual(["ca.crt", "tls.crt", "tls.key"]);
    expect(readFileSync(join(out, "tls.crt"), "utf8")).toBe(stored.cert);
    expect(readFileSync(join(out, "tls.key"), "utf8")).toBe(stored.key);
    expect(messages(result)).toEqual([
      "certificates created",
      "certificate files written",
      "caBundle updated",
    ]);
  });

  test("a second run reuses the Secret and writes nothing", async () => {
    fake.put(webhookConfiguration("hooks"));
    await run();
    const before = writes().length;
    const second = await run();
    expect(second.code).toBe(0);
    expect(writes().slice(before)).toEqual([]);
    expect(messages(second)).toEqual(["certificates valid; reusing them"]);
  });

  test("a renewal replaces the serving certificate and leaves the caBundle alone", async () => {
    fake.put(webhookConfiguration("hooks"));
    await run();
    const first = secretData();
    const before = writes().length;
    const renewed = await run([], 250);
    expect(renewed.code).toBe(0);
    const second = secretData();
    expect(second.caCert).toBe(first.caCert);
    expect(second.cert).not.toBe(first.cert);
    expect(writes().slice(before)).toEqual(["PUT /api/v1/namespaces/ns/secrets/hook-tls"]);
  });

  test("a CA rotation patches the caBundle with the new CA first and the previous one after it", async () => {
    fake.put(webhookConfiguration("hooks"));
    await run();
    const first = secretData();
    await run([], 2500);
    const rotated = secretData();
    expect(caBundles()).toEqual([rotated.caCert, rotated.caCert]);
    const trusted = parseCertificates(rotated.caCert, "ca.crt").map((ca) => ca.toString().trim());
    expect(trusted).toHaveLength(2);
    expect(trusted[1]).toBe(first.caCert.trim());
  });

  test("two runs at once end with one Secret, whose files both wrote", async () => {
    fake.put(webhookConfiguration("hooks"));
    const [a, b] = await Promise.all([
      run(["--out-dir", join(directory.path, "a")]),
      run(["--out-dir", join(directory.path, "b")]),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const stored = secretData();
    for (const out of ["a", "b"]) {
      expect(readFileSync(join(directory.path, out, "tls.crt"), "utf8")).toBe(stored.cert);
    }
    expect(caBundles()).toEqual([stored.caCert, stored.caCert]);
  });

  test("a missing webhook configuration fails clearly after its retries, and the Secret is kept", async () => {
    const result = await run();
    expect(isAgentStackError(result.code, "ASK_CERTS_WEBHOOK_CONFIGURATION_NOT_FOUND")).toBe(true);
    expect((result.code as Error).message).toContain(
      "MutatingWebhookConfiguration hooks does not exist (looked 3 times)",
    );
    expect(fake.get("v1", "Secret", "ns", "hook-tls")).toBeDefined();
  });

  test("500s are retried, the retry logged once; too many 429s fail with the call named", async () => {
    fake.put(webhookConfiguration("hooks"));
    fake.failNext(2, 500);
    const retried = await run();
    expect(retried.code).toBe(0);
    expect(
      messages(retried).filter((message) => message === "Kubernetes API call failed; retrying"),
    ).toHaveLength(1);
    fake.failNext(3, 429, { retryAfterSeconds: 0 });
    const failed = await run();
    expect(isAgentStackError(failed.code, "ASK_CERTS_KUBERNETES_API")).toBe(true);
    expect((failed.code as Error).message).toBe(
      "get Secret ns/hook-tls: 429 TooManyRequests: the server has received too many requests and has asked us to try again later",
    );
  });

  test("through the executable's main, a cluster failure is exit status 1 and a usage error 2", async () => {
    const kubeconfig = join(directory.path, "kubeconfig");
    writeFileSync(
      kubeconfig,
      [
        "apiVersion: v1",
        "kind: Config",
        `clusters: [{name: fake, cluster: {server: "${fake.url}", insecure-skip-tls-verify: true}}]`,
        "users: [{name: fake, user: {}}]",
        "contexts: [{name: fake, context: {cluster: fake, user: fake, namespace: ns}}]",
        "current-context: fake",
      ].join("\n"),
    );
    const previous = process.env.KUBECONFIG;
    process.env.KUBECONFIG = kubeconfig;
    let stderr = "";
    const io = {
      stdout: (text: string) => allOutput.push(text),
      stderr: (text: string) => {
        stderr += text;
      },
      readInput: () => "",
      env: {},
    };
    try {
      fake.put({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "hook-tls", namespace: "ns" },
        type: "Opaque",
      });
      expect(
        await main(["certs", "--namespace", "ns", "--secret", "hook-tls", "--service", "hook"], io),
      ).toBe(1);
      expect(stderr).toContain(
        'agent-stack-k8s certs: Secret ns/hook-tls has type "Opaque", not kubernetes.io/tls, and a Secret\'s type cannot change; delete it or name another Secret (ASK_CERTS_SECRET_NOT_USABLE)',
      );
      expect(await main(["certs", "--secret", "hook-tls"], io)).toBe(2);
    } finally {
      if (previous === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = previous;
    }
  });
});

test("no run above printed a key or a certificate, not even one line of one", () => {
  expect(seen.length).toBeGreaterThan(5);
  expectNoKeyMaterial(allOutput.join("\n"), seen);
});
