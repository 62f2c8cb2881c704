/** The fake Buildkite answers as Buildkite does: the real schema, the real filters, the Agent API's checks. */
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, expect, test } from "vitest";
import { type FakeBuildkite, startFakeBuildkite } from "./fake-buildkite.ts";

let fake: FakeBuildkite;

beforeEach(async () => {
  fake = await startFakeBuildkite();
});

afterEach(async () => {
  await fake.close();
});

async function graphql(
  query: string,
  variables: Record<string, unknown> = {},
  token = fake.apiToken,
): Promise<{
  status: number;
  body: { data?: Record<string, unknown>; errors?: Array<{ message: string }> };
}> {
  const response = await fetch(fake.graphqlUrl, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as never };
}

async function agent(
  method: string,
  path: string,
  token: string,
  init: { json?: unknown; body?: Uint8Array; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { authorization: `Token ${token}`, ...init.headers };
  let body: string | Uint8Array | undefined = init.body;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    headers["content-type"] = "application/json";
  }
  const response = await fetch(`${fake.agentUrl}/${path}`, { method, headers, body });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const JOBS_QUERY = `query Jobs($slug: ID!, $rules: [String!], $last: Int, $first: Int, $before: String, $cluster: ID, $clustered: Boolean) {
  organization(slug: $slug) {
    id
    jobs(state: [SCHEDULED], type: [COMMAND], last: $last, first: $first, before: $before, order: RECENTLY_CREATED,
         agentQueryRules: $rules, cluster: $cluster, clustered: $clustered) {
      count
      edges { cursor node { __typename ... on JobTypeCommand { uuid } } }
      pageInfo { hasPreviousPage hasNextPage startCursor endCursor }
    }
  }
}`;

type JobsPage = {
  count: number;
  edges: Array<{ cursor: string; node: { uuid: string } }>;
  pageInfo: { hasPreviousPage: boolean; startCursor: string | null };
};

async function jobs(variables: Record<string, unknown>): Promise<JobsPage> {
  const { body } = await graphql(JOBS_QUERY, { slug: fake.org, ...variables });
  expect(body.errors).toBeUndefined();
  const organization = body.data?.organization as { jobs: JobsPage } | undefined;
  if (organization === undefined) throw new Error("no organization in the answer");
  return organization.jobs;
}

const uuids = (page: JobsPage) => page.edges.map((edge) => edge.node.uuid);

async function registeredAgent(tags = ["queue=kubernetes"]): Promise<string> {
  const registered = await agent("POST", "register", fake.registrationToken, {
    json: { name: "test-agent", meta_data: tags },
  });
  expect(registered.status).toBe(200);
  const token = registered.body.access_token as string;
  expect((await agent("POST", "connect", token)).status).toBe(200);
  return token;
}

test("a document with an unknown field, a wrong argument or a mistyped variable is rejected by the real schema", async () => {
  const unknownField = await graphql(`query { organization(slug: "test-org") { id nope } }`);
  expect(unknownField.status).toBe(200);
  expect(unknownField.body.errors?.[0]?.message).toMatch(/Cannot query field "nope" on type "Organization"/);
  expect(unknownField.body.data).toBeUndefined();

  const wrongArgument = await graphql(
    `query { organization(slug: "test-org") { jobs(status: [SCHEDULED]) { count } } }`,
  );
  expect(wrongArgument.body.errors?.[0]?.message).toMatch(/Unknown argument "status"/);

  const wrongEnum = await graphql(
    `query { organization(slug: "test-org") { jobs(state: [QUEUED]) { count } } }`,
  );
  expect(wrongEnum.body.errors?.[0]?.message).toMatch(/QUEUED/);

  const mistyped = await graphql(
    `query Q($last: Int!) { organization(slug: "test-org") { jobs(last: $last) { count } } }`,
    {
      last: "ten",
    },
  );
  expect(mistyped.body.errors?.[0]?.message).toMatch(/\$last/);
  expect(fake.calls.map((call) => call.status)).toEqual([200, 200, 200, 200]);
});

test("GraphQL needs the API token as a Bearer token", async () => {
  const response = await graphql(`query { organization(slug: "test-org") { id } }`, {}, "wrong");
  expect(response.status).toBe(401);
});

test("an organization the token cannot see is null", async () => {
  const { body } = await graphql(`query O($slug: ID!) { organization(slug: $slug) { id } }`, {
    slug: "someone-else",
  });
  expect(body).toEqual({ data: { organization: null } });
});

test("jobs are filtered by state, type, any matching rule and cluster membership, newest first", async () => {
  const a = fake.addJob({ agentQueryRules: ["queue=kubernetes"] });
  const b = fake.addJob({ agentQueryRules: ["queue=other", "os=linux"] });
  fake.addJob({ agentQueryRules: ["queue=elsewhere"] });
  fake.addJob({ agentQueryRules: ["queue=kubernetes"], state: "RUNNING" });
  fake.addJob({ type: "WAIT", agentQueryRules: ["queue=kubernetes"] });
  const clustered = fake.addJob({ agentQueryRules: ["queue=kubernetes"], cluster: "c1" });

  const anyRule = await jobs({ rules: ["queue=kubernetes", "os=linux"], first: 10 });
  expect(uuids(anyRule)).toEqual([clustered.uuid, b.uuid, a.uuid]);
  expect(anyRule.count).toBe(3);

  expect(uuids(await jobs({ rules: ["queue=kubernetes"], first: 10, clustered: false }))).toEqual([a.uuid]);
  const clusterId = Buffer.from("Cluster---c1").toString("base64");
  expect(uuids(await jobs({ rules: ["queue=kubernetes"], first: 10, cluster: clusterId }))).toEqual([
    clustered.uuid,
  ]);
});

test("last N of newest-first are the N oldest, and before: startCursor walks toward newer jobs", async () => {
  const created = Array.from({ length: 5 }, () => fake.addJob().uuid);
  const first = await jobs({ last: 2 });
  expect(uuids(first)).toEqual([created[1], created[0]]);
  expect(first.pageInfo.hasPreviousPage).toBe(true);
  const second = await jobs({ last: 2, before: first.pageInfo.startCursor });
  expect(uuids(second)).toEqual([created[3], created[2]]);
  const third = await jobs({ last: 2, before: second.pageInfo.startCursor });
  expect(uuids(third)).toEqual([created[4]]);
  expect(third.pageInfo.hasPreviousPage).toBe(false);
});

test("cluster queues and their dispatch state", async () => {
  fake.addCluster("c1", [{ key: "kubernetes" }, { key: "paused", dispatchPaused: true }]);
  fake.setQueuePaused("c1", "kubernetes", true);
  const { body } = await graphql(
    `query Q($slug: ID!, $cluster: ID!) { organization(slug: $slug) { cluster(id: $cluster) { queues(first: 10) { edges { node { key dispatchPaused } } } } } }`,
    { slug: fake.org, cluster: Buffer.from("Cluster---c1").toString("base64") },
  );
  expect(body.data).toEqual({
    organization: {
      cluster: {
        queues: {
          edges: [
            { node: { key: "kubernetes", dispatchPaused: true } },
            { node: { key: "paused", dispatchPaused: true } },
          ],
        },
      },
    },
  });
});

test("job(uuid) resolves the Job union by type, and null for an unknown uuid", async () => {
  const command = fake.addJob({ state: "RUNNING" });
  const wait = fake.addJob({ type: "WAIT" });
  const query = `query J($uuid: ID!) { job(uuid: $uuid) { __typename ... on JobTypeCommand { id state } } }`;
  expect((await graphql(query, { uuid: command.uuid })).body.data).toEqual({
    job: {
      __typename: "JobTypeCommand",
      id: Buffer.from(`JobTypeCommand---${command.uuid}`).toString("base64"),
      state: "RUNNING",
    },
  });
  expect((await graphql(query, { uuid: wait.uuid })).body.data).toEqual({
    job: { __typename: "JobTypeWait" },
  });
  expect((await graphql(query, { uuid: "nope" })).body.data).toEqual({ job: null });
});

test("jobTypeCommandCancel cancels a job that has not finished and refuses one that has", async () => {
  const scheduled = fake.addJob();
  const finished = fake.addJob({ state: "FINISHED" });
  const mutation = `mutation C($input: JobTypeCommandCancelInput!) { jobTypeCommandCancel(input: $input) { clientMutationId } }`;
  const ok = await graphql(mutation, { input: { clientMutationId: "pod-1", id: scheduled.uuid } });
  expect(ok.body).toEqual({ data: { jobTypeCommandCancel: { clientMutationId: "pod-1" } } });
  expect(fake.job(scheduled.uuid)?.state).toBe("CANCELED");
  const refused = await graphql(mutation, { input: { id: finished.uuid } });
  expect(refused.body.errors?.[0]?.message).toMatch(/can't be canceled/);
  expect(fake.calls.map((call) => call.operation)).toEqual(["C", "C"]);
});

test("only the registration token registers, and only an access token does the rest", async () => {
  expect((await agent("POST", "register", "wrong", { json: { name: "a" } })).status).toBe(401);
  const token = await registeredAgent();
  expect((await agent("POST", "register", token, { json: { name: "a" } })).status).toBe(401);
  expect((await agent("POST", "connect", fake.registrationToken)).status).toBe(401);
  expect(fake.agents.map((registered) => registered.connected)).toEqual([true]);
});

test("register wants a JSON body", async () => {
  const response = await fetch(`${fake.agentUrl}/register`, {
    method: "POST",
    headers: { authorization: `Token ${fake.registrationToken}`, "content-type": "text/plain" },
    body: "name=a",
  });
  expect(response.status).toBe(400);
});

test("acquire is refused (422) unless the job is scheduled and the agent's tags satisfy its rules", async () => {
  const token = await registeredAgent(["queue=kubernetes"]);
  const running = fake.addJob({ state: "RUNNING" });
  const elsewhere = fake.addJob({ agentQueryRules: ["queue=kubernetes", "os=windows"] });
  const mine = fake.addJob({ agentQueryRules: ["queue=kubernetes"] });
  expect((await agent("PUT", `jobs/${running.uuid}/acquire`, token)).status).toBe(422);
  expect((await agent("PUT", `jobs/${elsewhere.uuid}/acquire`, token)).status).toBe(422);
  expect((await agent("PUT", "jobs/unknown/acquire", token)).status).toBe(404);
  const acquired = await agent("PUT", `jobs/${mine.uuid}/acquire`, token);
  expect(acquired).toMatchObject({ status: 200, body: { id: mine.uuid, state: "accepted" } });
  expect((await agent("PUT", `jobs/${mine.uuid}/acquire`, token)).status).toBe(422);
  expect(fake.job(mine.uuid)).toMatchObject({ state: "ACCEPTED", acquiredBy: "test-agent" });
});

test("start, a gzip chunk and finish move the job to FINISHED with its log", async () => {
  const token = await registeredAgent();
  const job = fake.addJob();
  await agent("PUT", `jobs/${job.uuid}/acquire`, token);
  const early = await agent("PUT", `jobs/${job.uuid}/finish`, token, {
    json: { exit_status: "1", finished_at: "2025-01-01T00:00:00Z" },
  });
  expect(early.status).toBe(422);
  expect((await agent("PUT", `jobs/${job.uuid}/start`, token, { json: { started_at: "now" } })).status).toBe(
    200,
  );
  const chunk = (size: number, body: Uint8Array) =>
    agent("POST", `jobs/${job.uuid}/chunks?sequence=0&offset=0&size=${size}`, token, {
      body,
      headers: { "content-type": "text/plain", "content-encoding": "gzip" },
    });
  expect((await chunk(5, Buffer.from("hello"))).status).toBe(400);
  expect((await chunk(4, gzipSync("hello"))).status).toBe(422);
  expect((await chunk(5, gzipSync("hello"))).status).toBe(201);
  const numeric = await agent("PUT", `jobs/${job.uuid}/finish`, token, {
    json: { exit_status: 1, finished_at: "2025-01-01T00:00:00Z" },
  });
  expect(numeric).toMatchObject({ status: 422, body: { message: "exit_status must be a string" } });
  const finished = await agent("PUT", `jobs/${job.uuid}/finish`, token, {
    json: { exit_status: "1", finished_at: "2025-01-01T00:00:00Z", chunks_failed_count: 0 },
  });
  expect(finished.status).toBe(200);
  expect(fake.job(job.uuid)).toMatchObject({ state: "FINISHED", exitStatus: "1", log: "hello" });
});

test("injected failures: a status with Retry-After, a matcher, a reset and no answer at all", async () => {
  fake.failNext(
    1,
    { status: 429, retryAfter: "3" },
    (kind, operation) => kind === "agent" && operation === "register",
  );
  fake.failNext(1, 502, (kind) => kind === "graphql");
  const limited = await fetch(`${fake.agentUrl}/register`, { method: "POST" });
  expect(limited.status).toBe(429);
  expect(limited.headers.get("retry-after")).toBe("3");
  expect((await graphql(`query { organization(slug: "test-org") { id } }`)).status).toBe(502);
  expect((await graphql(`query { organization(slug: "test-org") { id } }`)).status).toBe(200);

  fake.failNext(1, "reset");
  await expect(fetch(`${fake.agentUrl}/connect`, { method: "POST" })).rejects.toThrow();
  fake.failNext(1, "timeout");
  await expect(
    fetch(`${fake.agentUrl}/connect`, { method: "POST", signal: AbortSignal.timeout(100) }),
  ).rejects.toThrow();
  expect(fake.calls.map((call) => [call.kind, call.operation, call.status])).toEqual([
    ["agent", "register", 429],
    ["graphql", "anonymous", 502],
    ["graphql", "anonymous", 200],
    ["agent", "connect", 0],
    ["agent", "connect", 0],
  ]);
});

test("artificial latency delays every answer", async () => {
  fake.setLatency(300);
  await expect(fetch(fake.graphqlUrl, { method: "POST", signal: AbortSignal.timeout(30) })).rejects.toThrow();
  fake.setLatency(0);
  expect((await graphql(`query { organization(slug: "test-org") { id } }`)).status).toBe(200);
});
