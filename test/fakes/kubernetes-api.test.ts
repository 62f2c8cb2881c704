import {
  AdmissionregistrationV1Api,
  ApiException,
  CoreV1Api,
  type KubernetesObject,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  type V1MutatingWebhookConfiguration,
  type V1PodTemplate,
  type V1Secret,
} from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { type FakeKubernetes, startFakeKubernetes } from "./kubernetes-api.ts";

let fake: FakeKubernetes;
let core: CoreV1Api;
let admission: AdmissionregistrationV1Api;

beforeEach(async () => {
  fake = await startFakeKubernetes();
  core = fake.kubeConfig().makeApiClient(CoreV1Api);
  admission = fake.kubeConfig().makeApiClient(AdmissionregistrationV1Api);
});

afterEach(async () => {
  await fake.close();
});

const b64 = (text: string) => Buffer.from(text).toString("base64");

function secret(name: string, data: Record<string, string> = { a: b64("1") }): V1Secret {
  return { apiVersion: "v1", kind: "Secret", metadata: { name, namespace: "ns" }, type: "Opaque", data };
}

function webhookConfiguration(name: string): V1MutatingWebhookConfiguration {
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    metadata: { name },
    webhooks: ["jobs.buildkite.com", "pods.buildkite.com"].map((webhook) => ({
      name: webhook,
      admissionReviewVersions: ["v1"],
      sideEffects: "None",
      clientConfig: { service: { name: "hook", namespace: "ns", path: "/mutate" } },
    })),
  };
}

function podTemplate(name: string, image: string, labels: Record<string, string> = {}): V1PodTemplate {
  return {
    apiVersion: "v1",
    kind: "PodTemplate",
    metadata: { name, namespace: "ns", labels },
    template: { spec: { containers: [{ name: "main", image }] } },
  };
}

/** The Status body of a failed call, as the client hands it over. */
async function statusOf(call: Promise<unknown>): Promise<{ code: number; reason: string; message: string }> {
  const error = await call.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (caught: unknown) => caught,
  );
  if (!(error instanceof ApiException)) throw error;
  const body = JSON.parse(error.body as string) as {
    kind: string;
    code: number;
    reason: string;
    message: string;
  };
  expect(body.kind).toBe("Status");
  expect(body.code).toBe(error.code);
  return { code: body.code, reason: body.reason, message: body.message };
}

describe("Secrets", () => {
  test("create, read, list, replace and delete through CoreV1Api", async () => {
    const created = await core.createNamespacedSecret({ namespace: "ns", body: secret("one") });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    const read = await core.readNamespacedSecret({ namespace: "ns", name: "one" });
    expect(read.data).toEqual({ a: b64("1") });
    const replaced = await core.replaceNamespacedSecret({
      namespace: "ns",
      name: "one",
      body: { ...read, data: { a: b64("2") } },
    });
    expect(Number(replaced.metadata?.resourceVersion)).toBeGreaterThan(
      Number(read.metadata?.resourceVersion),
    );
    expect(replaced.metadata?.uid).toBe(created.metadata?.uid);
    const listed = await core.listNamespacedSecret({ namespace: "ns" });
    expect(listed.items.map((item) => item.metadata?.name)).toEqual(["one"]);
    expect(listed.metadata?.resourceVersion).toBe(replaced.metadata?.resourceVersion);
    await core.deleteNamespacedSecret({ namespace: "ns", name: "one" });
    expect(fake.get("v1", "Secret", "ns", "one")).toBeUndefined();
  });

  test("stringData is folded into data, as the API server does", async () => {
    const created = await core.createNamespacedSecret({
      namespace: "ns",
      body: { metadata: { name: "s" }, stringData: { password: "hunter2" } },
    });
    expect(created.data).toEqual({ password: b64("hunter2") });
    expect(created.stringData).toBeUndefined();
    expect(created.type).toBe("Opaque");
  });

  test("merge patch and JSON patch", async () => {
    fake.put(secret("p"));
    await core.patchNamespacedSecret(
      {
        namespace: "ns",
        name: "p",
        body: { metadata: { labels: { x: "y" } }, data: { a: null, b: b64("2") } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    expect(fake.get("v1", "Secret", "ns", "p")).toMatchObject({
      metadata: { labels: { x: "y" } },
      data: { b: b64("2") },
    });
    await core.patchNamespacedSecret({
      namespace: "ns",
      name: "p",
      body: [{ op: "add", path: "/data/c", value: b64("3") }],
    });
    expect((fake.get("v1", "Secret", "ns", "p") as V1Secret).data).toEqual({ b: b64("2"), c: b64("3") });
  });

  test("a missing Secret is 404 NotFound", async () => {
    expect(await statusOf(core.readNamespacedSecret({ namespace: "ns", name: "nope" }))).toEqual({
      code: 404,
      reason: "NotFound",
      message: 'secrets "nope" not found',
    });
  });

  test("creating one that exists is 409 AlreadyExists", async () => {
    fake.put(secret("dup"));
    expect(await statusOf(core.createNamespacedSecret({ namespace: "ns", body: secret("dup") }))).toEqual({
      code: 409,
      reason: "AlreadyExists",
      message: 'secrets "dup" already exists',
    });
  });

  test("an update with a stale resourceVersion is 409 Conflict, one with the current version succeeds", async () => {
    const first = fake.put(secret("c")) as V1Secret;
    fake.put(secret("c", { a: b64("changed") }));
    const stale = { ...first, data: { a: b64("mine") } };
    expect(
      await statusOf(core.replaceNamespacedSecret({ namespace: "ns", name: "c", body: stale })),
    ).toMatchObject({
      code: 409,
      reason: "Conflict",
    });
    const current = await core.readNamespacedSecret({ namespace: "ns", name: "c" });
    await core.replaceNamespacedSecret({
      namespace: "ns",
      name: "c",
      body: { ...current, data: { a: b64("mine") } },
    });
    expect((fake.get("v1", "Secret", "ns", "c") as V1Secret).data).toEqual({ a: b64("mine") });
  });

  test("a merge patch carrying a stale resourceVersion is 409 Conflict", async () => {
    const first = fake.put(secret("m")) as V1Secret;
    fake.put(secret("m", { a: b64("changed") }));
    const result = core.patchNamespacedSecret(
      {
        namespace: "ns",
        name: "m",
        body: { metadata: { resourceVersion: first.metadata?.resourceVersion } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    expect(await statusOf(result)).toMatchObject({ code: 409, reason: "Conflict" });
  });

  test("schema violations are 422 Invalid, naming each field", async () => {
    const body = { ...secret("bad"), data: { a: "not base64!" } };
    expect(await statusOf(core.createNamespacedSecret({ namespace: "ns", body }))).toEqual({
      code: 422,
      reason: "Invalid",
      message: 'Secret "bad" is invalid: data[a]: Invalid value: "not base64!": must be base64-encoded',
    });
    // The client drops fields its model does not know, so send this one as raw JSON.
    const response = await fetch(`${fake.url}/api/v1/namespaces/ns/secrets`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...secret("bad"), unknownField: 1, type: 7 }),
    });
    expect(await response.json()).toMatchObject({
      code: 422,
      message: expect.stringMatching(/^Secret "bad" is invalid: \[.*unknownField: unknown field/),
      details: { causes: expect.arrayContaining([expect.objectContaining({ field: "unknownField" })]) },
    });
  });

  test("a kubernetes.io/tls Secret needs tls.crt and tls.key, and a Secret's type cannot change", async () => {
    const tls = { ...secret("tls", { "tls.crt": b64("c") }), type: "kubernetes.io/tls" };
    expect(await statusOf(core.createNamespacedSecret({ namespace: "ns", body: tls }))).toMatchObject({
      code: 422,
      message: 'Secret "tls" is invalid: data[tls.key]: Required value',
    });
    const plain = fake.put(secret("plain")) as V1Secret;
    const retyped = {
      ...plain,
      type: "kubernetes.io/tls",
      data: { "tls.crt": b64("c"), "tls.key": b64("k") },
    };
    expect(
      await statusOf(core.replaceNamespacedSecret({ namespace: "ns", name: "plain", body: retyped })),
    ).toMatchObject({
      code: 422,
      message: expect.stringContaining("type: Invalid value"),
    });
  });

  test("an update that changes nothing keeps the resourceVersion and emits no event", async () => {
    const stored = fake.put(secret("same")) as V1Secret;
    const again = await core.replaceNamespacedSecret({ namespace: "ns", name: "same", body: stored });
    expect(again.metadata?.resourceVersion).toBe(stored.metadata?.resourceVersion);
  });
});

describe("injected failures", () => {
  test("429 carries Retry-After and a TooManyRequests Status", async () => {
    fake.failNext(1, 429, { retryAfterSeconds: 2 });
    const error = await core
      .readNamespacedSecret({ namespace: "ns", name: "x" })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiException);
    expect((error as ApiException<string>).headers["retry-after"]).toBe("2");
    expect(JSON.parse((error as ApiException<string>).body)).toMatchObject({
      code: 429,
      reason: "TooManyRequests",
    });
  });

  test("500 and 503 fail the next requests, then the server answers normally", async () => {
    fake.put(secret("ok"));
    fake.failNext(2, 500);
    expect(await statusOf(core.readNamespacedSecret({ namespace: "ns", name: "ok" }))).toMatchObject({
      code: 500,
      reason: "InternalError",
    });
    fake.failNext(1, 503);
    expect((await statusOf(core.readNamespacedSecret({ namespace: "ns", name: "ok" }))).code).toBe(500);
    expect((await statusOf(core.readNamespacedSecret({ namespace: "ns", name: "ok" }))).code).toBe(503);
    expect((await core.readNamespacedSecret({ namespace: "ns", name: "ok" })).metadata?.name).toBe("ok");
  });

  test("match restricts the failures to the requests it accepts", async () => {
    fake.put(secret("ok"));
    fake.failNext(1, 500, { match: (method) => method === "POST" });
    await core.readNamespacedSecret({ namespace: "ns", name: "ok" });
    expect((await statusOf(core.createNamespacedSecret({ namespace: "ns", body: secret("new") }))).code).toBe(
      500,
    );
    await core.createNamespacedSecret({ namespace: "ns", body: secret("new") });
  });

  test("every request is recorded with its method, path and body", async () => {
    await core.createNamespacedSecret({ namespace: "ns", body: secret("r") });
    await core.readNamespacedSecret({ namespace: "ns", name: "r" });
    expect(fake.requests.map(({ method, path }) => `${method} ${path}`)).toEqual([
      "POST /api/v1/namespaces/ns/secrets",
      "GET /api/v1/namespaces/ns/secrets/r",
    ]);
    expect(fake.requests[0]?.body).toMatchObject({ metadata: { name: "r" } });
  });
});

describe("MutatingWebhookConfigurations", () => {
  test("create, read, and patch the caBundle with JSON patch and merge patch", async () => {
    await admission.createMutatingWebhookConfiguration({ body: webhookConfiguration("hook") });
    await admission.patchMutatingWebhookConfiguration({
      name: "hook",
      body: [
        { op: "test", path: "/webhooks/0/name", value: "jobs.buildkite.com" },
        { op: "add", path: "/webhooks/0/clientConfig/caBundle", value: b64("ca") },
      ],
    });
    const read = await admission.readMutatingWebhookConfiguration({ name: "hook" });
    expect(read.webhooks?.[0]?.clientConfig.caBundle).toBe(b64("ca"));
    expect(read.webhooks?.[1]?.clientConfig.caBundle).toBeUndefined();
    await admission.patchMutatingWebhookConfiguration(
      { name: "hook", body: { metadata: { labels: { a: "b" } } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    expect(
      fake.get("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", undefined, "hook"),
    ).toMatchObject({
      metadata: { labels: { a: "b" } },
    });
  });

  test("a JSON patch whose test fails is 422, and changes nothing", async () => {
    fake.put(webhookConfiguration("hook"));
    const result = admission.patchMutatingWebhookConfiguration({
      name: "hook",
      body: [
        { op: "test", path: "/webhooks/0/name", value: "other.buildkite.com" },
        { op: "add", path: "/webhooks/0/clientConfig/caBundle", value: b64("ca") },
      ],
    });
    expect((await statusOf(result)).code).toBe(422);
    const stored = fake.get(
      "admissionregistration.k8s.io/v1",
      "MutatingWebhookConfiguration",
      undefined,
      "hook",
    );
    expect(JSON.stringify(stored)).not.toContain("caBundle");
  });

  test("a missing configuration is 404 with the group in the message", async () => {
    expect(await statusOf(admission.readMutatingWebhookConfiguration({ name: "none" }))).toMatchObject({
      code: 404,
      message: 'mutatingwebhookconfigurations.admissionregistration.k8s.io "none" not found',
    });
  });

  test("webhooks without required fields are 422", async () => {
    const body = webhookConfiguration("hook");
    const [first, ...rest] = body.webhooks ?? [];
    const { sideEffects: _dropped, ...withoutSideEffects } = first!;
    body.webhooks = [withoutSideEffects as typeof first & object, ...rest];
    const status = await statusOf(admission.createMutatingWebhookConfiguration({ body }));
    expect(status).toMatchObject({
      code: 422,
      message: expect.stringContaining("webhooks[0].sideEffects: Required value"),
    });
  });
});

describe("PodTemplates", () => {
  test("an informer lists, then sees additions, changes and deletions through the watch", async () => {
    fake.put(podTemplate("before", "alpine:1"));
    const kubeConfig = fake.kubeConfig();
    const api = kubeConfig.makeApiClient(CoreV1Api);
    const informer = makeInformer(kubeConfig, "/api/v1/namespaces/ns/podtemplates", () =>
      api.listNamespacedPodTemplate({ namespace: "ns" }),
    );
    const events: string[] = [];
    const seen = waiter(events);
    informer.on("add", (object) => events.push(`add ${describeTemplate(object)}`));
    informer.on("update", (object) => events.push(`update ${describeTemplate(object)}`));
    informer.on("delete", (object) => events.push(`delete ${object.metadata?.name}`));
    await informer.start();
    await seen(1);
    fake.put(podTemplate("after", "alpine:2"));
    await seen(2);
    fake.put(podTemplate("before", "alpine:3"));
    await seen(3);
    fake.remove("v1", "PodTemplate", "ns", "after");
    await seen(4);
    await informer.stop();
    expect(events).toEqual([
      "add before alpine:1",
      "add after alpine:2",
      "update before alpine:3",
      "delete after",
    ]);
    expect(informer.list("ns").map((object) => object.metadata?.name)).toEqual(["before"]);
    const watches = fake.requests.filter((request) => request.path.includes("watch=true"));
    expect(watches[0]?.path).toMatch(/resourceVersion=\d+/);
  });

  test("a watch from an old resourceVersion replays what happened since; from none it starts with ADDED", async () => {
    const first = fake.put(podTemplate("a", "alpine:1"));
    fake.put(podTemplate("a", "alpine:2"));
    fake.put(podTemplate("b", "alpine:1", { team: "x" }));
    const since = await readWatch(
      `/api/v1/namespaces/ns/podtemplates?watch=true&resourceVersion=${first.metadata?.resourceVersion}`,
      2,
    );
    expect(since).toEqual(["MODIFIED a", "ADDED b"]);
    const fromNow = await readWatch(
      "/api/v1/namespaces/ns/podtemplates?watch=true&labelSelector=team%3Dx",
      1,
    );
    expect(fromNow).toEqual(["ADDED b"]);
  });

  test("a watch from a resourceVersion older than the history kept gets 410 Expired", async () => {
    const small = await startFakeKubernetes({ watchHistory: 2 });
    try {
      const first = small.put(podTemplate("a", "alpine:1"));
      small.put(podTemplate("a", "alpine:2"));
      small.put(podTemplate("a", "alpine:3"));
      small.put(podTemplate("a", "alpine:4"));
      const path = `/api/v1/namespaces/ns/podtemplates?watch=true&resourceVersion=${first.metadata?.resourceVersion}`;
      expect(await readWatch(path, 2, small.url)).toEqual(["ERROR 410"]);
    } finally {
      await small.close();
    }
    const response = await fetch(
      `${fake.url}/api/v1/namespaces/ns/podtemplates?watch=true&resourceVersion=abc`,
    );
    expect(await response.json()).toMatchObject({ code: 400, reason: "BadRequest" });
  });

  test("a watch with timeoutSeconds is ended by the server", async () => {
    fake.put(podTemplate("a", "alpine:1"));
    expect(await readWatch("/api/v1/namespaces/ns/podtemplates?watch=true&timeoutSeconds=0.05", 5)).toEqual([
      "ADDED a",
    ]);
  });

  test("list carries the resourceVersion to watch from and filters by label", async () => {
    fake.put(podTemplate("a", "alpine:1", { team: "x" }));
    fake.put(podTemplate("b", "alpine:1", { team: "y" }));
    const list = await core.listNamespacedPodTemplate({ namespace: "ns", labelSelector: "team in (x,z)" });
    expect(list.items.map((item) => item.metadata?.name)).toEqual(["a"]);
    expect(list.metadata?.resourceVersion).toMatch(/^\d+$/);
  });
});

describe("the test helpers", () => {
  test("put refuses an object the API server would refuse", () => {
    expect(() => fake.put({ ...secret("x"), data: { a: "%%%" } } as KubernetesObject)).toThrow(
      /put: Secret "x" is invalid: data\[a\]: Invalid value/,
    );
  });

  test("put and remove need a kind the fake serves", () => {
    expect(() =>
      fake.put({ apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "d", namespace: "ns" } }),
    ).toThrow("the fake Kubernetes API does not serve apps/v1 StatefulSet");
    expect(() => fake.remove("v1", "Secret", "ns", "none")).toThrow("remove: Secret ns/none does not exist");
  });

  test("unknown paths and verbs get Status errors", async () => {
    const response = await fetch(`${fake.url}/api/v1/namespaces/ns/replicationcontrollers`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ kind: "Status", reason: "NotFound" });
    const post = await fetch(`${fake.url}/api/v1/secrets`, {
      method: "POST",
      body: "{}",
      headers: { "content-type": "application/json" },
    });
    expect(post.status).toBe(405);
    const strategic = await fetch(`${fake.url}/api/v1/namespaces/ns/secrets/x`, {
      method: "PATCH",
      body: "{}",
      headers: { "content-type": "application/strategic-merge-patch+json" },
    });
    expect(await strategic.json()).toMatchObject({ code: 415, reason: "UnsupportedMediaType" });
  });
});

function describeTemplate(object: KubernetesObject): string {
  const template = object as V1PodTemplate;
  return `${template.metadata?.name} ${template.template?.spec?.containers[0]?.image}`;
}

/** Resolves once `list` has at least `count` entries; checked on every turn of the event loop. */
function waiter(list: readonly unknown[]): (count: number) => Promise<void> {
  return (count) =>
    new Promise((resolve) => {
      const check = () => (list.length >= count ? resolve() : setImmediate(check));
      check();
    });
}

/**
 * Reads a watch stream until `count` events arrived or the server ended it: `TYPE name` per event,
 * `ERROR code` for errors.
 */
async function readWatch(path: string, count: number, url = fake.url): Promise<string[]> {
  const controller = new AbortController();
  const response = await fetch(`${url}${path}`, { signal: controller.signal });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = "";
  const lines = () => text.split("\n").filter((line) => line !== "");
  while (lines().length < count) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  controller.abort();
  return lines().map((line) => {
    const event = JSON.parse(line) as {
      type: string;
      object: { code?: number; metadata?: { name?: string } };
    };
    return event.type === "ERROR"
      ? `ERROR ${event.object.code}`
      : `${event.type} ${event.object.metadata?.name}`;
  });
}
