import { createServer as createHttpsServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import {
  ApiException,
  BatchV1Api,
  CoreV1Api,
  type V1Job,
  type V1MutatingWebhook,
} from "@kubernetes/client-node";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { buildSkeleton } from "../../src/admission/skeleton.ts";
import type { BuildkiteJob } from "../../src/buildkite/job.ts";
import { testConfig, testJob } from "../support/fixtures.ts";
import { STACK_WEBHOOK, stackWebhookConfiguration } from "../support/webhook-configuration.ts";
import { freePort, startTestServer, type TestServer } from "../webhook/harness.ts";
import { type FakeKubernetes, startFakeKubernetes } from "./kubernetes-api.ts";

const NS = "default";
const WEBHOOK = STACK_WEBHOOK;
const config = testConfig();

let webhook: TestServer;
let fake: FakeKubernetes;
let batch: BatchV1Api;

beforeAll(async () => {
  webhook = await startTestServer();
});

afterAll(async () => {
  await webhook.close();
});

beforeEach(async () => {
  fake = await startFakeKubernetes();
  batch = fake.kubeConfig().makeApiClient(BatchV1Api);
});

afterEach(async () => {
  await fake.close();
});

function register(
  overrides: Partial<V1MutatingWebhook> = {},
  url = `https://127.0.0.1:${webhook.port}/mutate`,
) {
  fake.put(
    stackWebhookConfiguration({ url }, webhook.certificates.caCert, {
      reinvocationPolicy: "IfNeeded",
      ...overrides,
    }),
  );
}

function createSkeleton(job: BuildkiteJob = testJob()): Promise<V1Job> {
  return batch.createNamespacedJob({ namespace: NS, body: buildSkeleton(job, config) as V1Job });
}

async function statusOf(call: Promise<unknown>): Promise<{ code: number; reason?: string; message: string }> {
  const error = await call.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (caught: unknown) => caught,
  );
  if (!(error instanceof ApiException)) throw error;
  const body = JSON.parse(error.body as string) as { code: number; reason?: string; message: string };
  return {
    code: body.code,
    ...(body.reason === undefined ? {} : { reason: body.reason }),
    message: body.message,
  };
}

/** An HTTPS server with the webhook's certificate that answers every request with `handler`. */
async function otherWebhook(
  handler: (body: string, respond: (status: number, body: string) => void) => void,
): Promise<{ url: string; server: Server }> {
  const server = createHttpsServer(
    { cert: webhook.certificates.cert, key: webhook.certificates.key },
    (request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => {
        body += chunk.toString("utf8");
      });
      request.on("end", () =>
        handler(body, (status, text) => {
          response.writeHead(status, { "content-type": "application/json" });
          response.end(text);
        }),
      );
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/mutate`, server };
}

describe("a skeleton Job through the real webhook", () => {
  test("is expanded: the AdmissionReview's JSON Patch is applied before validation and storage", async () => {
    register();
    const created = await createSkeleton();
    const spec = created.spec?.template.spec;
    expect(spec?.containers.map((container) => container.name)).toContain("agent");
    expect(spec?.initContainers?.map((container) => container.name)).toContain("copy-agent");
    expect(spec?.restartPolicy).toBe("Never");
    expect(created.metadata?.annotations?.["buildkite.com/job"]).toBeUndefined();
    expect(created.metadata?.annotations?.["buildkite.com/expanded-by"]).toBe("agent-stack-k8s/0.0.0-test");
    expect(created.spec?.template.metadata?.labels?.["job-name"]).toBe(created.metadata?.name);
    expect(created.spec?.backoffLimit).toBe(0);
  });

  test("a job the webhook refuses is denied with the webhook's status and kube-apiserver's wording", async () => {
    register();
    const job = testJob({ env: { BUILDKITE_PLUGINS: "not json" } });
    const status = await statusOf(createSkeleton(job));
    expect(status).toMatchObject({ code: 400, reason: "BadRequest" });
    expect(status.message).toMatch(
      new RegExp(
        `^admission webhook "${WEBHOOK}" denied the request: agent-stack-k8s failed to parse the job: `,
      ),
    );
    expect(fake.get("batch/v1", "Job", NS, `buildkite-${job.uuid}`)).toBeUndefined();
  });

  test("a webhook that cannot be reached fails the create with 500 under failurePolicy Fail", async () => {
    const port = await freePort();
    register({}, `https://127.0.0.1:${port}/mutate`);
    expect(await statusOf(createSkeleton())).toEqual({
      code: 500,
      reason: "InternalError",
      message: `Internal error occurred: failed calling webhook "${WEBHOOK}": failed to call webhook: Post "https://127.0.0.1:${port}/mutate?timeout=10s": dial tcp 127.0.0.1:${port}: connect: connection refused`,
    });
  });

  test("under failurePolicy Ignore the object goes on unmutated, so a skeleton is then 422 Invalid", async () => {
    register({ failurePolicy: "Ignore" }, `https://127.0.0.1:${await freePort()}/mutate`);
    const status = await statusOf(createSkeleton());
    expect(status).toMatchObject({ code: 422, reason: "Invalid" });
    expect(status.message).toContain("spec.template.spec.containers: Required value");
  });

  test("a webhook that does not answer within timeoutSeconds is a context deadline", async () => {
    const silent = await otherWebhook(() => {});
    try {
      register({ timeoutSeconds: 1 }, silent.url);
      expect(await statusOf(createSkeleton())).toMatchObject({
        code: 500,
        message: expect.stringMatching(
          /failed calling webhook ".*": failed to call webhook: Post ".*": context deadline exceeded$/,
        ),
      });
    } finally {
      silent.server.closeAllConnections();
      silent.server.close();
    }
  });

  test("a webhook answering 5xx is a failed call, not a denial", async () => {
    const broken = await otherWebhook((_body, respond) => respond(503, "overloaded"));
    try {
      register({}, broken.url);
      expect(await statusOf(createSkeleton())).toMatchObject({
        code: 500,
        message: expect.stringContaining(
          `failed calling webhook "${WEBHOOK}": failed to call webhook: an error on the server ("overloaded")`,
        ),
      });
    } finally {
      broken.server.close();
    }
  });

  test("a certificate the caBundle does not trust is a failed call", async () => {
    register({
      clientConfig: {
        url: `https://127.0.0.1:${webhook.port}/mutate`,
        caBundle: Buffer.from(
          (await import("../webhook/harness.ts").then((h) => h.newCertificates())).caCert,
        ).toString("base64"),
      },
    });
    expect((await statusOf(createSkeleton())).message).toContain(
      "x509: certificate signed by unknown authority",
    );
  });

  test("a service reference is verified against <service>.<namespace>.svc, wherever it resolves", async () => {
    // The test webhook's certificate covers agent-stack-k8s-webhook.buildkite.svc; both names resolve to it.
    const resolving = await startFakeKubernetes({
      serviceUrl: (service) => `https://127.0.0.1:${webhook.port}${service.path}`,
    });
    try {
      const viaService = (name: string) => {
        resolving.put(
          stackWebhookConfiguration(
            { service: { name, namespace: "buildkite", path: "/mutate", port: 443 } },
            webhook.certificates.caCert,
          ),
        );
        const client = resolving.kubeConfig().makeApiClient(BatchV1Api);
        // Each its own Job, so that the second create is not simply AlreadyExists.
        const job = testJob({ uuid: crypto.randomUUID() });
        return client.createNamespacedJob({ namespace: NS, body: buildSkeleton(job, config) as V1Job });
      };
      const created = await viaService("agent-stack-k8s-webhook");
      expect(created.metadata?.annotations?.["buildkite.com/expanded-by"]).toMatch(/^agent-stack-k8s\//);
      const refused = await statusOf(viaService("another-webhook"));
      expect(refused.message).toContain("x509:");
      expect(refused.message).toContain("another-webhook.buildkite.svc");
    } finally {
      await resolving.close();
    }
  });

  /** A webhook that answers every review with `response` (its uid filled in). */
  async function answering(response: () => Record<string, unknown>) {
    return otherWebhook((body, respond) => {
      const uid = (JSON.parse(body) as { request: { uid: string } }).request.uid;
      respond(
        200,
        JSON.stringify({
          apiVersion: "admission.k8s.io/v1",
          kind: "AdmissionReview",
          response: { uid, ...response() },
        }),
      );
    });
  }

  test("a denial with a code under 400 becomes 400; one with its own code keeps it", async () => {
    let status: Record<string, unknown> = { code: 200, message: "no thanks" };
    const denying = await answering(() => ({ allowed: false, status }));
    try {
      register({}, denying.url);
      expect(await statusOf(createSkeleton())).toEqual({
        code: 400,
        message: `admission webhook "${WEBHOOK}" denied the request: no thanks`,
      });
      status = { code: 403, reason: "Forbidden", message: "not on this cluster" };
      expect(await statusOf(createSkeleton())).toEqual({
        code: 403,
        reason: "Forbidden",
        message: `admission webhook "${WEBHOOK}" denied the request: not on this cluster`,
      });
    } finally {
      denying.server.close();
    }
  });

  test("a mutation that makes the object invalid is 422 Invalid with a cause per field", async () => {
    const patch = [
      { op: "add", path: "/spec/template/spec/containers/-", value: { name: "Bad_Name", image: "alpine" } },
      { op: "replace", path: "/spec/template/spec/restartPolicy", value: "Never" },
    ];
    const mutating = await answering(() => ({
      allowed: true,
      patchType: "JSONPatch",
      patch: Buffer.from(JSON.stringify(patch)).toString("base64"),
    }));
    try {
      register({}, mutating.url);
      const error = await createSkeleton().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ApiException);
      const body = JSON.parse((error as ApiException<string>).body) as {
        code: number;
        message: string;
        details: { causes: Array<{ field: string }> };
      };
      expect(body.code).toBe(422);
      expect(body.message).toMatch(
        /^Job\.batch "buildkite-.*" is invalid: spec\.template\.spec\.containers\[0\]\.name/,
      );
      expect(body.details.causes.map((cause) => cause.field)).toEqual([
        "spec.template.spec.containers[0].name",
      ]);
    } finally {
      mutating.server.close();
    }
  });

  test("objects the selectors or rules do not match are not sent to the webhook", async () => {
    const counting = { calls: 0 };
    const server = await otherWebhook((_body, respond) => {
      counting.calls += 1;
      respond(500, "");
    });
    try {
      register(
        { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "elsewhere" } } },
        server.url,
      );
      expect((await statusOf(createSkeleton())).code).toBe(422);
      register({}, server.url);
      const unlabelled = buildSkeleton(testJob(), config) as V1Job;
      unlabelled.metadata!.labels = { "buildkite.com/job-uuid": testJob().uuid };
      expect((await statusOf(batch.createNamespacedJob({ namespace: NS, body: unlabelled }))).code).toBe(422);
      await fake
        .kubeConfig()
        .makeApiClient(CoreV1Api)
        .createNamespacedSecret({
          namespace: NS,
          body: { metadata: { name: "s", labels: { "buildkite.com/expand": "true" } } },
        });
      expect(counting.calls).toBe(0);
    } finally {
      server.server.close();
    }
  });

  test("the webhook's warnings come back as Warning headers", async () => {
    register();
    const job = testJob({
      plugin: { podSpec: { containers: [{ image: "alpine", imagePullPolicyy: "Always" }] } },
    });
    const response = await fetch(`${fake.url}/apis/batch/v1/namespaces/${NS}/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(buildSkeleton(job, config)),
    });
    expect(response.status).toBe(201);
    expect(response.headers.get("warning")).toContain('299 - "');
    expect(response.headers.get("warning")).toContain("imagePullPolicyy");
  });
});
