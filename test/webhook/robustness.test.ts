/**
 * Bad input gets a clear 4xx that says what is wrong and where; an exception inside the expansion gets a
 * 500 naming the request, is logged with its stack, and leaves the server answering.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { admit } from "../../src/admission/admit.ts";
import { buildSkeleton } from "../../src/admission/skeleton.ts";
import { admissionReview, testConfig, testJob } from "../support/fixtures.ts";
import { startTestServer, type TestServer } from "./harness.ts";

const config = testConfig();

async function counted(webhook: TestServer, result: string): Promise<number> {
  const values = (await webhook.metrics.requests.get()).values;
  return values.find((value) => value.labels.result === result)?.value ?? 0;
}
const valid = admissionReview(buildSkeleton(testJob(), config), "valid-uid");

describe("bodies that are not an AdmissionReview", () => {
  let webhook: TestServer;
  beforeAll(async () => {
    webhook = await startTestServer({ config, bodyLimit: 64 * 1024 });
  });
  afterAll(() => webhook.close());

  const json = { "content-type": "application/json" };
  const cases: ReadonlyArray<[string, string | Buffer, Record<string, string>, number, RegExp]> = [
    ["malformed JSON", '{"kind": "AdmissionReview", ', json, 400, /not valid JSON: .*(end of JSON|position)/],
    [
      "JSON with trailing garbage",
      '{"kind":"AdmissionReview"} x',
      json,
      400,
      /not valid JSON: .*position 27/,
    ],
    ["an empty body", "", json, 400, /the body is empty/],
    ["invalid UTF-8", Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), json, 400, /not valid UTF-8/],
    ["a JSON array", "[]", json, 400, /the body is not a JSON object/],
    [
      "a wrong kind",
      '{"apiVersion":"admission.k8s.io/v1","kind":"Pod"}',
      json,
      400,
      /kind is "Pod", expected "AdmissionReview"/,
    ],
    [
      "an unknown API version",
      '{"apiVersion":"admission.k8s.io/v2","kind":"AdmissionReview","request":{}}',
      json,
      400,
      /apiVersion is "admission.k8s.io\/v2"/,
    ],
    [
      "a missing request",
      '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}',
      json,
      400,
      /request is missing/,
    ],
    [
      "a request without uid",
      '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"kind":{},"operation":"CREATE","object":{}}}',
      json,
      400,
      /request.uid is missing/,
    ],
    [
      "text/plain",
      JSON.stringify(valid),
      { "content-type": "text/plain" },
      415,
      /application\/json, not "text\/plain"/,
    ],
    ["no content type", JSON.stringify(valid), {}, 415, /without Content-Type/],
    [
      "a body over the limit",
      `{"a":"${"x".repeat(70 * 1024)}"}`,
      json,
      413,
      /larger than the limit of 65536 bytes/,
    ],
  ];
  for (const [name, body, headers, status, message] of cases) {
    test(`${name}: ${status} with a message`, async () => {
      const answer = await webhook.client.post("/mutate", body, headers);
      expect(answer.status, answer.body).toBe(status);
      expect(answer.json().message).toMatch(message);
    });
  }

  test("a Job of the wrong shape is the sender's fault: 400 naming the field", async () => {
    const review = structuredClone(valid) as { request: { object: { spec: unknown } } };
    review.request.object.spec = { template: { spec: { containers: "tests" } } };
    const answer = await webhook.client.postJson("/mutate", review);
    expect(answer.status).toBe(400);
    expect(answer.json()).toMatchObject({ code: "ASK_ADMISSION_INVALID_REVIEW" });
    expect(answer.json().message).toMatch(/request\.object\.spec\.template\.spec\.containers/);
  });

  test("a null list item, which kube-apiserver never sends, is a 400 naming it", async () => {
    const review = structuredClone(valid) as unknown as { request: { object: { spec: unknown } } };
    review.request.object.spec = {
      template: { spec: { containers: [{ name: "a", image: "alpine", env: [null] }] } },
    };
    const answer = await webhook.client.postJson("/mutate", review);
    expect(answer.status).toBe(400);
    expect(answer.json().message).toMatch(
      /request\.object\.spec\.template\.spec\.containers\[0\]\.env\[0\] is null/,
    );
  });

  test("every refusal is counted as bad_request and logged without the body", async () => {
    const before = await counted(webhook, "bad_request");
    const secret = "s3cr3t-value-of-the-job-env";
    const review = structuredClone(valid) as unknown as { kind: string; request: { object: unknown } };
    review.kind = "NotAReview";
    review.request.object = { env: secret };
    await webhook.client.postJson("/mutate", review);
    expect((await counted(webhook, "bad_request")) - before).toBe(1);
    expect(webhook.logs.text()).not.toContain(secret);
  });

  test("the server still expands a valid review afterwards", async () => {
    const answer = await webhook.client.postJson("/mutate", valid);
    expect(answer.status).toBe(200);
    expect(answer.json()).toMatchObject({
      response: { uid: "valid-uid", allowed: true, patchType: "JSONPatch" },
    });
  });
});

describe("odd but well-formed input found by the fuzzer", () => {
  let webhook: TestServer;
  beforeAll(async () => {
    webhook = await startTestServer({ config });
  });
  afterAll(() => webhook.close());

  const responseTo = async (review: unknown) => {
    const answer = await webhook.client.postJson("/mutate", review);
    expect(answer.status, answer.body).toBe(200);
    return answer.json().response as { allowed: boolean; status?: { message: string } };
  };

  test("a null spec is an absent spec, as Go reads it: the Job is expanded", async () => {
    const review = structuredClone(valid) as unknown as { request: { object: { spec: unknown } } };
    review.request.object.spec = null;
    expect(await responseTo(review)).toMatchObject({ allowed: true, patchType: "JSONPatch" });
  });

  test("a null container in the plugin's podSpec is an empty container, as Go reads it", async () => {
    const job = testJob({ plugin: { podSpec: { containers: [null] } } });
    const response = await responseTo(admissionReview(buildSkeleton(job, config)));
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toMatch(
      /repository name must have at least one component "" for container "container-0"/,
    );
  });

  test("a Job nested deeper than any Job can be is the sender's fault too", async () => {
    const depth = 20_000;
    const body = JSON.stringify(valid).replace(
      '"spec":{',
      `"spec":{"deep":${'{"a":'.repeat(depth)}1${"}".repeat(depth)},`,
    );
    const answer = await webhook.client.post("/mutate", body);
    expect(answer.status).toBe(400);
    expect(answer.json().message).toMatch(/nested too deeply/);
  });

  test("a podSpecPatch that removes every container is denied: the agent would be gone", async () => {
    const job = testJob({ plugin: { podSpecPatch: { containers: null } } });
    const response = await responseTo(admissionReview(buildSkeleton(job, config)));
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toMatch(/remove the container agent/);
  });
});

describe("an exception inside the expansion", () => {
  let webhook: TestServer;
  let calls = 0;
  beforeAll(async () => {
    webhook = await startTestServer({
      config,
      admit: (review, context) => {
        calls += 1;
        if (calls === 1) throw new TypeError("Cannot read properties of undefined (reading 'containers')");
        return admit(review, context);
      },
    });
  });
  afterAll(() => webhook.close());

  test("is a 500 naming the request uid, logged with its stack, and the server keeps answering", async () => {
    const failed = await webhook.client.postJson("/mutate", valid);
    expect(failed.status).toBe(500);
    expect(failed.json().message).toMatch(
      /internal error while admitting request valid-uid: Cannot read properties/,
    );

    const logged = webhook.logs.lines().find((line) => line.outcome === "error");
    expect(logged).toMatchObject({ level: "error", uid: "valid-uid", status: 500 });
    expect((logged?.err as { stack?: string } | undefined)?.stack).toMatch(
      /TypeError: Cannot read properties[\s\S]*at /,
    );

    const next = await webhook.client.postJson("/mutate", valid);
    expect(next.status).toBe(200);
    expect(next.json()).toMatchObject({ response: { uid: "valid-uid", allowed: true } });
    expect(await counted(webhook, "error")).toBe(1);
  });
});

describe("the per-admission log line", () => {
  let webhook: TestServer;
  beforeAll(async () => {
    webhook = await startTestServer({ config });
  });
  afterAll(() => webhook.close());

  test("names the uid, Job, Buildkite job and outcome at info, and never carries the body", async () => {
    const job = testJob({ env: { DATABASE_PASSWORD: "hunter2-do-not-log" } });
    const skeleton = buildSkeleton(job, config);
    await webhook.client.postJson("/mutate", admissionReview(skeleton, "log-uid"));
    const line = webhook.logs.lines().find((entry) => entry.uid === "log-uid");
    expect(line).toMatchObject({
      level: "info",
      uid: "log-uid",
      job: `default/${skeleton.metadata?.name}`,
      jobUuid: job.uuid,
      outcome: "expanded",
      status: 200,
    });
    expect(typeof line?.durationMs).toBe("number");
    expect(webhook.logs.text()).not.toContain("hunter2-do-not-log");
  });

  test("a denial is logged with its code and where the problem is, never its message: that quotes the plugin", async () => {
    const job = testJob({
      plugin: { podSpec: { containers: [{ image: "registry/hunter2-token:NOT VALID" }] } },
    });
    const answer = await webhook.client.postJson(
      "/mutate",
      admissionReview(buildSkeleton(job, config), "deny-uid"),
    );
    // The message goes back to the API server (and so to the Buildkite job's log) whole.
    expect(JSON.stringify(answer.json())).toContain("hunter2-token");
    const line = webhook.logs.lines().find((entry) => entry.uid === "deny-uid");
    expect(line).toMatchObject({ level: "info", outcome: "denied", reason: "ASK_IMAGE_REFERENCE" });
    expect(line).not.toHaveProperty("message");
    expect(webhook.logs.text()).not.toContain("hunter2");

    const twoKeys = testJob({ otherPlugins: [{ "docker#v5": { password: "hunter2" }, "cache#v1": {} }] });
    await webhook.client.postJson("/mutate", admissionReview(buildSkeleton(twoKeys, config), "two-keys-uid"));
    expect(webhook.logs.lines().find((entry) => entry.uid === "two-keys-uid")).toMatchObject({
      outcome: "denied",
      reason: "ASK_PLUGIN_INVALID",
      path: "BUILDKITE_PLUGINS[0]",
    });
    expect(webhook.logs.text()).not.toContain("hunter2");
  });

  test("a plugin nested 10,000 deep is a denial (ASK_PLUGIN_INVALID), not a malformed request", async () => {
    const depth = 10_000;
    const deep = `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
    const env = [`BUILDKITE_PLUGINS=[{"docker#v5":${deep},"cache#v1":{}}]`];
    const job = { ...testJob(), env };
    const answer = await webhook.client.postJson(
      "/mutate",
      admissionReview(buildSkeleton(job, config), "deep-uid"),
    );
    expect(answer.status).toBe(200);
    expect(answer.json().response).toMatchObject({ allowed: false, status: { code: 400 } });
    expect(webhook.logs.lines().find((entry) => entry.uid === "deep-uid")).toMatchObject({
      outcome: "denied",
      reason: "ASK_PLUGIN_INVALID",
    });
  });

  test("an untouched Job is logged at debug", async () => {
    const review = admissionReview(buildSkeleton(testJob(), config), "skip-uid");
    review.request.operation = "DELETE";
    await webhook.client.postJson("/mutate", review);
    expect(webhook.logs.lines().find((entry) => entry.uid === "skip-uid")).toMatchObject({
      level: "debug",
      outcome: "unchanged",
    });
  });
});
