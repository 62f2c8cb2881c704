/**
 * The fake API server's pod logs, service proxy, RBAC authorisation, impersonation and
 * SelfSubjectAccessReviews, through the real client as `diagnose` uses them.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  ApiException,
  AuthorizationV1Api,
  BatchV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1Pod,
} from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { type FakeKubernetes, type FakeKubernetesOptions, startFakeKubernetes } from "./kubernetes-api.ts";

const NS = "ns";
let fake: FakeKubernetes;
let backend: Server | undefined;

async function start(options: FakeKubernetesOptions = {}): Promise<FakeKubernetes> {
  fake = await startFakeKubernetes(options);
  return fake;
}

afterEach(async () => {
  await fake.close();
  await new Promise((resolve) => (backend === undefined ? resolve(undefined) : backend.close(resolve)));
  backend = undefined;
});

function pod(name: string, containers: string[], initContainers: string[] = []): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: NS },
    spec: {
      containers: containers.map((container) => ({ name: container, image: "busybox" })),
      ...(initContainers.length === 0
        ? {}
        : { initContainers: initContainers.map((container) => ({ name: container, image: "busybox" })) }),
    },
  };
}

async function failure(call: Promise<unknown>): Promise<{ code: number; body: string }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof ApiException) return { code: error.code, body: String(error.body) };
    throw error;
  }
  throw new Error("the call succeeded");
}

const withUser = (config: KubeConfig, user: string) => {
  // client-node sends Impersonate-User for a user with `as`, as kubectl --as does.
  const copy = structuredClone(config.exportConfig());
  const parsed = JSON.parse(copy) as { users: { name: string; user: Record<string, unknown> }[] };
  for (const entry of parsed.users) entry.user.as = user;
  config.loadFromString(JSON.stringify(parsed));
  return config;
};

describe("pod logs", () => {
  beforeEach(async () => {
    await start();
    fake.put(pod("one", ["main"]));
    fake.put(pod("two", ["agent", "command"], ["checkout"]));
    fake.cluster.setPodStatus(NS, "one", { phase: "Running" });
    fake.cluster.setPodStatus(NS, "two", { phase: "Running" });
  });

  test("serve a container's lines, with since, tail and timestamps", async () => {
    const core = fake.kubeConfig().makeApiClient(CoreV1Api);
    fake.writeLog(NS, "one", "main", "old line", { time: new Date(Date.now() - 3_600_000) });
    fake.writeLog(NS, "one", "main", "new line\nlast line");
    expect(await core.readNamespacedPodLog({ name: "one", namespace: NS })).toBe(
      "old line\nnew line\nlast line\n",
    );
    expect(await core.readNamespacedPodLog({ name: "one", namespace: NS, sinceSeconds: 60 })).toBe(
      "new line\nlast line\n",
    );
    expect(await core.readNamespacedPodLog({ name: "one", namespace: NS, tailLines: 1 })).toBe("last line\n");
    expect(
      await core.readNamespacedPodLog({ name: "one", namespace: NS, tailLines: 1, timestamps: true }),
    ).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z last line\n$/);
  });

  test("answer kubelet's errors for a missing or wrong container and a previous run that never was", async () => {
    const core = fake.kubeConfig().makeApiClient(CoreV1Api);
    const noName = await failure(core.readNamespacedPodLog({ name: "two", namespace: NS }));
    expect(noName.code).toBe(400);
    expect(noName.body).toContain(
      "a container name must be specified for pod two, choose one of: [agent command] or one of the init containers: [checkout]",
    );
    const wrong = await failure(core.readNamespacedPodLog({ name: "two", namespace: NS, container: "nope" }));
    expect(wrong.body).toContain("container nope is not valid for pod two");
    const previous = await failure(
      core.readNamespacedPodLog({ name: "one", namespace: NS, container: "main", previous: true }),
    );
    expect(previous.body).toContain('previous terminated container \\"main\\" in pod \\"one\\" not found');
    fake.writeLog(NS, "one", "main", "before the restart", { previous: true });
    expect(
      await core.readNamespacedPodLog({ name: "one", namespace: NS, container: "main", previous: true }),
    ).toBe("before the restart\n");
    expect((await failure(core.readNamespacedPodLog({ name: "gone", namespace: NS }))).code).toBe(404);
  });
});

describe("the service proxy", () => {
  const service = (port = 443) => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "hook", namespace: NS },
    spec: { ports: [{ name: "https", port, targetPort: "https" }] },
  });

  test("passes the backend's answer through, status and body", async () => {
    backend = createServer((request, response) => {
      response.writeHead(request.url === "/readyz" ? 503 : 200, { "content-type": "text/plain" });
      response.end(request.url === "/readyz" ? "not ready: waiting for podtemplates\n" : "ok\n");
    });
    await new Promise<void>((resolve) => backend?.listen(0, "127.0.0.1", resolve));
    const port = (backend.address() as AddressInfo).port;
    await start({
      serviceUrl: ({ name, path }) => (name === "hook" ? `http://127.0.0.1:${port}${path}` : undefined),
    });
    fake.put(service());
    const core = fake.kubeConfig().makeApiClient(CoreV1Api);
    expect(
      await core.connectGetNamespacedServiceProxyWithPath({
        name: "https:hook:443",
        namespace: NS,
        path: "healthz",
      }),
    ).toBe("ok\n");
    const notReady = await failure(
      core.connectGetNamespacedServiceProxyWithPath({
        name: "https:hook:443",
        namespace: NS,
        path: "readyz",
      }),
    );
    expect(notReady).toEqual({ code: 503, body: "not ready: waiting for podtemplates\n" });
  });

  test("says when the Service has no backend, cannot be reached, or does not exist", async () => {
    await start({ serviceUrl: ({ name }) => (name === "hook" ? "http://127.0.0.1:1/readyz" : undefined) });
    fake.put(service());
    fake.put({ ...service(), metadata: { name: "lonely", namespace: NS } });
    const core = fake.kubeConfig().makeApiClient(CoreV1Api);
    const get = (name: string) =>
      failure(core.connectGetNamespacedServiceProxyWithPath({ name, namespace: NS, path: "readyz" }));
    const refused = await get("https:hook:443");
    expect(refused.code).toBe(503);
    expect(refused.body).toContain(
      "error trying to reach service: dial tcp 127.0.0.1:1: connect: connection refused",
    );
    expect((await get("https:lonely:443")).body).toContain('no endpoints available for service \\"lonely\\"');
    expect((await get("https:absent:443")).code).toBe(404);
  });
});

describe("authorisation", () => {
  const role = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: "jobs-reader", namespace: NS },
    rules: [{ apiGroups: ["batch"], resources: ["jobs"], verbs: ["list"] }],
  };
  const binding = (subject: Record<string, string>) => ({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "jobs-reader", namespace: NS },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "jobs-reader" },
    subjects: [subject],
  });

  test("refuses a caller what its roles do not grant, in kube-apiserver's words", async () => {
    await start({ users: [{ name: "jane", groups: ["system:authenticated"] }] });
    fake.put(role);
    fake.put(binding({ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "jane" }));
    const batch = fake.kubeConfig("jane").makeApiClient(BatchV1Api);
    expect((await batch.listNamespacedJob({ namespace: NS })).items).toEqual([]);
    const refused = await failure(batch.listNamespacedJob({ namespace: "other" }));
    expect(refused.code).toBe(403);
    expect(refused.body).toContain(
      'jobs.batch is forbidden: User \\"jane\\" cannot list resource \\"jobs\\" in API group \\"batch\\" in the namespace \\"other\\"',
    );
  });

  test("refuses a bearer token it does not know", async () => {
    await start();
    const response = await fetch(`${fake.url}/api/v1/namespaces/${NS}/pods`, {
      headers: { authorization: "Bearer stolen" },
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ kind: "Status", reason: "Unauthorized" });
  });

  test("answers SelfSubjectAccessReviews for the caller or the service account it impersonates", async () => {
    await start({ users: [{ name: "jane", groups: ["system:authenticated"] }] });
    fake.put(role);
    fake.put(binding({ kind: "ServiceAccount", name: "launcher", namespace: NS }));
    const review = (config: KubeConfig) =>
      config.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
        body: {
          spec: { resourceAttributes: { verb: "list", group: "batch", resource: "jobs", namespace: NS } },
        },
      });
    expect((await review(fake.kubeConfig("jane"))).status?.allowed).toBe(false);
    const impersonating = withUser(fake.kubeConfig("jane"), `system:serviceaccount:${NS}:launcher`);
    const refused = await failure(review(impersonating));
    expect(refused.body).toContain(
      'serviceaccounts \\"launcher\\" is forbidden: User \\"jane\\" cannot impersonate resource \\"serviceaccounts\\" in API group \\"\\" in the namespace \\"ns\\"',
    );
    fake.put({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: "impersonator" },
      rules: [{ apiGroups: [""], resources: ["serviceaccounts"], verbs: ["impersonate"] }],
    });
    fake.put({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "impersonator" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "impersonator" },
      subjects: [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "jane" }],
    });
    expect((await review(impersonating)).status?.allowed).toBe(true);
  });
});
