/**
 * End to end, on loopback: scheduled jobs in the fake Buildkite → the real launcher (as `agent-stack-k8s
 * launcher` runs it) → the fake Kubernetes API → the real admission webhook over HTTPS → expanded Jobs.
 * Then the same with faults: Buildkite 5xx and timeouts, Kubernetes 429 and 500, the webhook down for
 * a while, the launcher killed and restarted, two launchers at once. Every job must end created exactly
 * once, or failed on Buildkite with a reason; none lost, none duplicated.
 */
import type { V1MutatingWebhook } from "@kubernetes/client-node";
import { afterEach, beforeEach, expect, test } from "vitest";
import { launcherCommand } from "../../launcher/command.ts";
import type { CommandIo } from "../../runtime/command-io.ts";
import { type FakeBuildkite, startFakeBuildkite } from "../fakes/buildkite/fake-buildkite.ts";
import { type FakeKubernetes, startFakeKubernetes } from "../fakes/kubernetes-api.ts";
import { KUBERNETES_PLUGIN, testConfig } from "../support/fixtures.ts";
import { expectValidJob } from "../support/k8s-validate.ts";
import { stackWebhookConfiguration } from "../support/webhook-configuration.ts";
import { eventually, freePort, startTestServer, type TestServer } from "../webhook/harness.ts";

const NS = "buildkite";

let buildkite: FakeBuildkite;
let kubernetes: FakeKubernetes;
let webhook: TestServer;

beforeEach(async () => {
  buildkite = await startFakeBuildkite();
  kubernetes = await startFakeKubernetes();
  webhook = await startTestServer({ config: testConfig({ namespace: NS }) });
  kubernetes.put({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "buildkite-agent-token", namespace: NS },
    data: { BUILDKITE_AGENT_TOKEN: Buffer.from(buildkite.registrationToken).toString("base64") },
  });
  registerWebhook(`https://127.0.0.1:${webhook.port}/mutate`);
});

afterEach(async () => {
  await webhook.close();
  await kubernetes.close();
  await buildkite.close();
});

function registerWebhook(url: string, overrides: Partial<V1MutatingWebhook> = {}): void {
  kubernetes.put(
    stackWebhookConfiguration({ url }, webhook.certificates.caCert, { timeoutSeconds: 2, ...overrides }),
  );
}

interface RunningLauncher {
  readonly logs: () => string;
  stop(): Promise<number>;
}

function startLauncher(extraConfig = ""): RunningLauncher {
  let logs = "";
  const config = [
    `org: ${buildkite.org}`,
    `graphql-endpoint: ${buildkite.graphqlUrl}`,
    `namespace: ${NS}`,
    "poll-interval: 1s",
    "http-timeout: 1s",
    "max-in-flight: 0",
    "job-creation-concurrency: 4",
    "k8s-client-rate-limiter-qps: 1000",
    "k8s-client-rate-limiter-burst: 1000",
    "log-format: json",
    "agent-config:",
    `  endpoint: ${buildkite.agentUrl}`,
    extraConfig,
  ].join("\n");
  const io: CommandIo = {
    stdout: (text) => {
      logs += text;
    },
    stderr: (text) => {
      logs += text;
    },
    readInput: (path) => {
      if (path === "launcher.yaml") return config;
      throw new Error(`ENOENT: ${path}`);
    },
    env: { BUILDKITE_TOKEN: buildkite.apiToken },
  };
  const controller = new AbortController();
  const exit = launcherCommand(["--config", "launcher.yaml", "--port", "0"], io, {
    kubeConfig: kubernetes.kubeConfig(),
    signal: controller.signal,
  });
  return {
    logs: () => logs,
    stop: async () => {
      controller.abort(new Error("test over"));
      return exit;
    },
  };
}

interface StoredJob {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
}

function jobsInCluster(): StoredJob[] {
  return kubernetes.list("batch/v1", "Job", NS) as unknown as StoredJob[];
}

function createsOf(name: string): number {
  return kubernetes.requests.filter(
    (request) =>
      request.method === "POST" &&
      request.path.endsWith("/jobs") &&
      (request.body as StoredJob | undefined)?.metadata?.name === name,
  ).length;
}

function badPluginJob() {
  const plugins = JSON.stringify([
    { [KUBERNETES_PLUGIN]: { podSpec: { containers: [{ image: "NOT VALID" }] } } },
  ]);
  return buildkite.addJob({ env: [`BUILDKITE_PLUGINS=${plugins}`], command: "make" });
}

test("scheduled jobs become expanded Jobs, once each; a refused one is failed on Buildkite with the reason", async () => {
  const good = Array.from({ length: 20 }, (_, i) =>
    buildkite.addJob({ command: `echo ${i}`, priority: i % 3 }),
  );
  const bad = badPluginJob();
  const other = buildkite.addJob({ agentQueryRules: ["queue=kubernetes", "os=windows"] });
  const launcher = startLauncher();
  try {
    await eventually("20 Jobs in the cluster", () => jobsInCluster().length === 20, 20_000);
    await eventually(
      "the bad job failed on Buildkite",
      () => buildkite.job(bad.uuid)?.state === "FINISHED",
      20_000,
    );
  } finally {
    expect(await launcher.stop()).toBe(0);
  }
  const jobs = jobsInCluster();
  expect(new Set(jobs.map((job) => job.metadata.labels?.["buildkite.com/job-uuid"]))).toEqual(
    new Set(good.map((job) => job.uuid)),
  );
  for (const job of jobs) {
    expect(job.metadata.annotations?.["buildkite.com/expanded-by"]).toMatch(/^agent-stack-k8s\//);
    expectValidJob({ apiVersion: "batch/v1", kind: "Job", ...job });
  }
  const failed = buildkite.job(bad.uuid);
  expect(failed?.exitStatus).toBe("1");
  expect(failed?.log).toContain(
    'agent-stack-k8s failed to build a podSpec for the job: invalid reference format "NOT VALID" for container "container-0"',
  );
  expect(buildkite.job(other.uuid)?.state).toBe("SCHEDULED");
  for (const job of good) expect(buildkite.job(job.uuid)?.state).toBe("SCHEDULED");
});

test("skeletons that reach the API server unexpanded (422) are retried, never failed on Buildkite", async () => {
  // The webhook's namespaceSelector misses the launcher's namespace: no webhook runs on the skeletons.
  const elsewhere = { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ci-jobs" } } };
  const url = `https://127.0.0.1:${webhook.port}/mutate`;
  registerWebhook(url, elsewhere);
  const jobs = Array.from({ length: 3 }, (_, i) => buildkite.addJob({ command: `echo ${i}` }));
  const launcher = startLauncher();
  try {
    await eventually(
      "the launcher says why it retries",
      () => launcher.logs().includes("the Job reached the API server unexpanded"),
      20_000,
    );
    // Several attempts, and still every job is scheduled on Buildkite, not failed.
    await eventually(
      "a second attempt of a create",
      () => createsOf(`buildkite-${(jobs[0] as { uuid: string }).uuid}`) >= 2,
      20_000,
    );
    for (const job of jobs) expect(buildkite.job(job.uuid)?.state).toBe("SCHEDULED");
    registerWebhook(url);
    await eventually(
      "every Job, once the selector is fixed",
      () => jobsInCluster().length === jobs.length,
      30_000,
    );
  } finally {
    expect(await launcher.stop()).toBe(0);
  }
  for (const job of jobs) expect(buildkite.job(job.uuid)?.state).toBe("SCHEDULED");
  for (const job of jobsInCluster())
    expect(job.metadata.annotations?.["buildkite.com/expanded-by"]).toMatch(/^agent-stack-k8s\//);
}, 60_000);

test("faults everywhere: every job is created exactly once or failed with a reason", async () => {
  const good = Array.from({ length: 30 }, (_, i) => buildkite.addJob({ command: `echo ${i}` }));
  const bad = [badPluginJob(), badPluginJob()];
  // Buildkite: the first polls fail with 502 and a timeout.
  buildkite.failNext(1, 502, (kind) => kind === "graphql");
  buildkite.failNext(1, "timeout", (kind) => kind === "graphql");
  // Kubernetes: creates get 429 and 500 now and then.
  kubernetes.failNext(3, 429, {
    retryAfterSeconds: 1,
    match: (method, path) => method === "POST" && path.endsWith("/jobs"),
  });
  kubernetes.failNext(3, 500, { match: (method, path) => method === "POST" && path.endsWith("/jobs") });
  // The webhook is down at first.
  registerWebhook(`https://127.0.0.1:${await freePort()}/mutate`);
  let first = startLauncher();
  try {
    await eventually(
      "the launcher tried while the webhook was down",
      () => first.logs().includes("creating Jobs failed"),
      20_000,
    );
    registerWebhook(`https://127.0.0.1:${webhook.port}/mutate`);
    await eventually("some Jobs", () => jobsInCluster().length >= 5, 30_000);
    // Killed mid-run, then a second launcher and a restarted first one run together.
    await first.stop();
    first = startLauncher();
    const second = startLauncher();
    try {
      await eventually("every good job has its Job", () => jobsInCluster().length === good.length, 60_000);
      await eventually(
        "both bad jobs failed",
        () => bad.every((job) => buildkite.job(job.uuid)?.state === "FINISHED"),
        60_000,
      );
    } finally {
      await second.stop();
    }
  } finally {
    await first.stop();
  }
  // The faults did happen: the injected failures were consumed, and creates were retried.
  expect(buildkite.calls.some((call) => call.kind === "graphql" && call.status === 502)).toBe(true);
  const creates = kubernetes.requests.filter(
    (request) => request.method === "POST" && request.path.endsWith("/jobs"),
  );
  expect(creates.length).toBeGreaterThanOrEqual(good.length + bad.length + 6);
  const names = jobsInCluster().map((job) => job.metadata.name);
  expect(new Set(names).size).toBe(names.length);
  expect(new Set(jobsInCluster().map((job) => job.metadata.labels?.["buildkite.com/job-uuid"]))).toEqual(
    new Set(good.map((job) => job.uuid)),
  );
  for (const job of good) {
    expect(buildkite.job(job.uuid)?.state, `job ${job.uuid} must not be failed for our own outages`).toBe(
      "SCHEDULED",
    );
    expect(createsOf(`buildkite-${job.uuid}`)).toBeGreaterThanOrEqual(1);
  }
  for (const job of bad) {
    expect(buildkite.job(job.uuid)?.log).toContain("invalid reference format");
    expect(buildkite.job(job.uuid)?.exitStatus).toBe("1");
  }
}, 120_000);
