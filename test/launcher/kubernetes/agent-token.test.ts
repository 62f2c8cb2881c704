import { afterEach, beforeEach, describe, expect, test } from "vitest";
import {
  type AgentTokenProvider,
  createAgentTokenProvider,
} from "../../../launcher/kubernetes/agent-token.ts";
import { isAgentStackError } from "../../../src/errors.ts";
import { ManualClock, NS, startTestCluster, type TestCluster } from "./helpers.ts";

const SECRET = "buildkite-agent-token";
const TOKEN = "bkct_s3cr3t-t0ken-value";

let cluster: TestCluster;
let clock: ManualClock;
let token: AgentTokenProvider;

beforeEach(async () => {
  cluster = await startTestCluster();
  clock = new ManualClock();
  token = createAgentTokenProvider({
    kubeConfig: cluster.fake.kubeConfig(),
    config: { namespace: NS, agentTokenSecret: SECRET },
    logger: cluster.logger,
    registry: cluster.registry,
    ttlMs: 60_000,
    clock,
    retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 2 },
  });
});

afterEach(async () => {
  await cluster.close();
});

function putSecret(data: Record<string, string>): void {
  cluster.fake.put({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: SECRET, namespace: NS },
    data: Object.fromEntries(
      Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString("base64")]),
    ),
  });
}

const secretReads = () =>
  cluster.fake.requests.filter((request) => request.path === `/api/v1/namespaces/${NS}/secrets/${SECRET}`)
    .length;

async function errorOf(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error("expected a failure");
    },
    (error: Error) => error,
  );
}

describe("the agent token", () => {
  test("is the BUILDKITE_AGENT_TOKEN key of the Secret, read once while it is fresh", async () => {
    putSecret({ BUILDKITE_AGENT_TOKEN: `${TOKEN}\n` });
    expect(await token(AbortSignal.timeout(5_000))).toBe(TOKEN);
    clock.advance(59_000);
    expect(await token(AbortSignal.timeout(5_000))).toBe(TOKEN);
    expect(secretReads()).toBe(1);
  });

  test("concurrent callers share one read", async () => {
    putSecret({ BUILDKITE_AGENT_TOKEN: TOKEN });
    const tokens = await Promise.all([1, 2, 3].map(() => token(AbortSignal.timeout(5_000))));
    expect(tokens).toEqual([TOKEN, TOKEN, TOKEN]);
    expect(secretReads()).toBe(1);
  });

  test("is read again after its TTL, so a rotated token is picked up", async () => {
    putSecret({ BUILDKITE_AGENT_TOKEN: TOKEN });
    await token(AbortSignal.timeout(5_000));
    putSecret({ BUILDKITE_AGENT_TOKEN: "rotated" });
    clock.advance(60_000);
    expect(await token(AbortSignal.timeout(5_000))).toBe("rotated");
    expect(secretReads()).toBe(2);
  });

  test("is read again at once after invalidate (Buildkite refused it)", async () => {
    putSecret({ BUILDKITE_AGENT_TOKEN: TOKEN });
    await token(AbortSignal.timeout(5_000));
    putSecret({ BUILDKITE_AGENT_TOKEN: "rotated" });
    token.invalidate();
    expect(await token(AbortSignal.timeout(5_000))).toBe("rotated");
  });

  test("the last good token is served when a read after the TTL fails", async () => {
    putSecret({ BUILDKITE_AGENT_TOKEN: TOKEN });
    await token(AbortSignal.timeout(5_000));
    clock.advance(60_000);
    cluster.fake.failNext(2, 503);
    expect(await token(AbortSignal.timeout(5_000))).toBe(TOKEN);
    expect(cluster.logs.text()).toContain("reading the agent token failed; using the one read before");
  });

  test("an empty token is an error: agent token is empty", async () => {
    putSecret({ BUILDKITE_AGENT_TOKEN: " \n" });
    const error = await errorOf(token(AbortSignal.timeout(5_000)));
    expect(isAgentStackError(error, "ASK_KUBERNETES_AGENT_TOKEN")).toBe(true);
    expect(error.message).toBe(`agent token is empty (key BUILDKITE_AGENT_TOKEN of Secret ${NS}/${SECRET})`);
  });

  test("a missing Secret or key says which", async () => {
    expect((await errorOf(token(AbortSignal.timeout(5_000)))).message).toBe(
      `the agent token Secret ${NS}/${SECRET} does not exist`,
    );
    putSecret({ OTHER: "x" });
    expect((await errorOf(token(AbortSignal.timeout(5_000)))).message).toBe(
      `the agent token Secret ${NS}/${SECRET} has no key BUILDKITE_AGENT_TOKEN`,
    );
  });

  test("an API server that keeps failing is an error after bounded retries, and nothing is cached", async () => {
    putSecret({ BUILDKITE_AGENT_TOKEN: TOKEN });
    cluster.fake.failNext(2, 500);
    const error = await errorOf(token(AbortSignal.timeout(5_000)));
    expect(isAgentStackError(error, "ASK_KUBERNETES_AGENT_TOKEN")).toBe(true);
    expect(error.message).toMatch(/^cannot read the agent token Secret .*: 500 InternalError/);
    expect(await token(AbortSignal.timeout(5_000))).toBe(TOKEN);
    expect(await cluster.metric("buildkite_agent_token_reads_total", { result: "error" })).toBe(1);
  });

  test("is never logged", async () => {
    putSecret({ BUILDKITE_AGENT_TOKEN: TOKEN });
    await token(AbortSignal.timeout(5_000));
    clock.advance(60_000);
    cluster.fake.failNext(2, 500);
    await token(AbortSignal.timeout(5_000));
    expect(cluster.logs.text()).not.toContain(TOKEN);
  });
});
