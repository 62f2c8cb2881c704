/**
 * `podTemplate` lookups: in the cluster from an informer cache of the namespace's PodTemplates (against
 * the fake Kubernetes API, through the real client), without a cluster from files or not at all.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1PodTemplate } from "@kubernetes/client-node";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { buildSkeleton } from "../../src/admission/skeleton.ts";
import { loadConfig } from "../../src/config/load.ts";
import type { Job } from "../../src/generated/k8s-types.ts";
import { podTemplatesFrom } from "../../src/render/pod-templates.ts";
import { renderJob } from "../../src/render/render-job.ts";
import { type FakeKubernetes, startFakeKubernetes } from "../fakes/kubernetes-api.ts";
import { admissionReview, names, testConfig, testJob } from "../support/fixtures.ts";
import { applyJsonPatch } from "../support/json-patch.ts";
import { expectValidJob } from "../support/k8s-validate.ts";
import {
  type Client,
  eventually,
  httpsClient,
  newCertificates,
  patchOf,
  type RunningTestWebhook,
  runWebhook,
} from "./harness.ts";

const NAMESPACE = "ci";

function podTemplate(name: string, image: string): V1PodTemplate {
  return {
    apiVersion: "v1",
    kind: "PodTemplate",
    metadata: { name, namespace: NAMESPACE },
    template: {
      spec: {
        containers: [{ name: "gpu", image, command: ["nvidia-smi"], resources: { limits: { cpu: "2" } } }],
        nodeSelector: { accelerator: "nvidia" },
      },
    },
  };
}

const job = testJob({ plugin: { podTemplate: "gpu-runner" } });
const config = testConfig({ namespace: NAMESPACE });
const webhookConfig = loadConfig({ args: ["--namespace", NAMESPACE], env: {} }).config;

let certificates: Awaited<ReturnType<typeof newCertificates>>;
let tlsArgs: string[];
beforeAll(async () => {
  certificates = await newCertificates();
  const directory = mkdtempSync(join(tmpdir(), "webhook-pt-"));
  writeFileSync(join(directory, "tls.crt"), certificates.cert);
  writeFileSync(join(directory, "tls.key"), certificates.key);
  tlsArgs = ["--tls-cert-file", join(directory, "tls.crt"), "--tls-key-file", join(directory, "tls.key")];
});

async function admitted(client: Client, uid: string, buildkiteJob = job): Promise<Record<string, unknown>> {
  const skeleton = buildSkeleton(buildkiteJob, config);
  const answer = await client.postJson("/mutate", admissionReview(skeleton, uid));
  expect(answer.status, answer.body).toBe(200);
  return answer.json().response as Record<string, unknown>;
}

function expandedJob(response: Record<string, unknown>): Job {
  return applyJsonPatch(buildSkeleton(job, config), patchOf(response) ?? []) as Job;
}

describe("from an informer on the namespace's PodTemplates", () => {
  let fake: FakeKubernetes;
  let running: RunningTestWebhook;
  let client: Client;

  beforeAll(async () => {
    fake = await startFakeKubernetes();
    fake.put(podTemplate("gpu-runner", "nvidia/cuda:12.4.0-base-ubuntu22.04"));
    fake.put({ ...podTemplate("elsewhere", "alpine"), metadata: { name: "elsewhere", namespace: "other" } });
    running = await runWebhook([...tlsArgs, "--namespace", NAMESPACE], {
      podTemplates: { kind: "cluster", kubeConfig: fake.kubeConfig() },
    });
    client = httpsClient(running.port, certificates.caCert);
    await eventually("/readyz 200", async () => (await client.get("/readyz")).status === 200);
  });
  afterAll(async () => {
    client.close();
    await running.close();
    await fake.close();
  });

  test("a step's podTemplate comes from the cache, expanded as render expands it from a file", async () => {
    const expanded = expandedJob(await admitted(client, "pt-1"));
    const fromFile = podTemplatesFrom([
      {
        path: "gpu.yaml",
        text: JSON.stringify(podTemplate("gpu-runner", "nvidia/cuda:12.4.0-base-ubuntu22.04")),
      },
    ]);
    // The webhook runs with the defaults and --namespace ci, at the package's version.
    const rendered = renderJob(job, { config: webhookConfig, podTemplates: fromFile });
    expect(rendered.ok && rendered.job).toEqual(expanded);
    expectValidJob(expanded);
    expect(expanded.spec?.template.spec?.nodeSelector).toEqual({ accelerator: "nvidia" });
  });

  test("admissions read the cache: no GET per request, only the list and the watch", async () => {
    for (let i = 0; i < 20; i++) await admitted(client, `pt-many-${i}`);
    const podTemplateCalls = fake.requests.filter((request) => request.path.includes("/podtemplates"));
    expect(podTemplateCalls.every((request) => request.method === "GET")).toBe(true);
    expect(podTemplateCalls.filter((request) => /\/podtemplates\/[^?]/.test(request.path))).toEqual([]);
    expect(
      podTemplateCalls.every((request) => request.path.startsWith(`/api/v1/namespaces/${NAMESPACE}/`)),
    ).toBe(true);
  });

  test("an update to the PodTemplate reaches the next admission", async () => {
    fake.put(podTemplate("gpu-runner", "nvidia/cuda:12.6.0-base-ubuntu24.04"));
    await eventually("the updated template in the cache", async () => {
      const expanded = expandedJob(await admitted(client, "pt-update"));
      return (
        expanded.spec?.template.spec?.containers.some(
          (c) => c.image === "nvidia/cuda:12.6.0-base-ubuntu24.04",
        ) ?? false
      );
    });
  });

  test("a deleted PodTemplate, or one in another namespace, is a denial that names it", async () => {
    fake.remove("v1", "PodTemplate", NAMESPACE, "gpu-runner");
    await eventually(
      "the deletion in the cache",
      async () => (await admitted(client, "pt-gone")).allowed === false,
    );
    const response = await admitted(client, "pt-gone-2");
    expect((response.status as { message: string }).message).toBe(
      'Error fetching podTemplate "gpu-runner": podtemplates "gpu-runner" not found in namespace ci',
    );
    const elsewhere = await admitted(
      client,
      "pt-elsewhere",
      testJob({ plugin: { podTemplate: "elsewhere" } }),
    );
    expect((elsewhere.status as { message: string }).message).toBe(
      'Error fetching podTemplate "elsewhere": podtemplates "elsewhere" not found in namespace ci',
    );
    fake.put(podTemplate("gpu-runner", "nvidia/cuda:12.4.0-base-ubuntu22.04"));
  });
});

describe("readiness follows the informer", () => {
  let fake: FakeKubernetes;
  let running: RunningTestWebhook | undefined;
  beforeAll(async () => {
    fake = await startFakeKubernetes();
  });
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });
  afterAll(() => fake.close());

  test("/readyz is 503 naming pod-templates while the list fails, 200 once it succeeds after a back-off", async () => {
    fake.failNext(2, 500, { match: (method, path) => method === "GET" && path.includes("/podtemplates") });
    running = await runWebhook([...tlsArgs, "--namespace", NAMESPACE], {
      podTemplates: { kind: "cluster", kubeConfig: fake.kubeConfig() },
    });
    const client = httpsClient(running.port, certificates.caCert);
    const first = await client.get("/readyz");
    expect(first.status).toBe(503);
    expect(first.body).toBe("not ready: waiting for pod-templates\n");
    expect((await client.get("/healthz")).status).toBe(200);
    await eventually("/readyz 200", async () => (await client.get("/readyz")).status === 200, 15_000);
    const metrics = (await client.get("/metrics")).body;
    expect(metrics).toMatch(/agent_stack_k8s_webhook_pod_template_informer_restarts_total [1-9]/);
    const logs = running.logs.lines();
    expect(
      logs.some((line) => line.msg === "PodTemplates list/watch failed: starting again after a back-off"),
    ).toBe(true);
    expect(logs.some((line) => line.msg === "PodTemplates cache synced")).toBe(true);
    client.close();
  });
});

describe("without a cluster", () => {
  let running: RunningTestWebhook | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  test("--pod-template FILE serves the templates in the file", async () => {
    const directory = mkdtempSync(join(tmpdir(), "webhook-pt-"));
    const file = join(directory, "templates.json");
    writeFileSync(file, JSON.stringify(podTemplate("gpu-runner", "nvidia/cuda:12.4.0-base-ubuntu22.04")));
    running = await runWebhook([...tlsArgs, "--namespace", NAMESPACE, "--pod-template", file]);
    const client = httpsClient(running.port, certificates.caCert);
    expect((await client.get("/readyz")).status).toBe(200);
    const expanded = expandedJob(await admitted(client, "pt-file"));
    expect(names(expanded.spec?.template.spec?.containers)).toContain("gpu");
    client.close();
  });

  test("--pod-templates none denies a podTemplate step with the reason", async () => {
    running = await runWebhook([...tlsArgs, "--namespace", NAMESPACE, "--pod-templates", "none"]);
    const client = httpsClient(running.port, certificates.caCert);
    const response = await admitted(client, "pt-none");
    expect(response.allowed).toBe(false);
    expect((response.status as { message: string }).message).toMatch(/--pod-templates none/);
    client.close();
  });
});
