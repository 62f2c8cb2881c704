/** The Agent REST API's HTTP conventions: URLs, escaping, bodies, headers, errors, Retry-After. */
import { afterEach, beforeEach, expect, test } from "vitest";
import {
  AgentApiClient,
  AgentApiError,
  goJson,
  joinAgentUrl,
  omitEmpty,
  parseRetryAfter,
  railsPathEscape,
  rfc3339Nano,
} from "../../../launcher/buildkite/agent-api.ts";
import { isAgentStackError } from "../../../src/errors.ts";
import { type FakeBuildkite, startFakeBuildkite } from "../../fakes/buildkite/fake-buildkite.ts";
import { instantClock } from "./helpers.ts";

let fake: FakeBuildkite;
const signal = new AbortController().signal;

beforeEach(async () => {
  fake = await startFakeBuildkite();
});

afterEach(async () => {
  await fake.close();
});

function client(options: { token?: string; timeoutMs?: number } = {}): AgentApiClient {
  return new AgentApiClient({
    endpoint: fake.agentUrl,
    token: options.token ?? fake.registrationToken,
    userAgent: "agent-stack-k8s/1.2.3",
    clock: instantClock(),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
}

async function rejection(promise: Promise<unknown>): Promise<AgentApiError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof AgentApiError)) throw new Error(`expected an AgentApiError, got ${String(error)}`);
  return error;
}

test("URLs: the base without its trailing slash, a slash, the path without its leading slash", () => {
  expect(joinAgentUrl("https://agent.buildkite.com/v3/", "/register")).toBe(
    "https://agent.buildkite.com/v3/register",
  );
  expect(joinAgentUrl("https://agent.buildkite.com/v3", "jobs/x/start")).toBe(
    "https://agent.buildkite.com/v3/jobs/x/start",
  );
});

test("path parameters are path-escaped and every dot becomes %2E", () => {
  expect(railsPathEscape("0190-ab.json")).toBe("0190-ab%2Ejson");
  expect(railsPathEscape("a/b c?d;e,f")).toBe("a%2Fb%20c%3Fd%3Be%2Cf");
  expect(railsPathEscape("k:v@x&y=z+$~_-")).toBe("k:v@x&y=z+$~_-");
  expect(railsPathEscape("é!*'()")).toBe("%C3%A9%21%2A%27%28%29");
});

test("JSON bodies read as Go's encoder writes them", () => {
  expect(goJson({ a: "<b>&", n: 1 })).toBe('{"a":"\\u003cb\\u003e\\u0026","n":1}\n');
  expect(omitEmpty({ name: "a", priority: "", pid: 0, keep: 0 }, ["priority", "pid"])).toEqual({
    name: "a",
    keep: 0,
  });
});

test("times are RFC 3339 with nanosecond precision, trailing zeros dropped, in UTC", () => {
  expect(rfc3339Nano(Date.parse("2025-01-02T03:04:05.678Z"))).toBe("2025-01-02T03:04:05.678Z");
  expect(rfc3339Nano(Date.parse("2025-01-02T03:04:05.500Z"))).toBe("2025-01-02T03:04:05.5Z");
  expect(rfc3339Nano(Date.parse("2025-01-02T03:04:00.000Z"))).toBe("2025-01-02T03:04:00Z");
});

test("Retry-After is a number of seconds; anything else is ignored", () => {
  expect(parseRetryAfter("3")).toBe(3_000);
  expect(parseRetryAfter("1.5")).toBe(1_500);
  expect(parseRetryAfter("soon")).toBeUndefined();
  expect(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT")).toBeUndefined();
  expect(parseRetryAfter("-1")).toBeUndefined();
  expect(parseRetryAfter(null)).toBeUndefined();
});

test("headers: the token, the User-Agent, Content-Type only with a JSON body, the time left only when asked", async () => {
  const registered = await client().send(
    { method: "POST", path: "register", json: { name: "a", meta_data: ["queue=kubernetes"] } },
    signal,
  );
  const accessToken = (registered.body as { access_token: string }).access_token;
  const agent = client({ token: accessToken });
  await agent.send({ method: "POST", path: "connect" }, signal);
  const job = fake.addJob();
  await agent.send(
    {
      method: "PUT",
      path: `jobs/${job.uuid}/acquire`,
      deadline: instantClock().now() + 330_000,
      announceDeadline: true,
    },
    signal,
  );
  const [register, connect, acquire] = fake.calls;
  expect(register?.headers).toMatchObject({
    authorization: `Token ${fake.registrationToken}`,
    "user-agent": "agent-stack-k8s/1.2.3",
    "content-type": "application/json",
  });
  expect(register?.body.toString()).toBe('{"name":"a","meta_data":["queue=kubernetes"]}\n');
  expect(connect?.headers.authorization).toBe(`Token ${accessToken}`);
  expect(connect?.headers["content-type"]).toBeUndefined();
  expect(connect?.headers["buildkite-timeout-milliseconds"]).toBeUndefined();
  expect(connect?.body.length).toBe(0);
  expect(acquire?.headers["buildkite-timeout-milliseconds"]).toBe("330000");
  expect(acquire?.headers["content-type"]).toBeUndefined();
});

test("an error says <METHOD> <URL>: <status text>: <message>, and whether it is worth retrying", async () => {
  const refused = await rejection(
    client({ token: "wrong" }).send({ method: "POST", path: "connect" }, signal),
  );
  expect(refused.message).toBe(`POST ${fake.agentUrl}/connect: 401 Unauthorized: Unauthorized`);
  expect(refused.status).toBe(401);
  expect(refused.retryable).toBe(false);
  expect(isAgentStackError(refused, "ASK_BUILDKITE_AGENT_API")).toBe(true);

  fake.failNext(1, { status: 503, retryAfter: "7", message: "maintenance" });
  const unavailable = await rejection(client().send({ method: "POST", path: "register", json: {} }, signal));
  expect(unavailable.message).toBe(`POST ${fake.agentUrl}/register: 503 Service Unavailable: maintenance`);
  expect(unavailable.retryable).toBe(true);
  expect(unavailable.retryAfterMs).toBe(7_000);
});

test("no answer within the timeout, or a reset connection, is a retryable transport error", async () => {
  fake.failNext(1, "timeout");
  const timedOut = await rejection(
    client({ timeoutMs: 100 }).send({ method: "POST", path: "connect" }, signal),
  );
  expect(timedOut.message).toBe(`POST ${fake.agentUrl}/connect: no answer within 0.1s`);
  expect(timedOut.status).toBeUndefined();
  expect(timedOut.retryable).toBe(true);

  fake.failNext(1, "reset");
  const reset = await rejection(client().send({ method: "POST", path: "connect" }, signal));
  expect(reset.retryable).toBe(true);
});

test("a deadline that has passed bounds the request's timeout", async () => {
  fake.failNext(1, "timeout");
  const clock = instantClock();
  const error = await rejection(
    client().send({ method: "PUT", path: "jobs/x/finish", deadline: clock.now() + 50, json: {} }, signal),
  );
  expect(error.message).toMatch(/no answer within 0\.05s$/);
});

test("an empty token fails before any request", async () => {
  const error = await client({ token: "" })
    .send({ method: "POST", path: "connect" }, signal)
    .catch((caught: unknown) => caught);
  expect(isAgentStackError(error, "ASK_BUILDKITE_AGENT_TOKEN_EMPTY")).toBe(true);
  expect((error as Error).message).toBe("Invalid token, empty string supplied");
  expect(fake.calls).toEqual([]);
});
