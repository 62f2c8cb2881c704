/**
 * The stack's key, queue and rules; registering and deregistering it (an unclustered token refused);
 * and the cluster the GraphQL job source polls when `cluster-uuid` is empty, as the agent token says.
 */
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { normaliseJobRules } from "../../../launcher/buildkite/stack-rules.ts";
import {
  connectStack,
  DEFAULT_STACK_KEY,
  disconnectStack,
  stackKey,
  stackQueueKey,
} from "../../../launcher/buildkite/stack-session.ts";
import type { StacksApiClient } from "../../../launcher/buildkite/stacks-api.ts";
import {
  resolveGraphqlCluster,
  UNCLUSTERED_TOKEN_MESSAGE,
} from "../../../launcher/buildkite/token-cluster.ts";
import { isAgentStackError } from "../../../src/errors.ts";
import {
  FAKE_AGENT_TOKEN_CLUSTER,
  type FakeBuildkite,
  type FakeBuildkiteOptions,
  startFakeBuildkite,
} from "../../fakes/buildkite/fake-buildkite.ts";
import { type CapturedLogger, captureLogger, instantClock, rejection, stacksClient } from "./helpers.ts";

let fake: FakeBuildkite;
let log: CapturedLogger;
const signal = new AbortController().signal;
const SECRET = { namespace: "buildkite", agentTokenSecret: "agent-token" };

beforeEach(async () => {
  fake = await startFakeBuildkite();
  log = captureLogger();
});

afterEach(async () => {
  await fake.close();
});

async function restart(options: FakeBuildkiteOptions): Promise<void> {
  await fake.close();
  fake = await startFakeBuildkite(options);
}

function client(): StacksApiClient {
  return stacksClient(fake, log.logger, { clock: instantClock() });
}

describe("key, queue and rules", () => {
  test("the key is id, else agent-stack-k8s; the queue is queue, else the queue tag, else _default", () => {
    expect(stackKey({ id: "prod" })).toBe("prod");
    expect(stackKey({ id: "" })).toBe(DEFAULT_STACK_KEY);
    expect(stackQueueKey({ queue: "big", tags: ["queue=small"] })).toBe("big");
    expect(stackQueueKey({ queue: "", tags: ["os=linux", "queue=small"] })).toBe("small");
    expect(stackQueueKey({ queue: "", tags: ["os=linux"] })).toBe("_default");
  });

  test("rules: the queue rule goes for the default queue (_default, ~ or -), else becomes the configured queue", () => {
    for (const queue of ["_default", "~", "-"]) {
      expect(normaliseJobRules(["queue=whatever", "os=linux"], queue)).toEqual(["os=linux"]);
    }
    expect(normaliseJobRules(["os=linux", "queue=_default"], "kubernetes")).toEqual([
      "os=linux",
      "queue=kubernetes",
    ]);
    expect(normaliseJobRules(["os=linux"], "kubernetes")).toEqual(["queue=kubernetes", "os=linux"]);
    expect(normaliseJobRules(["queue=a", "os=linux", "queue=b"], "kubernetes")).toEqual([
      "queue=kubernetes",
      "os=linux",
    ]);
  });
});

describe("the stack's life", () => {
  const config = { id: "prod", queue: "kubernetes", tags: ["queue=kubernetes"], ...SECRET };

  test("connect: GET token, then register with the key and queue; the session has what polling needs", async () => {
    const session = await connectStack({ client: client(), config, logger: log.logger }, signal);
    expect(session).toEqual({
      key: "prod",
      queueKey: "kubernetes",
      clusterQueueKey: "kubernetes",
      clusterUuid: FAKE_AGENT_TOKEN_CLUSTER,
      organizationSlug: fake.org,
    });
    expect(fake.calls.map((call) => call.operation)).toEqual(["token", "register stack"]);
    expect(fake.stack("prod")?.state).toBe("connected");
    expect(log.text()).toContain("registered the stack with Buildkite");
  });

  test("an unclustered token is refused with upstream's message and where the token lives; nothing registers", async () => {
    await restart({ agentTokenCluster: null });
    const error = await rejection(connectStack({ client: client(), config, logger: log.logger }, signal));
    expect(isAgentStackError(error, "ASK_BUILDKITE_UNCLUSTERED_AGENT_TOKEN")).toBe(true);
    expect(error.message).toBe(
      `${UNCLUSTERED_TOKEN_MESSAGE} (job-source stacks needs one, in key BUILDKITE_AGENT_TOKEN of Secret buildkite/agent-token)`,
    );
    expect(fake.stacks).toEqual([]);
  });

  test("a refused registration says why", async () => {
    const error = await rejection(
      connectStack({ client: client(), config: { ...config, queue: "nope" }, logger: log.logger }, signal),
    );
    expect(error.message).toMatch(/^register stack: POST .*: 422 Queue "nope" not found in the cluster$/);
  });

  test("disconnect deregisters; when it cannot, that is only logged", async () => {
    const stacks = client();
    const session = await connectStack({ client: stacks, config, logger: log.logger }, signal);
    await disconnectStack(stacks, session, log.logger);
    expect(fake.stack("prod")?.state).toBe("disconnected");
    fake.failNext(1, 503, (_kind, operation) => operation === "deregister stack");
    await disconnectStack(stacks, session, log.logger);
    expect(log.text()).toContain("could not deregister the stack");
  });
});

describe("GraphQL mode's cluster", () => {
  const resolve = (clusterUuid: string) =>
    resolveGraphqlCluster(
      { client: client(), config: { clusterUuid, ...SECRET }, logger: log.logger },
      signal,
    );

  test("cluster-uuid empty: the agent token's cluster, said in the log", async () => {
    expect(await resolve("")).toBe(FAKE_AGENT_TOKEN_CLUSTER);
    expect(log.text()).toContain("cluster-uuid is empty: polling the agent token's cluster");
  });

  test("cluster-uuid empty and an unclustered token: the unclustered queue, on purpose, said in one log line", async () => {
    await restart({ agentTokenCluster: null });
    expect(await resolve("")).toBe("");
    const lines = log.records().filter((line) => /unclustered queue/.test(String(line.msg)));
    expect(lines).toHaveLength(1);
    expect(lines[0]?.msg).toContain(
      "cluster-uuid is empty and the agent token belongs to no cluster: polling the organization's unclustered queue",
    );
  });

  test("cluster-uuid set: kept when the token agrees (in any case), refused when it names another cluster or none", async () => {
    expect(await resolve(FAKE_AGENT_TOKEN_CLUSTER.toUpperCase())).toBe(
      FAKE_AGENT_TOKEN_CLUSTER.toUpperCase(),
    );
    const other = "0a1b2c3d-0000-4000-8000-00000000c1c1";
    const mismatch = await rejection(resolve(other));
    expect(isAgentStackError(mismatch, "ASK_BUILDKITE_CLUSTER_MISMATCH")).toBe(true);
    expect(mismatch.message).toContain(`set cluster-uuid to ${FAKE_AGENT_TOKEN_CLUSTER}`);
    await restart({ agentTokenCluster: null });
    expect(isAgentStackError(await rejection(resolve(other)), "ASK_BUILDKITE_UNCLUSTERED_AGENT_TOKEN")).toBe(
      true,
    );
  });

  test("the token cannot be read: cluster-uuid is used unchecked, or, when empty, refused naming the keys to set", async () => {
    fake.failNext(5, 503, (_kind, operation) => operation === "token");
    const other = "0a1b2c3d-0000-4000-8000-00000000c1c1";
    expect(await resolve(other)).toBe(other);
    expect(log.text()).toContain("polling cluster-uuid's cluster unchecked");
    fake.failNext(5, 503, (_kind, operation) => operation === "token");
    const error = await rejection(resolve(""));
    expect(isAgentStackError(error, "ASK_BUILDKITE_STACKS_API")).toBe(true);
    expect(error.message).toMatch(
      /^cluster-uuid is empty and the agent token's cluster cannot be read \(get token: GET .*: 503 injected failure 503\): set cluster-uuid .* or make the token readable \(agent-token-secret agent-token, key BUILDKITE_AGENT_TOKEN, in namespace buildkite; agent-config.endpoint/,
    );
  });
});
