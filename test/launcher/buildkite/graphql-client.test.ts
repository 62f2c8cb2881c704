/** The GraphQL transport: token, timeout, what counts as an error, payload logging without the token. */
import { afterEach, beforeEach, expect, test } from "vitest";
import {
  BuildkiteGraphqlClient,
  graphqlClientFromConfig,
} from "../../../launcher/buildkite/graphql-client.ts";
import { GET_COMMAND_JOB } from "../../../launcher/buildkite/queries.ts";
import { isAgentStackError } from "../../../src/errors.ts";
import { type FakeBuildkite, startFakeBuildkite } from "../../fakes/buildkite/fake-buildkite.ts";
import { testConfig } from "../../support/fixtures.ts";
import { type CapturedLogger, captureLogger } from "./helpers.ts";

let fake: FakeBuildkite;
let log: CapturedLogger;
const signal = new AbortController().signal;

beforeEach(async () => {
  fake = await startFakeBuildkite();
  log = captureLogger();
});

afterEach(async () => {
  await fake.close();
});

function client(options: { timeoutMs?: number; token?: string; fetch?: typeof fetch } = {}) {
  return new BuildkiteGraphqlClient({
    endpoint: fake.graphqlUrl,
    token: options.token ?? fake.apiToken,
    timeoutMs: options.timeoutMs ?? 5_000,
    logger: log.logger,
    logPayloads: false,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
}

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!isAgentStackError(error)) throw new Error(`expected an AgentStackError, got ${String(error)}`);
  return { code: error.code, message: error.message };
}

test("a request carries the token as a Bearer token, the operation's name and its variables", async () => {
  const job = fake.addJob({ state: "RUNNING" });
  const data = await client().request<{ job: { state: string } }>(
    GET_COMMAND_JOB,
    { uuid: job.uuid },
    signal,
  );
  expect(data.job.state).toBe("RUNNING");
  const [call] = fake.calls;
  expect(call?.headers.authorization).toBe(`Bearer ${fake.apiToken}`);
  expect(call?.headers["content-type"]).toBe("application/json");
  expect(JSON.parse(call?.body.toString() ?? "")).toMatchObject({
    operationName: "GetCommandJob",
    variables: { uuid: job.uuid },
  });
});

test("a status other than 200 is an error that says returned error <status>: <body>", async () => {
  fake.failNext(1, { status: 502, message: "bad gateway" });
  expect(await failure(client().request(GET_COMMAND_JOB, { uuid: "x" }, signal))).toEqual({
    code: "ASK_BUILDKITE_GRAPHQL_REQUEST",
    message: 'GetCommandJob: returned error 502 Bad Gateway: {"message":"bad gateway"}',
  });
  const rejected = await failure(client({ token: "wrong" }).request(GET_COMMAND_JOB, { uuid: "x" }, signal));
  expect(rejected.message).toMatch(/^GetCommandJob: returned error 401 Unauthorized: /);
});

test("a 2xx other than 200 is an error too", async () => {
  const created: typeof fetch = async () =>
    new Response(JSON.stringify({ data: { job: null } }), {
      status: 201,
      headers: { "content-type": "application/json" },
    });
  const error = await failure(client({ fetch: created }).request(GET_COMMAND_JOB, { uuid: "x" }, signal));
  expect(error.message).toBe('GetCommandJob: returned error 201 Created: {"data":{"job":null}}');
});

test("a long error body is cut short in the message", async () => {
  fake.failNext(1, { status: 500, message: "x".repeat(5_000) });
  const error = await failure(client().request(GET_COMMAND_JOB, { uuid: "x" }, signal));
  expect(error.message.length).toBeLessThan(1_100);
  expect(error.message.endsWith("…")).toBe(true);
});

test("GraphQL errors in a 200 answer are an error with their messages", async () => {
  const error = await failure(
    client().request(`query Broken { organization(slug: "test-org") { zzz } }`, {}, signal),
  );
  expect(error).toEqual({
    code: "ASK_BUILDKITE_GRAPHQL_ERRORS",
    message: 'Broken: Cannot query field "zzz" on type "Organization".',
  });
});

test("a request that never answers is aborted after the timeout", async () => {
  fake.failNext(1, "timeout");
  expect(await failure(client({ timeoutMs: 100 }).request(GET_COMMAND_JOB, { uuid: "x" }, signal))).toEqual({
    code: "ASK_BUILDKITE_GRAPHQL_REQUEST",
    message: "GetCommandJob: no answer within 0.1s (http-timeout)",
  });
  expect(fake.calls.map((call) => call.status)).toEqual([0]);
});

test("the caller's abort ends a request with the caller's reason", async () => {
  fake.failNext(1, "timeout");
  const controller = new AbortController();
  const pending = client().request(GET_COMMAND_JOB, { uuid: "x" }, controller.signal);
  const reason = new Error("shutting down");
  setTimeout(() => controller.abort(reason), 20);
  await expect(pending).rejects.toBe(reason);
});

test("a connection error is a request error", async () => {
  const url = fake.graphqlUrl;
  await fake.close();
  const error = await failure(
    new BuildkiteGraphqlClient({
      endpoint: url,
      token: "t",
      timeoutMs: 5_000,
      logger: log.logger,
      logPayloads: false,
    }).request(GET_COMMAND_JOB, { uuid: "x" }, signal),
  );
  expect(error.code).toBe("ASK_BUILDKITE_GRAPHQL_REQUEST");
  expect(error.message).toMatch(/^GetCommandJob: fetch failed/);
  fake = await startFakeBuildkite();
});

test("DEBUG in the environment logs requests and responses, with Authorization redacted", async () => {
  const config = testConfig({
    graphqlEndpoint: fake.graphqlUrl,
    buildkiteToken: fake.apiToken,
    logHttpPayloads: false,
  });
  await graphqlClientFromConfig(config, log.logger, { DEBUG: "" }).request(
    GET_COMMAND_JOB,
    { uuid: "x" },
    signal,
  );
  const [request, response] = log.records();
  expect(request).toMatchObject({
    level: "debug",
    msg: "Buildkite GraphQL request",
    operation: "GetCommandJob",
  });
  expect(request?.request).toMatch(/^POST \/v1 HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+\r\n/);
  expect(request?.request).toContain("\r\nAuthorization: <redacted>\r\n");
  expect(request?.request).toContain('"operationName":"GetCommandJob"');
  expect(response).toMatchObject({ level: "debug", msg: "Buildkite GraphQL response", status: 200 });
  expect(response?.response).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  expect(response?.response).toContain('{"data":{"job":null}}');
  expect(log.text()).not.toContain(fake.apiToken);
});

test("log-http-payloads logs payloads too; without it and without DEBUG nothing is logged", async () => {
  const config = testConfig({ graphqlEndpoint: fake.graphqlUrl, buildkiteToken: fake.apiToken });
  await graphqlClientFromConfig(config, log.logger, {}).request(GET_COMMAND_JOB, { uuid: "x" }, signal);
  expect(log.records()).toEqual([]);
  await graphqlClientFromConfig({ ...config, logHttpPayloads: true }, log.logger, {}).request(
    GET_COMMAND_JOB,
    { uuid: "x" },
    signal,
  );
  expect(log.records().map((record) => record.msg)).toEqual([
    "Buildkite GraphQL request",
    "Buildkite GraphQL response",
  ]);
  expect(log.text()).not.toContain(fake.apiToken);
});
