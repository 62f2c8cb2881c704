/**
 * The chart, installed on the fakes: what `helm template` renders is applied to the fake Kubernetes API
 * (the Secret, the MutatingWebhookConfiguration), and the Deployments' containers run here as the
 * image would run them (their args, env, envFrom and volumes; see pods.ts). The fake API server calls
 * the webhook through the rendered configuration's Service reference, checking the serving certificate
 * against `<service>.<namespace>.svc` and the caBundle the certs Deployment set, as kube-apiserver
 * does. The values are the default install's: the agent token alone (the Stacks API). Scheduled jobs in
 * the fake Buildkite must become expanded Jobs, and so must a labelled Job created by hand. This proves
 * the chart's wiring (names, args, config, certificates) without a cluster.
 */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { get as httpGet } from "node:http";
import { get as httpsGet } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BatchV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  FAKE_AGENT_TOKEN_CLUSTER,
  type FakeBuildkite,
  startFakeBuildkite,
} from "../fakes/buildkite/fake-buildkite.ts";
import { type FakeKubernetes, startFakeKubernetes } from "../fakes/kubernetes-api.ts";
import { expectValidJob } from "../support/k8s-validate.ts";
import { exposedFamilies, familyOf, type MetricType, promqlMetricNames } from "../support/promql.ts";
import { eventually, freePort } from "../webhook/harness.ts";
import { dashboardQueries, readDashboard } from "./dashboard.ts";
import { type LocalPod, localPod, type PodTemplateSpec, type RunningContainer } from "./pods.ts";
import {
  HELM,
  type K8sObject,
  NAMESPACE,
  objectsOfKind,
  oneOf,
  renderObjects,
  SKIP_REASON,
} from "./render.ts";

const JOBS = 3;

interface TlsOptions {
  readonly ca?: string;
  readonly servername?: string;
}

/** GET: the status and body, or status 0 when nothing answers. */
function get(url: string, options: TlsOptions = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const request = url.startsWith("https:")
      ? httpsGet(url, { ca: options.ca, servername: options.servername, agent: false, timeout: 2_000 })
      : httpGet(url, { agent: false, timeout: 2_000 });
    request.on("response", (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        body += chunk;
      });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      response.on("error", () => resolve({ status: 0, body }));
    });
    request.on("error", () => resolve({ status: 0, body: "" }));
    request.on("timeout", () => request.destroy());
  });
}

async function status(url: string, options: TlsOptions = {}): Promise<number> {
  return (await get(url, options)).status;
}

describe.skipIf(HELM === undefined)(`the chart's pods, run on the fakes${SKIP_REASON}`, () => {
  const work = mkdtempSync(join(tmpdir(), "chart-install-"));
  const running: RunningContainer[] = [];
  const pods: LocalPod[] = [];
  let buildkite: FakeBuildkite;
  let kubernetes: FakeKubernetes;
  let objects: readonly K8sObject[];
  let webhookPort: number;
  let launcherPort: number;
  let certsPort: number;
  let webhookName: string;
  /** How a client reaches the webhook through its Service: the CA and the name it checks. */
  let webhookTls: TlsOptions;

  const deployment = (component: string) => {
    const found = objectsOfKind(objects, "Deployment").find(
      (object) =>
        object.metadata.labels &&
        (object.metadata.labels as Record<string, string>)["app.kubernetes.io/component"] === component,
    );
    if (found === undefined) throw new Error(`no ${component} Deployment`);
    return found;
  };
  const logs = () =>
    running
      .map((container) => {
        const exit = container.process.exitCode ?? container.process.signalCode ?? "running";
        return `--- ${container.name} (${exit})\n${container.output().slice(-3000)}`;
      })
      .join("\n");

  /** `eventually`, with the containers' output at the time it gives up. */
  const waitFor = (what: string, timeoutMs: number, condition: () => boolean | Promise<boolean>) =>
    eventually(what, condition, timeoutMs).catch((error: Error) => {
      throw new Error(`${error.message}\n${logs()}`);
    });

  beforeAll(async () => {
    buildkite = await startFakeBuildkite();
    webhookPort = await freePort();
    launcherPort = await freePort();
    certsPort = await freePort();
    objects = renderObjects({
      values: {
        agentToken: buildkite.agentToken,
        config: {
          "agent-config": { endpoint: buildkite.agentUrl },
          // Both processes run on one machine here; in the cluster each pod has its own port space.
          "prometheus-port": 0,
          "poll-interval": "1s",
        },
        webhook: { port: webhookPort, replicas: 1 },
        launcher: { port: launcherPort },
        certificates: { selfManaged: { port: certsPort } },
      },
    });
    webhookName = oneOf(objects, "Service").metadata.name;
    kubernetes = await startFakeKubernetes({
      serviceUrl: (service) =>
        service.name === webhookName && service.namespace === NAMESPACE && service.port === 443
          ? `https://127.0.0.1:${webhookPort}${service.path}`
          : undefined,
    });
    for (const object of [
      ...objectsOfKind(objects, "Secret"),
      oneOf(objects, "MutatingWebhookConfiguration"),
    ]) {
      kubernetes.put(object as never);
    }
    const kubeconfig = join(work, "kubeconfig");
    writeFileSync(kubeconfig, kubernetes.kubeConfig().exportConfig());
    const env = { KUBECONFIG: kubeconfig };
    const referable = () => [
      ...objects,
      ...(kubernetes.list("v1", "Secret", NAMESPACE) as unknown as K8sObject[]),
    ];

    /** Starts a pod of the component's Deployment as kubelet would: init containers to completion, then the rest. */
    const runPod = async (component: string) => {
      const template = deployment(component).spec as { template: { spec: PodTemplateSpec } };
      const pod = localPod(deployment(component), referable, env);
      pods.push(pod);
      for (const init of template.template.spec.initContainers ?? []) {
        const container = pod.start(init);
        running.push(container);
        const code = await container.exited;
        if (code !== 0) throw new Error(`init container ${init.name} exited ${code}:\n${container.output()}`);
      }
      for (const spec of template.template.spec.containers) running.push(pod.start(spec));
    };

    // The certs keeper first: the webhook's pods cannot start before the Secret it creates exists.
    await runPod("certs");
    const configurationName = oneOf(objects, "MutatingWebhookConfiguration").metadata.name;
    await waitFor("the certs keeper to create the TLS Secret and set the caBundle", 30_000, () => {
      const configuration = kubernetes.get(
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
        undefined,
        configurationName,
      ) as unknown as { webhooks: { clientConfig: { caBundle?: string } }[] };
      return (
        kubernetes.get("v1", "Secret", NAMESPACE, `${webhookName}-tls`) !== undefined &&
        configuration.webhooks[0]?.clientConfig.caBundle !== undefined
      );
    });

    await runPod("webhook");
    const tlsSecret = kubernetes.get("v1", "Secret", NAMESPACE, `${webhookName}-tls`) as unknown as {
      data: Record<string, string>;
    };
    const ca = Buffer.from(tlsSecret.data["ca.crt"] as string, "base64").toString("utf8");
    webhookTls = { ca, servername: `${webhookName}.${NAMESPACE}.svc` };
    await waitFor(
      "the webhook to be ready",
      30_000,
      async () => (await status(`https://127.0.0.1:${webhookPort}/readyz`, webhookTls)) === 200,
    );

    await runPod("launcher");
    await waitFor(
      "the launcher to be ready",
      30_000,
      async () => (await status(`http://127.0.0.1:${launcherPort}/readyz`)) === 200,
    );
  }, 90_000);

  afterAll(async () => {
    for (const container of running) container.process.kill("SIGKILL");
    await Promise.all(running.map((container) => container.exited));
    for (const pod of pods) pod.remove();
    await kubernetes?.close();
    await buildkite?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it("has the caBundle set by the certs keeper, for the CA the webhook's certificate chains to", () => {
    const configuration = kubernetes.get(
      "admissionregistration.k8s.io/v1",
      "MutatingWebhookConfiguration",
      undefined,
      oneOf(objects, "MutatingWebhookConfiguration").metadata.name,
    ) as unknown as {
      webhooks: { clientConfig: { caBundle?: string } }[];
    };
    const bundle = Buffer.from(configuration.webhooks[0]?.clientConfig.caBundle ?? "", "base64").toString(
      "utf8",
    );
    expect(bundle).toContain("-----BEGIN CERTIFICATE-----");
    const secret = kubernetes.get("v1", "Secret", NAMESPACE, `${webhookName}-tls`) as unknown as {
      type: string;
      data: Record<string, string>;
    };
    expect(secret.type).toBe("kubernetes.io/tls");
    expect(bundle).toContain(
      Buffer.from(secret.data["ca.crt"] as string, "base64")
        .toString("utf8")
        .trim(),
    );
  });

  it("has a certs keeper that is ready, and that restores a caBundle a replace wiped within seconds", async () => {
    expect(await status(`http://127.0.0.1:${certsPort}/readyz`)).toBe(200);
    expect(await status(`http://127.0.0.1:${certsPort}/healthz`)).toBe(200);
    const rendered = oneOf(objects, "MutatingWebhookConfiguration");
    const caBundle = () =>
      (
        kubernetes.get(
          "admissionregistration.k8s.io/v1",
          "MutatingWebhookConfiguration",
          undefined,
          rendered.metadata.name,
        ) as unknown as {
          webhooks: { clientConfig: { caBundle?: string } }[];
        }
      ).webhooks[0]?.clientConfig.caBundle;
    const before = caBundle();
    // What `helm upgrade --force` or a GitOps tool does: the configuration as rendered, without a caBundle.
    kubernetes.put(rendered as never);
    expect(caBundle()).toBeUndefined();
    await waitFor("the caBundle restored", 5_000, () => caBundle() !== undefined);
    expect(caBundle()).toBe(before);
  });

  it("turns scheduled Buildkite jobs into expanded Jobs, with the agent token alone", async () => {
    const uuids = Array.from(
      { length: JOBS },
      (_, i) => buildkite.addJob({ command: `echo ${i}`, cluster: FAKE_AGENT_TOKEN_CLUSTER }).uuid,
    );
    const jobsOf = () =>
      kubernetes
        .list("batch/v1", "Job", NAMESPACE)
        .filter((job) => uuids.includes(String(job.metadata?.labels?.["buildkite.com/job-uuid"])));
    await waitFor(`${JOBS} Jobs`, 30_000, () => jobsOf().length === JOBS);
    for (const job of jobsOf()) {
      expect(job.metadata?.annotations?.["buildkite.com/expanded-by"]).toMatch(/^agent-stack-k8s\//);
      expect(job.metadata?.labels?.["buildkite.com/controller-id"]).toBe(
        oneOf(objects, "ConfigMap").metadata.name.replace(/-config$/, ""),
      );
      expectValidJob(job);
    }
    // The stack is registered under the release's id, and no GraphQL call was made.
    const id = oneOf(objects, "ConfigMap").metadata.name.replace(/-config$/, "");
    expect(buildkite.stack(id)?.state).toBe("connected");
    expect(buildkite.calls.some((call) => call.kind === "graphql")).toBe(false);
  }, 60_000);

  it("expands a labelled Job created by another tool, through the same webhook", async () => {
    const uuid = "0193aaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
    const created = await kubernetes
      .kubeConfig()
      .makeApiClient(BatchV1Api)
      .createNamespacedJob({
        namespace: NAMESPACE,
        body: {
          apiVersion: "batch/v1",
          kind: "Job",
          metadata: {
            name: "external",
            labels: { "buildkite.com/expand": "true", "buildkite.com/job-uuid": uuid },
            annotations: {
              "buildkite.com/job": JSON.stringify({
                uuid,
                command: "make test",
                env: ["BUILDKITE_COMMAND=make test"],
                agentQueryRules: ["queue=kubernetes"],
                priority: { number: 0 },
              }),
            },
          },
          spec: {
            template: {
              spec: {
                restartPolicy: "Never",
                containers: [{ name: "build", image: "golang:1.23-bookworm" }],
              },
            },
          },
        },
      });
    expect(created.metadata?.annotations?.["buildkite.com/expanded-by"]).toMatch(/^agent-stack-k8s\//);
    expect((created.spec?.template.spec?.containers ?? []).map((container) => container.name)).toEqual(
      expect.arrayContaining(["build", "agent"]),
    );
  });

  it("serves every metric the Grafana dashboard queries, as the PodMonitor scrapes the three pods", async () => {
    // What the processes register (prom-client), read from their own /metrics: the launcher's and the
    // webhook's ports serve the same registry as their `metrics` port, which is 0 here.
    const families = new Map<string, MetricType>();
    for (const [component, url, tls] of [
      ["launcher", `http://127.0.0.1:${launcherPort}/metrics`, {}],
      ["webhook", `https://127.0.0.1:${webhookPort}/metrics`, webhookTls],
      ["certs", `http://127.0.0.1:${certsPort}/metrics`, {}],
    ] as const) {
      const scraped = await get(url, tls);
      expect(scraped.status, `${component} /metrics`).toBe(200);
      const own = exposedFamilies(scraped.body);
      expect(own.size, `${component} /metrics`).toBeGreaterThan(0);
      for (const [name, type] of own) families.set(name, type);
    }
    const problems: string[] = [];
    const used = new Set<string>();
    for (const query of dashboardQueries(readDashboard())) {
      for (const name of promqlMetricNames(query.expr).metrics) {
        const family = familyOf(name, families);
        if ("problem" in family) problems.push(`${query.where}: ${family.problem}`);
        else used.add(family.family);
      }
    }
    expect(problems).toEqual([]);
    // Each component has panels: a dashboard that lost a part would not fail the check above.
    for (const prefix of [
      "buildkite_monitor_",
      "agent_stack_k8s_webhook_",
      "agent_stack_k8s_certs_",
      "process_",
    ])
      expect(
        [...used].some((name) => name.startsWith(prefix)),
        prefix,
      ).toBe(true);
  });

  it("stops cleanly on SIGTERM", async () => {
    const longRunning = running.filter(
      (container) => container.process.exitCode === null && container.process.signalCode === null,
    );
    expect(longRunning.map((container) => container.name).sort()).toEqual(["certs", "launcher", "webhook"]);
    for (const container of longRunning) container.process.kill("SIGTERM");
    const codes = await Promise.all(longRunning.map((container) => container.exited));
    expect(codes, logs()).toEqual([0, 0, 0]);
  }, 40_000);
});
