import type { V1MutatingWebhookConfiguration } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { type CaBundleOptions, ensureCaBundle } from "../../certs/ca-bundle.ts";
import { type KubeClient, type KubeRequest, kubeClient } from "../../runtime/kube.ts";
import { isAgentStackError } from "../../src/errors.ts";
import { type FakeKubernetes, startFakeKubernetes } from "../fakes/kubernetes-api.ts";
import { webhookConfiguration } from "./helpers.ts";

let fake: FakeKubernetes;

beforeEach(async () => {
  fake = await startFakeKubernetes();
});

afterEach(async () => {
  await fake.close();
});

const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const BUNDLE = Buffer.from(CA).toString("base64");

function options(overrides: Partial<CaBundleOptions> = {}): CaBundleOptions {
  return {
    client: kubeClient(fake.kubeConfig()),
    name: "hooks",
    caCert: CA,
    call: { timeoutMs: 5_000, retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 2 } },
    retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 2 },
    ...overrides,
  };
}

const bundles = () =>
  (
    fake.get("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", undefined, "hooks") as
      | V1MutatingWebhookConfiguration
      | undefined
  )?.webhooks?.map((webhook) => webhook.clientConfig.caBundle);

const patches = () => fake.requests.filter((request) => request.method === "PATCH");

describe("the caBundle of the webhook configuration", () => {
  test("is set on every webhook", async () => {
    fake.put(webhookConfiguration("hooks"));
    expect(await ensureCaBundle(options())).toEqual({
      patched: ["hook-0.buildkite.com", "hook-1.buildkite.com"],
      webhooks: 2,
    });
    expect(bundles()).toEqual([BUNDLE, BUNDLE]);
  });

  test("is patched only where it differs, each webhook's name tested at its index", async () => {
    fake.put(webhookConfiguration("hooks", [BUNDLE, "b2xk"]));
    expect((await ensureCaBundle(options())).patched).toEqual(["hook-1.buildkite.com"]);
    expect(patches()[0]?.body).toEqual([
      { op: "test", path: "/webhooks/1/name", value: "hook-1.buildkite.com" },
      { op: "add", path: "/webhooks/1/clientConfig/caBundle", value: BUNDLE },
    ]);
    expect(await ensureCaBundle(options())).toEqual({ patched: [], webhooks: 2 });
    expect(patches()).toHaveLength(1);
  });

  test("a missing configuration is looked for within the bound, then a clear error", async () => {
    const error = await ensureCaBundle(options()).catch((caught: unknown) => caught);
    expect(isAgentStackError(error, "ASK_CERTS_WEBHOOK_CONFIGURATION_NOT_FOUND")).toBe(true);
    expect((error as Error).message).toBe(
      "MutatingWebhookConfiguration hooks does not exist (looked 3 times); create it (the Helm chart does) or fix --webhook-configuration",
    );
    expect(fake.requests.map(({ method }) => method)).toEqual(["GET", "GET", "GET"]);
  });

  test("webhooks reordered between read and patch: the test fails, nothing is written, and it reads again", async () => {
    fake.put(webhookConfiguration("hooks"));
    const client = kubeClient(fake.kubeConfig());
    let reordered = false;
    // Just before the first patch, a Helm upgrade reverses the webhooks.
    const racing: KubeClient = {
      request<T>(request: KubeRequest, signal: AbortSignal): Promise<T> {
        if (request.method === "PATCH" && !reordered) {
          reordered = true;
          const configuration = webhookConfiguration("hooks");
          configuration.webhooks?.reverse();
          fake.put(configuration);
        }
        return client.request<T>(request, signal);
      },
    };
    const result = await ensureCaBundle(options({ client: racing }));
    expect([...result.patched].sort()).toEqual(["hook-0.buildkite.com", "hook-1.buildkite.com"]);
    expect(patches()).toHaveLength(2);
    expect(bundles()).toEqual([BUNDLE, BUNDLE]);
  });

  test("server errors are retried within the bound, then a clear failure", async () => {
    fake.put(webhookConfiguration("hooks"));
    fake.failNext(2, 503, { match: (method) => method === "PATCH" });
    const error = await ensureCaBundle(options()).catch((caught: unknown) => caught);
    expect(isAgentStackError(error, "ASK_CERTS_KUBERNETES_API")).toBe(true);
    expect((error as Error).message).toBe(
      "patch MutatingWebhookConfiguration hooks: 503 ServiceUnavailable: the server is currently unable to handle the request",
    );
    expect(bundles()).toEqual([undefined, undefined]);
  });
});
