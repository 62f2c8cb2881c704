/**
 * Two releases whose namespaces overlap: both MutatingWebhookConfigurations match the same namespace,
 * so kube-apiserver calls both webhooks on every labelled Job, in the order of the configurations'
 * names. Each stack's launcher labels its skeletons with its `buildkite.com/controller-id`; each
 * webhook expands only its own, whichever is called first.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { createJobCreator } from "../../launcher/kubernetes/job-creator.ts";
import { type FakeKubernetes, startFakeKubernetes } from "../fakes/kubernetes-api.ts";
import { testConfig, testJob } from "../support/fixtures.ts";
import { stackWebhookConfiguration } from "../support/webhook-configuration.ts";
import { startTestServer, type TestServer } from "./harness.ts";

const NS = "ci";
const STACKS = ["stack-a", "stack-b"] as const;

let kubernetes: FakeKubernetes;
const webhooks = new Map<string, TestServer>();

beforeAll(async () => {
  kubernetes = await startFakeKubernetes();
  for (const id of STACKS) {
    // Each stack's config says which it is, in a label every Job it expands gets.
    const config = testConfig({
      id,
      namespace: NS,
      defaultMetadata: { labels: { "example.com/expanded-by-stack": id }, annotations: {} },
    });
    const webhook = await startTestServer({ config });
    webhooks.set(id, webhook);
    const configuration = stackWebhookConfiguration(
      { url: `https://127.0.0.1:${webhook.port}/mutate` },
      webhook.certificates.caCert,
      { name: `${id}.agent-stack-k8s.buildkite.com` },
    );
    kubernetes.put({ ...configuration, metadata: { name: `${id}-agent-stack-k8s` } });
  }
});

afterAll(async () => {
  for (const webhook of webhooks.values()) await webhook.close();
  await kubernetes.close();
});

interface StoredJob {
  metadata: { labels: Record<string, string> };
  spec: { template: { spec: { containers: unknown[] } } };
}

test.each(STACKS)(
  "a skeleton of %s is expanded by its own webhook, whichever is called first",
  async (id) => {
    const uuid =
      id === "stack-a" ? "0195a2b0-0000-4000-8000-00000000000a" : "0195a2b0-0000-4000-8000-00000000000b";
    const creator = createJobCreator({
      kubeConfig: kubernetes.kubeConfig(),
      config: { namespace: NS, jobPrefix: "buildkite-", id },
    });
    expect(await creator.create(testJob({ uuid }), AbortSignal.timeout(10_000))).toEqual({ kind: "created" });
    const stored = kubernetes.get("batch/v1", "Job", NS, `buildkite-${uuid}`) as unknown as StoredJob;
    expect(stored.metadata.labels).toMatchObject({
      "buildkite.com/controller-id": id,
      "example.com/expanded-by-stack": id,
    });
    expect(stored.spec.template.spec.containers.length).toBeGreaterThan(0);
    const other = STACKS.find((stack) => stack !== id) as string;
    const passed = webhooks
      .get(other)
      ?.logs.lines()
      .find((line) => line.jobUuid === uuid);
    expect(passed).toMatchObject({ outcome: "unchanged", reason: `labelled for controller id ${id}` });
  },
);

test("a labelled Job without a controller id (another tool's) is expanded by the first webhook called", async () => {
  const creator = createJobCreator({
    kubeConfig: kubernetes.kubeConfig(),
    config: { namespace: NS, jobPrefix: "external-", id: "" },
  });
  const uuid = "0195a2b0-0000-4000-8000-0000000000ee";
  expect(await creator.create(testJob({ uuid }), AbortSignal.timeout(10_000))).toEqual({ kind: "created" });
  const stored = kubernetes.get("batch/v1", "Job", NS, `external-${uuid}`) as unknown as StoredJob;
  expect(stored.metadata.labels["example.com/expanded-by-stack"]).toBe("stack-a");
});
