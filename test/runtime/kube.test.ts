import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig, type V1Secret } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { retryDelayMs } from "../../runtime/backoff.ts";
import {
  callKube,
  classifyKubeError,
  type KubeCallOptions,
  type KubeClient,
  kubeClient,
} from "../../runtime/kube.ts";
import { isKubeApiError, KubeApiError } from "../../runtime/kube-api-error.ts";
import { type FakeKubernetes, startFakeKubernetes } from "../fakes/kubernetes-api.ts";

let fake: FakeKubernetes;
let client: KubeClient;

beforeEach(async () => {
  fake = await startFakeKubernetes();
  client = kubeClient(fake.kubeConfig());
});

const SECRETS = "/api/v1/namespaces/ns/secrets";
const readSecret = (signal: AbortSignal, on = client) =>
  on.request<V1Secret>({ method: "GET", path: `${SECRETS}/s` }, signal);
const createSecret = (body: V1Secret) => (signal: AbortSignal) =>
  client.request<V1Secret>({ method: "POST", path: SECRETS, body }, signal);
const replaceSecret = (body: V1Secret) => (signal: AbortSignal) =>
  client.request<V1Secret>({ method: "PUT", path: `${SECRETS}/s`, body }, signal);

afterEach(async () => {
  await fake.close();
});

const FAST: KubeCallOptions = { timeoutMs: 5_000, retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 5 } };
const secret: V1Secret = { metadata: { name: "s", namespace: "ns" }, data: { a: "MQ==" } };

async function failure(call: Promise<unknown>): Promise<KubeApiError> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof KubeApiError)) throw new Error(`expected a KubeApiError, got ${String(error)}`);
  return error;
}

describe("Status errors are classified by code and reason", () => {
  test("404 is NotFound, with the operation and the server's message", async () => {
    const error = await failure(callKube("get Secret ns/s", (signal) => readSecret(signal), FAST));
    expect(error).toMatchObject({ kind: "NotFound", status: 404, reason: "NotFound", transient: false });
    expect(error.message).toBe('get Secret ns/s: 404 NotFound: secrets "s" not found');
  });

  test("409 is AlreadyExists on create and Conflict on a stale update", async () => {
    fake.put({ apiVersion: "v1", kind: "Secret", ...secret });
    const exists = await failure(callKube("create", createSecret(secret), FAST));
    expect(exists.kind).toBe("AlreadyExists");
    const stale = { ...secret, metadata: { ...secret.metadata, resourceVersion: "1" } };
    const conflict = await failure(callKube("update", replaceSecret(stale), FAST));
    expect(conflict.kind).toBe("Conflict");
  });

  test("422 is Invalid and not retried", async () => {
    const bad = { ...secret, data: { "bad key!": "MQ==" } };
    const error = await failure(callKube("create", createSecret(bad), FAST));
    expect(error.kind).toBe("Invalid");
    expect(fake.requests).toHaveLength(1);
  });

  test("a refused connection is a transient Network error", () => {
    const error = classifyKubeError(
      Object.assign(new TypeError("fetch failed"), { cause: new Error("connect ECONNREFUSED 127.0.0.1:1") }),
      "get Secret ns/s",
    );
    expect(error).toMatchObject({ kind: "Network", transient: true });
    expect(error.message).toBe(
      "get Secret ns/s: cannot reach the Kubernetes API: connect ECONNREFUSED 127.0.0.1:1",
    );
  });
});

describe("retries", () => {
  test("500s are retried and the call succeeds within the bound", async () => {
    fake.put({ apiVersion: "v1", kind: "Secret", ...secret });
    fake.failNext(2, 500);
    const retries: string[] = [];
    const read = await callKube("get", (signal) => readSecret(signal), {
      ...FAST,
      onRetry: (error, attempt) => retries.push(`${attempt} ${error.kind}`),
    });
    expect(read.metadata?.name).toBe("s");
    expect(retries).toEqual(["1 ServerError", "2 ServerError"]);
  });

  test("after the last attempt the last error is thrown", async () => {
    fake.failNext(5, 503);
    const error = await failure(callKube("get Secret ns/s", (signal) => readSecret(signal), FAST));
    expect(error).toMatchObject({ kind: "ServerError", status: 503 });
    expect(fake.requests).toHaveLength(3);
  });

  test("429's Retry-After is honoured up to the largest delay", async () => {
    fake.put({ apiVersion: "v1", kind: "Secret", ...secret });
    fake.failNext(1, 429, { retryAfterSeconds: 30 });
    const delays: number[] = [];
    await callKube("get", (signal) => readSecret(signal), {
      ...FAST,
      onRetry: (error, _attempt, delayMs) => {
        expect(error.retryAfterMs).toBe(30_000);
        delays.push(delayMs);
      },
    });
    expect(delays).toEqual([5]);
  });

  test("the delay doubles from the first and is capped, with half of it random", () => {
    const retry = { attempts: 10, initialDelayMs: 100, maxDelayMs: 1_000 };
    expect([1, 2, 3, 4, 5].map((attempt) => retryDelayMs(retry, attempt, undefined, () => 1))).toEqual([
      100, 200, 400, 800, 1000,
    ]);
    expect(retryDelayMs(retry, 3, undefined, () => 0)).toBe(200);
    expect(retryDelayMs(retry, 1, 600, () => 0)).toBe(600);
  });

  test("an abort signal stops the retries", async () => {
    fake.failNext(10, 500);
    const controller = new AbortController();
    const error = await failure(
      callKube("get", (signal) => readSecret(signal), {
        retry: { attempts: 10, initialDelayMs: 60_000, maxDelayMs: 60_000 },
        onRetry: () => controller.abort(),
        signal: controller.signal,
      }),
    );
    expect(error.kind).toBe("Aborted");
    expect(fake.requests).toHaveLength(1);
  });

  test("a request cut short by the caller's signal is Aborted, whatever the reason it was aborted with", async () => {
    const controller = new AbortController();
    const error = await failure(
      callKube(
        "get",
        async (signal) => {
          const reading = readSecret(signal);
          controller.abort(new Error("received SIGTERM"));
          return reading;
        },
        { signal: controller.signal },
      ),
    );
    expect(error.kind).toBe("Aborted");
  });
});

describe("timeouts", () => {
  let silent: Server;
  let config: KubeConfig;

  beforeEach(async () => {
    // Accepts requests and never answers them.
    silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as AddressInfo;
    config = new KubeConfig();
    config.loadFromOptions({
      clusters: [{ name: "silent", server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: "u" }],
      contexts: [{ name: "c", cluster: "silent", user: "u" }],
      currentContext: "c",
    });
  });

  afterEach(async () => {
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
  });

  test("a server that never answers is a Timeout, retried within the bound", async () => {
    const silentClient = kubeClient(config);
    let requests = 0;
    silent.on("request", () => {
      requests += 1;
    });
    const error = await failure(
      callKube("get Secret ns/s", (signal) => readSecret(signal, silentClient), {
        timeoutMs: 50,
        retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
      }),
    );
    expect(error).toMatchObject({ kind: "Timeout", transient: true });
    expect(error.message).toBe("get Secret ns/s: no answer in time");
    expect(requests).toBe(2);
    expect(isKubeApiError(error, "Timeout")).toBe(true);
  });
});
