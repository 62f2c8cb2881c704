import { createServer as createHttpsServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { KubeConfig, type V1MutatingWebhook } from "@kubernetes/client-node";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { parse } from "yaml";
import { createJobCreator } from "../../../launcher/kubernetes/job-creator.ts";
import type { JobCreator } from "../../../launcher/types.ts";
import { testJob } from "../../support/fixtures.ts";
import { STACK_WEBHOOK, stackWebhookConfiguration } from "../../support/webhook-configuration.ts";
import { freePort, startTestServer, type TestServer } from "../../webhook/harness.ts";
import { jobNameOf, NS, startTestCluster, type TestCluster, uuidOf } from "./helpers.ts";

const WEBHOOK = STACK_WEBHOOK;
const CONFIG = { namespace: NS, jobPrefix: "buildkite-", id: "" };

let webhook: TestServer;
let cluster: TestCluster;
let creator: JobCreator;

beforeAll(async () => {
  webhook = await startTestServer();
});

afterAll(async () => {
  await webhook.close();
});

beforeEach(async () => {
  cluster = await startTestCluster();
  creator = createJobCreator({
    kubeConfig: cluster.fake.kubeConfig(),
    config: CONFIG,
    registry: cluster.registry,
  });
});

afterEach(async () => {
  await cluster.close();
});

function registerWebhook(
  url = `https://127.0.0.1:${webhook.port}/mutate`,
  overrides: Partial<V1MutatingWebhook> = {},
) {
  cluster.fake.put(stackWebhookConfiguration({ url }, webhook.certificates.caCert, overrides));
}

const signal = () => AbortSignal.timeout(10_000);

describe("what became of a create", () => {
  test("201 is created: the skeleton went through the webhook and is stored expanded", async () => {
    registerWebhook();
    expect(await creator.create(testJob({ uuid: uuidOf(1) }), signal())).toEqual({ kind: "created" });
    const stored = cluster.fake.get("batch/v1", "Job", NS, jobNameOf(uuidOf(1))) as {
      metadata: { annotations: Record<string, string> };
    };
    expect(stored.metadata.annotations["buildkite.com/expanded-by"]).toBe("agent-stack-k8s/0.0.0-test");
  });

  test("409 AlreadyExists is exists: another launcher or an earlier attempt made it", async () => {
    registerWebhook();
    await creator.create(testJob({ uuid: uuidOf(1) }), signal());
    expect(await creator.create(testJob({ uuid: uuidOf(1) }), signal())).toEqual({ kind: "exists" });
    expect(
      await cluster.metric("buildkite_scheduler_job_create_errors_total", { reason: "AlreadyExists" }),
    ).toBe(1);
  });

  test("a webhook denial is denied, with the webhook's message and not kube-apiserver's prefix", async () => {
    registerWebhook();
    const outcome = await creator.create(testJob({ env: { BUILDKITE_PLUGINS: "{not json" } }), signal());
    expect(outcome.kind).toBe("denied");
    expect(outcome.kind === "denied" && outcome.message).toMatch(
      /^agent-stack-k8s failed to parse the job: /,
    );
    expect(outcome.kind === "denied" && outcome.message).not.toContain("admission webhook");
  });

  test("a denial whose webhook chose 403 is denied too; one without a message keeps the whole text", async () => {
    let body: Record<string, unknown> = {
      allowed: false,
      status: { code: 403, reason: "Forbidden", message: "no GPUs here" },
    };
    const server = await answeringWebhook(() => body);
    try {
      registerWebhook(server.url);
      expect(await creator.create(testJob(), signal())).toEqual({ kind: "denied", message: "no GPUs here" });
      body = { allowed: false };
      expect(await creator.create(testJob(), signal())).toEqual({
        kind: "denied",
        message: `admission webhook "${WEBHOOK}" denied the request without explanation`,
      });
    } finally {
      server.server.close();
    }
  });

  test("422 Invalid is invalid, worded as upstream HEAD words it, with the skeleton as YAML but not the job's env", async () => {
    // A webhook whose expansion breaks a rule it does not know: a container name Kubernetes refuses.
    const patch = [
      { op: "add", path: "/spec/template/spec/containers/-", value: { name: "Not_A_Name", image: "alpine" } },
      { op: "add", path: "/spec/template/spec/restartPolicy", value: "Never" },
    ];
    const server = await answeringWebhook(() => ({
      allowed: true,
      patchType: "JSONPatch",
      patch: Buffer.from(JSON.stringify(patch)).toString("base64"),
    }));
    try {
      registerWebhook(server.url);
      const job = testJob({ uuid: uuidOf(7), env: { DATABASE_PASSWORD: "hunter2-never-shown" } });
      const outcome = await creator.create(job, signal());
      expect(outcome.kind).toBe("invalid");
      const message = outcome.kind === "invalid" ? outcome.message : "";
      const [first, yaml] = message.split("\n\n");
      expect(first).toMatch(
        new RegExp(
          `^Kubernetes rejected the podSpec built by agent-stack-k8s: failed to create job: Job\\.batch "${jobNameOf(uuidOf(7))}" is invalid: spec\\.template\\.spec\\.containers\\[0\\]\\.name: Invalid value: "Not_A_Name"`,
        ),
      );
      expect(parse(message.slice(message.indexOf("\n\n") + 2))).toMatchObject({
        kind: "Job",
        metadata: {
          name: jobNameOf(uuidOf(7)),
          labels: { "buildkite.com/job-uuid": uuidOf(7) },
          annotations: {
            "buildkite.com/job": expect.stringMatching(/^\(the Buildkite job: \d+ characters, not shown\)$/),
          },
        },
      });
      expect(yaml).toContain("apiVersion: batch/v1");
      expect(message).not.toContain("hunter2");
    } finally {
      server.server.close();
    }
  });

  test("422 for a skeleton that reached the API server unexpanded is retry, saying why: not the job's fault", async () => {
    // No webhook matches (as when its namespaceSelector misses the namespace): the empty pod template
    // reaches validation.
    registerWebhook(undefined, {
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "elsewhere" } },
    });
    const outcome = await creator.create(testJob({ uuid: uuidOf(8) }), signal());
    expect(outcome).toMatchObject({
      kind: "retry",
      message: expect.stringMatching(
        /^the Job reached the API server unexpanded \(.*spec\.template\.spec\.containers: Required value.*\): no admission webhook expanded it\. .*namespaceSelector matches the namespace/,
      ),
    });
    expect(cluster.fake.get("batch/v1", "Job", NS, jobNameOf(uuidOf(8)))).toBeUndefined();
  });

  test("a webhook that cannot be reached is retry: never a failed Buildkite job for our own outage", async () => {
    registerWebhook(`https://127.0.0.1:${await freePort()}/mutate`);
    const outcome = await creator.create(testJob(), signal());
    expect(outcome.kind).toBe("retry");
    expect(outcome.kind === "retry" && outcome.message).toContain("failed calling webhook");
    expect(
      await cluster.metric("buildkite_scheduler_job_create_errors_total", { reason: "InternalError" }),
    ).toBe(1);
  });

  test("429 is retry, carrying Retry-After", async () => {
    registerWebhook();
    cluster.fake.failNext(1, 429, { retryAfterSeconds: 7 });
    expect(await creator.create(testJob(), signal())).toMatchObject({ kind: "retry", retryAfterMs: 7_000 });
  });

  test("500 and 503 are retry, and the create is not retried inside: the caller schedules it", async () => {
    registerWebhook();
    cluster.fake.failNext(1, 503);
    expect((await creator.create(testJob(), signal())).kind).toBe("retry");
    cluster.fake.failNext(1, 500);
    expect((await creator.create(testJob(), signal())).kind).toBe("retry");
    expect(cluster.fake.requests.filter((request) => request.method === "POST")).toHaveLength(2);
  });

  test("an API server that does not answer in time is retry, and the request is really aborted", async () => {
    const silent = await answeringWebhook(() => undefined);
    try {
      registerWebhook(silent.url, { timeoutSeconds: 5 });
      const quick = createJobCreator({
        kubeConfig: cluster.fake.kubeConfig(),
        config: CONFIG,
        timeoutMs: 200,
      });
      const outcome = await quick.create(testJob(), signal());
      expect(outcome).toMatchObject({ kind: "retry", message: expect.stringContaining("no answer in time") });
    } finally {
      silent.server.closeAllConnections();
      silent.server.close();
    }
  });

  test("an API server that cannot be reached is retry", async () => {
    const kubeConfig = new KubeConfig();
    const server = `http://127.0.0.1:${await freePort()}`;
    kubeConfig.loadFromOptions({
      clusters: [{ name: "c", server, skipTLSVerify: true }],
      users: [{ name: "u" }],
      contexts: [{ name: "x", cluster: "c", user: "u" }],
      currentContext: "x",
    });
    const outcome = await createJobCreator({ kubeConfig, config: CONFIG }).create(testJob(), signal());
    expect(outcome).toMatchObject({ kind: "retry", message: expect.stringContaining("ECONNREFUSED") });
  });

  test("a create cancelled by the caller (shutdown) throws instead of answering", async () => {
    registerWebhook();
    const controller = new AbortController();
    controller.abort();
    await expect(creator.create(testJob(), controller.signal)).rejects.toMatchObject({ kind: "Aborted" });
  });
});

/**
 * An HTTPS webhook with the test certificate that answers with `response()` (its uid filled in), or
 * never answers when that is undefined.
 */
async function answeringWebhook(
  response: () => Record<string, unknown> | undefined,
): Promise<{ url: string; server: Server }> {
  const server = createHttpsServer(
    { cert: webhook.certificates.cert, key: webhook.certificates.key },
    (req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString("utf8");
      });
      req.on("end", () => {
        const answer = response();
        if (answer === undefined) return;
        const uid = (JSON.parse(body) as { request: { uid: string } }).request.uid;
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            apiVersion: "admission.k8s.io/v1",
            kind: "AdmissionReview",
            response: { uid, ...answer },
          }),
        );
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/mutate`, server };
}
