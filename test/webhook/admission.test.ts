/**
 * The real server over HTTPS with generated certificates, sent real AdmissionReview JSON: the returned
 * JSON Patch, applied by the tests' own RFC 6902 applier, gives exactly what `render` prints, and a Job
 * kube-apiserver accepts.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { admit } from "../../src/admission/admit.ts";
import { ANNOTATION_EXPANDED_BY, ANNOTATION_JOB, LABEL_EXPAND } from "../../src/admission/contract.ts";
import { buildSkeleton, serializeJob } from "../../src/admission/skeleton.ts";
import { type BuildkiteJob, parseBuildkiteJob } from "../../src/buildkite/job.ts";
import type { Job } from "../../src/generated/k8s-types.ts";
import { admissionReview, names, renderJob, TEST_VERSION, testConfig, testJob } from "../support/fixtures.ts";
import { applyJsonPatch } from "../support/json-patch.ts";
import { expectValidJob } from "../support/k8s-validate.ts";
import { patchOf, startTestServer, type TestServer } from "./harness.ts";

const config = testConfig();
let webhook: TestServer;

beforeAll(async () => {
  webhook = await startTestServer({ config });
});
afterAll(() => webhook.close());

async function mutate(review: unknown): Promise<Record<string, unknown>> {
  const answer = await webhook.client.postJson("/mutate", review);
  expect(answer.status, answer.body).toBe(200);
  expect(answer.headers["content-type"]).toMatch(/^application\/json/);
  return answer.json();
}

function responseOf(answer: Record<string, unknown>): Record<string, unknown> {
  expect(answer.kind).toBe("AdmissionReview");
  return answer.response as Record<string, unknown>;
}

const exampleJob: BuildkiteJob = parseBuildkiteJob(
  JSON.parse(readFileSync(new URL("../../examples/job.json", import.meta.url), "utf8")),
  "examples/job.json",
);

describe("a launcher skeleton", () => {
  const jobs: ReadonlyArray<[string, BuildkiteJob]> = [
    ["the example job (containers, sidecar, checkout flags, podSpecPatch)", exampleJob],
    ["a plain command step with no plugin", testJob({ command: "make test" })],
    [
      "a step with a podSpec, image checks and metadata",
      testJob({
        plugin: {
          podSpec: { containers: [{ image: "golang:1.23", command: ["go test ./..."] }] },
          metadata: { labels: { team: "ci" } },
        },
      }),
    ],
  ];
  for (const [name, job] of jobs) {
    test(`${name}: the patched skeleton equals what render prints and is a valid Job`, async () => {
      const skeleton = buildSkeleton(job, config);
      const response = responseOf(await mutate(admissionReview(skeleton, `uid-${job.uuid}`)));
      expect(response).toMatchObject({ uid: `uid-${job.uuid}`, allowed: true, patchType: "JSONPatch" });
      const expanded = applyJsonPatch(skeleton, patchOf(response) ?? []);
      expect(expanded).toEqual(renderJob(job, config));
      expectValidJob(expanded);
    });
  }

  test("sending the expanded Job again gives no patch", async () => {
    const skeleton = buildSkeleton(exampleJob, config);
    const first = responseOf(await mutate(admissionReview(skeleton, "first")));
    const expanded = applyJsonPatch(skeleton, patchOf(first) ?? []) as Job;
    const second = responseOf(await mutate(admissionReview(expanded, "second")));
    expect(second).toEqual({ uid: "second", allowed: true });
  });

  test("a v1beta1 review is answered in v1beta1", async () => {
    const review = {
      ...admissionReview(buildSkeleton(exampleJob, config)),
      apiVersion: "admission.k8s.io/v1beta1",
    };
    const answer = await mutate(review);
    expect(answer.apiVersion).toBe("admission.k8s.io/v1beta1");
    const expanded = applyJsonPatch(review.request.object, patchOf(responseOf(answer)) ?? []);
    expect(expanded).toEqual(renderJob(exampleJob, config));
  });

  test("a job the stack would fail is denied with the reason and where it is", async () => {
    const job = testJob({
      plugin: { podSpec: { containers: [{ image: "alpine", env: [{ name: "A", value: 1 }] }] } },
    });
    const response = responseOf(await mutate(admissionReview(buildSkeleton(job, config), "denied-uid")));
    expect(response).toMatchObject({ uid: "denied-uid", allowed: false, status: { code: 400 } });
    expect((response.status as { message: string }).message).toContain(
      "(at plugins[0].kubernetes.podSpec.containers[0].env[0].value)",
    );
    expect(response.patch).toBeUndefined();
  });

  test("warnings travel back to whoever created the Job", async () => {
    const job = testJob({
      plugin: { podSpec: { containers: [{ image: "alpine", imagePullPolicyy: "Always" }] } },
    });
    const response = responseOf(await mutate(admissionReview(buildSkeleton(job, config))));
    expect(response.warnings).toEqual([expect.stringContaining('unknown field "imagePullPolicyy"')]);
  });
});

describe("a hand-written Job from another tool", () => {
  const buildkiteJob = testJob({ uuid: "0195a2b0-0000-4000-8000-0000000000aa", command: "npm test" });
  // As kube-apiserver sends it: the author's Job, after the API server's defaulting.
  const external: Job = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: "nightly-integration",
      namespace: "ci",
      labels: { [LABEL_EXPAND]: "true", "buildkite.com/job-uuid": buildkiteJob.uuid, app: "nightly" },
      annotations: { [ANNOTATION_JOB]: serializeJob(buildkiteJob), "example.com/owner": "platform" },
    },
    spec: {
      backoffLimit: 6,
      completions: 1,
      parallelism: 1,
      template: {
        metadata: { labels: { app: "nightly" } },
        spec: {
          containers: [
            {
              name: "tests",
              image: "node:22",
              command: ["npm", "test"],
              env: [{ name: "CI", value: "true" }],
              resources: { requests: { cpu: "1" } },
              terminationMessagePath: "/dev/termination-log",
              terminationMessagePolicy: "File",
              imagePullPolicy: "IfNotPresent",
            },
          ],
          restartPolicy: "Never",
          terminationGracePeriodSeconds: 30,
          dnsPolicy: "ClusterFirst",
          schedulerName: "default-scheduler",
          securityContext: {},
        },
      },
    },
  };

  test("the patched Job is what the admission function makes of it, and valid", async () => {
    const review = admissionReview(external, "external-uid");
    const response = responseOf(await mutate(review));
    expect(response).toMatchObject({ uid: "external-uid", allowed: true, patchType: "JSONPatch" });
    const expanded = applyJsonPatch(external, patchOf(response) ?? []) as Job;
    expect(expanded).toEqual(admit(admissionReview(external), { config, version: TEST_VERSION }).job);
    expectValidJob(expanded);
    expect(expanded.metadata?.name).toBe("nightly-integration");
    expect(expanded.metadata?.labels?.app).toBe("nightly");
    expect(expanded.metadata?.annotations?.["example.com/owner"]).toBe("platform");
    expect(expanded.metadata?.annotations?.[ANNOTATION_JOB]).toBeUndefined();
    expect(expanded.metadata?.annotations?.[ANNOTATION_EXPANDED_BY]).toBe(`agent-stack-k8s/${TEST_VERSION}`);
    expect(names(expanded.spec?.template.spec?.containers)).toEqual(["tests", "agent", "checkout"]);
    expect(expanded.spec?.backoffLimit).toBe(0);

    const again = responseOf(await mutate(admissionReview(expanded, "external-again")));
    expect(again).toEqual({ uid: "external-again", allowed: true });
  });

  test("its own containers together with a plugin podSpec are denied, naming the conflict", async () => {
    const withPlugin = testJob({
      uuid: buildkiteJob.uuid,
      plugin: { podSpec: { containers: [{ image: "alpine" }] } },
    });
    const conflicting = structuredClone(external);
    conflicting.metadata!.annotations![ANNOTATION_JOB] = serializeJob(withPlugin);
    const response = responseOf(await mutate(admissionReview(conflicting)));
    expect(response.allowed).toBe(false);
    expect((response.status as { message: string }).message).toContain(
      "the kubernetes plugin sets podSpec too",
    );
  });
});

describe("requests the webhook lets through untouched", () => {
  const plain = buildSkeleton(testJob(), config);
  const cases: ReadonlyArray<[string, unknown]> = [
    [
      "a Job without the label",
      admissionReview({ ...plain, metadata: { ...plain.metadata, labels: { app: "x" } } }, "u1"),
    ],
    [
      "an UPDATE",
      {
        ...admissionReview(plain, "u1"),
        request: { ...admissionReview(plain, "u1").request, operation: "UPDATE" },
      },
    ],
    [
      "another kind",
      {
        ...admissionReview(plain, "u1"),
        request: { ...admissionReview(plain, "u1").request, kind: { group: "", version: "v1", kind: "Pod" } },
      },
    ],
  ];
  for (const [name, review] of cases) {
    test(name, async () => {
      expect(responseOf(await mutate(review))).toEqual({ uid: "u1", allowed: true });
    });
  }
});
