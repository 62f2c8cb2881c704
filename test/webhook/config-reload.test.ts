/**
 * The `--config` file re-read when kubelet updates the ConfigMap: a valid change reaches the next
 * admission and is logged with the keys that changed; an invalid one is logged with its problem and the
 * previous configuration stays, loudly (an error at every attempt, a metric, an Event on the pod) while
 * readiness stays green; flags and environment keep their precedence over the new file.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { afterEach, beforeAll, expect, test } from "vitest";
import { buildSkeleton } from "../../src/admission/skeleton.ts";
import { loadConfig } from "../../src/config/load.ts";
import type { Job } from "../../src/generated/k8s-types.ts";
import { renderJob } from "../../src/render/render-job.ts";
import type { PodTemplateMode } from "../../webhook/start.ts";
import { startFakeKubernetes } from "../fakes/kubernetes-api.ts";
import { admissionReview, containerNamed, testJob } from "../support/fixtures.ts";
import { applyJsonPatch } from "../support/json-patch.ts";
import {
  type Client,
  eventually,
  httpsClient,
  kubeletMount,
  newCertificates,
  patchOf,
  type RunningTestWebhook,
  runWebhook,
} from "./harness.ts";

const job = testJob({
  plugin: { podSpec: { containers: [{ image: "golang:1.23", command: ["go test ./..."] }] } },
});

let certificates: Awaited<ReturnType<typeof newCertificates>>;
let tlsArgs: string[];
beforeAll(async () => {
  certificates = await newCertificates();
  const directory = mkdtempSync(join(tmpdir(), "webhook-config-tls-"));
  writeFileSync(join(directory, "tls.crt"), certificates.cert);
  writeFileSync(join(directory, "tls.key"), certificates.key);
  tlsArgs = ["--tls-cert-file", join(directory, "tls.crt"), "--tls-key-file", join(directory, "tls.key")];
});

let running: RunningTestWebhook | undefined;
let client: Client | undefined;
afterEach(async () => {
  client?.close();
  await running?.close();
  running = undefined;
});

async function start(
  files: Record<string, string>,
  options: { env?: Record<string, string>; kubeConfig?: KubeConfig; podTemplates?: PodTemplateMode } = {},
) {
  const mount = kubeletMount(mkdtempSync(join(tmpdir(), "webhook-config-")));
  mount.write(files);
  running = await runWebhook([...tlsArgs, "--config", mount.path("config.yaml")], options);
  client = httpsClient(running.port, certificates.caCert);
  return { mount, running, client };
}

async function expand(webhook: Client, uid: string): Promise<Job> {
  const skeleton = buildSkeleton(job, loadConfig({ args: [], env: {} }).config);
  const answer = await webhook.postJson("/mutate", admissionReview(skeleton, uid));
  expect(answer.status, answer.body).toBe(200);
  return applyJsonPatch(skeleton, patchOf(answer.json().response as Record<string, unknown>) ?? []) as Job;
}

/** What `render` prints for the job with this config file text. */
function rendered(configText: string): Job {
  const { config } = loadConfig({ args: ["--config", "config.yaml"], env: {}, readFile: () => configText });
  const result = renderJob(job, { config });
  if (!result.ok) throw new Error(result.message);
  return result.job;
}

const FIRST = "job-ttl: 5m\nimage: buildkite/agent:3.100.0\n";
const SECOND = "job-ttl: 7m\nimage: buildkite/agent:3.101.0\n# a comment\n";

test("a valid change applies to the next admission, with a log line naming the changed keys", async () => {
  const { mount, running, client } = await start({ "config.yaml": FIRST });
  const before = await expand(client, "c1");
  expect(before).toEqual(rendered(FIRST));
  expect(before.spec?.ttlSecondsAfterFinished).toBe(300);

  mount.write({ "config.yaml": SECOND });
  await eventually("the reload", () => running.logs.lines().some((line) => line.msg === "config reloaded"));
  expect(running.logs.lines().find((line) => line.msg === "config reloaded")).toMatchObject({
    level: "info",
    changed: ["image", "job-ttl"],
  });
  const after = await expand(client, "c2");
  expect(after).toEqual(rendered(SECOND));
  expect(after.spec?.ttlSecondsAfterFinished).toBe(420);
  expect(containerNamed(after.spec!.template.spec!, "agent").image).toBe("buildkite/agent:3.101.0");
  const metrics = (await client.get("/metrics")).body;
  expect(metrics).toContain('agent_stack_k8s_webhook_config_reloads_total{result="success"} 1');
});

test("an invalid change is logged with its problem and the previous configuration stays", async () => {
  const { mount, running, client } = await start({ "config.yaml": FIRST });
  mount.write({ "config.yaml": "job-ttl: 7 minutes\nimage: buildkite/agent:3.101.0\n" });
  await eventually("the refusal", () =>
    running.logs.lines().some((line) => String(line.msg).includes("keeping the previous configuration")),
  );
  const refusal = running.logs.lines().find((line) => String(line.msg).includes("keeping the previous"));
  expect(refusal).toMatchObject({
    level: "error",
    reason: expect.stringMatching(/^job-ttl: "7 minutes" \(from file .*config\.yaml:1\)/),
  });
  expect(await expand(client, "c3")).toEqual(rendered(FIRST));

  mount.write({ "config.yaml": "jobttl: 7m\n" });
  await eventually("the second refusal", () =>
    running.logs.lines().some((line) => String(line.reason).includes('unknown configuration key "jobttl"')),
  );
  expect(await expand(client, "c4")).toEqual(rendered(FIRST));
  const metrics = (await client.get("/metrics")).body;
  expect(metrics).toMatch(/agent_stack_k8s_webhook_config_reloads_total\{result="error"\} ([2-9]|\d\d+)\n/);
  expect(metrics).toContain('agent_stack_k8s_webhook_config_reloads_total{result="success"} 0');

  mount.write({ "config.yaml": SECOND });
  await eventually("the recovery", () => running.logs.lines().some((line) => line.msg === "config reloaded"));
  expect(await expand(client, "c5")).toEqual(rendered(SECOND));
});

test("while the file stays invalid, every attempt says so loudly, and the webhook stays ready", async () => {
  const { mount, running, client } = await start(
    { "config.yaml": FIRST },
    { podTemplates: { kind: "none" } },
  );
  mount.write({ "config.yaml": "job-ttl: 7 minutes\n" });
  const errors = () => running.logs.lines().filter((line) => line.level === "error");
  // The periodic check (every 100 ms here, every minute in production) is an attempt too.
  await eventually("three error lines", () => errors().length >= 3);
  expect(errors().slice(1)).toContainEqual(
    expect.objectContaining({
      msg: "the config file is still not valid: keeping the previous configuration",
    }),
  );
  expect((await client.get("/metrics")).body).toContain("agent_stack_k8s_webhook_config_invalid 1");
  expect((await client.get("/readyz")).status).toBe(200);
  expect(await expand(client, "c9")).toEqual(rendered(FIRST));

  mount.write({ "config.yaml": FIRST });
  await eventually("the file back to the configuration in use", () =>
    running.logs.lines().some((line) => line.msg === "the config file holds the configuration in use again"),
  );
  expect((await client.get("/metrics")).body).toContain("agent_stack_k8s_webhook_config_invalid 0");
});

test("each failed attempt is a Warning Event on the webhook's pod, counted up while the problem stays", async () => {
  const kubernetes = await startFakeKubernetes();
  try {
    const pod = {
      name: "webhook-7d9f-abcde",
      namespace: "buildkite",
      uid: "5b2f0c1e-0000-4000-8000-000000000001",
    };
    const { mount } = await start(
      { "config.yaml": FIRST },
      {
        env: { POD_NAME: pod.name, POD_NAMESPACE: pod.namespace, POD_UID: pod.uid },
        kubeConfig: kubernetes.kubeConfig(),
      },
    );
    mount.write({ "config.yaml": "job-ttl: 7 minutes\n" });
    const events = () =>
      kubernetes.list("v1", "Event", pod.namespace) as unknown as Array<{
        reason: string;
        type: string;
        message: string;
        count: number;
        involvedObject: { kind: string; name: string; uid: string };
        source: { component: string };
      }>;
    await eventually("an Event counted three times", () => events().some((event) => event.count >= 3));
    const [first] = events();
    expect(first).toMatchObject({
      reason: "InvalidConfig",
      type: "Warning",
      involvedObject: { kind: "Pod", name: pod.name, uid: pod.uid },
      source: { component: "agent-stack-k8s-webhook" },
      message: expect.stringMatching(/not valid: keeping the previous configuration: job-ttl: "7 minutes"/),
    });
    // A different problem is a new Event; repeats of it count up that one.
    mount.write({ "config.yaml": "jobttl: 7m\n" });
    await eventually("a second Event", () => events().some((event) => event.message.includes('"jobttl"')));
    expect(events().length).toBeLessThanOrEqual(3);
  } finally {
    await running?.close();
    running = undefined;
    await kubernetes.close();
  }
});

test("the environment keeps its precedence over the reloaded file", async () => {
  const { mount, running, client } = await start({ "config.yaml": FIRST }, { env: { JOB_TTL: "1m" } });
  expect((await expand(client, "c6")).spec?.ttlSecondsAfterFinished).toBe(60);
  mount.write({ "config.yaml": SECOND });
  await eventually("the reload", () => running.logs.lines().some((line) => line.msg === "config reloaded"));
  const after = await expand(client, "c7");
  expect(after.spec?.ttlSecondsAfterFinished).toBe(60);
  expect(containerNamed(after.spec!.template.spec!, "agent").image).toBe("buildkite/agent:3.101.0");
});

test("a key that needs a restart is logged and keeps its value; the rest applies", async () => {
  const { mount, running, client } = await start({ "config.yaml": FIRST });
  mount.write({ "config.yaml": `${SECOND}namespace: elsewhere\n` });
  await eventually("the reload", () => running.logs.lines().some((line) => line.msg === "config reloaded"));
  expect(running.logs.lines().find((line) => line.configKey === "namespace")).toMatchObject({
    level: "warn",
    msg: "namespace changed: the webhook uses the new value after a restart",
  });
  expect((await expand(client, "c8")).spec?.ttlSecondsAfterFinished).toBe(420);
});
