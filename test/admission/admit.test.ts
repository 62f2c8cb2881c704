/** The admission decision (design.md, "The contract between launcher and webhook"). */
import jsonpatch, { type Operation } from "fast-json-patch";
import { describe, expect, test } from "vitest";
import { admit } from "../../src/admission/admit.ts";
import { ANNOTATION_EXPANDED_BY, ANNOTATION_JOB, LABEL_EXPAND } from "../../src/admission/contract.ts";
import { buildSkeleton, serializeJob } from "../../src/admission/skeleton.ts";
import { isAgentStackError } from "../../src/errors.ts";
import type { Job } from "../../src/generated/k8s-types.ts";
import {
  admissionReview,
  containerNamed,
  envValue,
  names,
  TEST_VERSION,
  testConfig,
  testJob,
} from "../support/fixtures.ts";
import { expectValidJob } from "../support/k8s-validate.ts";

const config = testConfig();
const context = { config, version: TEST_VERSION };

function patched(object: Job, review = admit(admissionReview(object), context).review): Job {
  const { response } = review;
  expect(response.allowed).toBe(true);
  expect(response.patchType).toBe("JSONPatch");
  const operations = JSON.parse(Buffer.from(response.patch ?? "", "base64").toString("utf8")) as Operation[];
  expect(jsonpatch.validate(operations, structuredClone(object))).toBeUndefined();
  return jsonpatch.applyPatch(structuredClone(object), operations, true, false).newDocument;
}

describe("a launcher skeleton", () => {
  const job = testJob({
    plugin: { podSpec: { containers: [{ image: "alpine:latest", command: ["make"] }] } },
  });
  const skeleton = buildSkeleton(job, config);

  test("the skeleton carries the contract's keys and no containers", () => {
    expect(skeleton.metadata).toEqual({
      name: `buildkite-${job.uuid}`,
      namespace: "default",
      labels: { [LABEL_EXPAND]: "true", "buildkite.com/job-uuid": job.uuid },
      annotations: { [ANNOTATION_JOB]: serializeJob(job) },
    });
    expect(skeleton.spec?.template.spec?.containers).toEqual([]);
  });

  test("is expanded by a JSON Patch into a valid Job", () => {
    const result = patched(skeleton);
    expectValidJob(result);
    expect(result.metadata?.name).toBe(`buildkite-${job.uuid}`);
    expect(result.metadata?.annotations?.[ANNOTATION_JOB]).toBeUndefined();
    expect(result.metadata?.annotations?.[ANNOTATION_EXPANDED_BY]).toBe(`agent-stack-k8s/${TEST_VERSION}`);
    expect(result.metadata?.labels?.[LABEL_EXPAND]).toBe("true");
    expect(result.spec?.template.metadata?.labels?.["buildkite.com/job-uuid"]).toBe(job.uuid);
    expect(names(result.spec?.template.spec?.containers)).toEqual(["container-0", "agent", "checkout"]);
  });

  test("whatever the API server defaulted into the empty pod template is ignored", () => {
    const defaulted = structuredClone(skeleton);
    defaulted.spec = {
      backoffLimit: 6,
      completions: 1,
      parallelism: 1,
      template: {
        spec: {
          containers: [],
          restartPolicy: "Always",
          terminationGracePeriodSeconds: 30,
          dnsPolicy: "ClusterFirst",
          schedulerName: "default-scheduler",
          securityContext: {},
        },
      },
    };
    const result = patched(defaulted);
    expect(result.spec?.backoffLimit).toBe(0);
    expect(result.spec?.template.spec?.terminationGracePeriodSeconds).toBe(60);
    expect(result.spec?.template.spec?.restartPolicy).toBe("Never");
    expect(result.spec?.template.spec?.dnsPolicy).toBeUndefined();
    expectValidJob(result);
  });

  test("an expanded Job sent again is left alone: re-invocation is idempotent", () => {
    const once = patched(skeleton);
    const second = admit(admissionReview(once), context);
    expect(second.outcome).toBe("unchanged");
    expect(second.reason).toBe("already expanded");
    expect(second.review.response).toEqual({ uid: "705ab4f5-6393-11e8-b7cc-42010a800002", allowed: true });
  });

  test("the answer echoes the request uid in the version asked", () => {
    const review = { ...admissionReview(skeleton, "abc-123"), apiVersion: "admission.k8s.io/v1beta1" };
    const result = admit(review, context);
    expect(result.review.apiVersion).toBe("admission.k8s.io/v1beta1");
    expect(result.review.kind).toBe("AdmissionReview");
    expect(result.review.response.uid).toBe("abc-123");
  });

  test("warnings reach the API server, which shows them to the client", () => {
    const warned = buildSkeleton(testJob({ plugin: { colour: "red" } }), config);
    expect(admit(admissionReview(warned), context).review.response.warnings).toEqual([
      'unknown field "colour" at plugins[0].kubernetes (KubernetesPlugin has no such field); it was ignored',
    ]);
  });
});

describe("a Job created by another tool", () => {
  const job = testJob({ command: "npm test" });
  const external: Job = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      generateName: "nightly-",
      namespace: "ci",
      labels: { [LABEL_EXPAND]: "true", app: "nightly" },
      annotations: { [ANNOTATION_JOB]: serializeJob(job), owner: "platform" },
    },
    spec: {
      backoffLimit: 6,
      template: {
        metadata: { labels: { app: "nightly" } },
        spec: {
          serviceAccountName: "ci",
          restartPolicy: "Never",
          containers: [{ name: "node", image: "node:24", resources: { limits: { memory: "2Gi" } } }],
        },
      },
    },
  };

  test("is expanded with its own pod template as the starting pod spec", () => {
    const result = patched(external);
    expectValidJob(result);
    const podSpec = result.spec?.template.spec;
    expect(podSpec?.serviceAccountName).toBe("ci");
    expect(names(podSpec?.containers)).toEqual(["node", "agent", "checkout"]);
    expect(envValue(containerNamed(podSpec!, "node"), "BUILDKITE_COMMAND")).toBe("npm test");
    expect(containerNamed(podSpec!, "node").resources).toEqual({ limits: { memory: "2Gi" } });
  });

  test("keeps its own name, labels and annotations", () => {
    const result = patched(external);
    expect(result.metadata?.generateName).toBe("nightly-");
    expect(result.metadata?.labels).toMatchObject({ app: "nightly", "buildkite.com/job-uuid": job.uuid });
    expect(result.metadata?.annotations?.owner).toBe("platform");
    expect(result.spec?.template.metadata?.labels).toMatchObject({
      app: "nightly",
      "buildkite.com/job-uuid": job.uuid,
    });
    expect(result.spec?.backoffLimit).toBe(0);
  });
});

describe("denials say what is wrong and where", () => {
  const deny = (object: Job) => {
    const result = admit(admissionReview(object), context);
    expect(result.outcome).toBe("denied");
    expect(result.review.response.allowed).toBe(false);
    expect(result.review.response.patch).toBeUndefined();
    return { code: result.reason, status: result.review.response.status };
  };
  const labelled = (annotations: Record<string, string> | undefined): Job => ({
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "x", labels: { [LABEL_EXPAND]: "true" }, ...(annotations ? { annotations } : {}) },
    spec: { template: { spec: { containers: [] } } },
  });

  test("a labelled Job without the job annotation", () => {
    expect(deny(labelled(undefined))).toEqual({
      code: "ASK_ADMISSION_JOB_ANNOTATION",
      status: {
        code: 400,
        reason: "BadRequest",
        message:
          'the Job has the buildkite.com/expand=true label but no buildkite.com/job annotation (metadata.annotations["buildkite.com/job"]) with the Buildkite job to run',
      },
    });
  });

  test("an annotation that is not JSON", () => {
    const { code, status } = deny(labelled({ [ANNOTATION_JOB]: "{uuid:" }));
    expect(code).toBe("ASK_ADMISSION_JOB_ANNOTATION");
    expect(status?.message).toMatch(/^metadata.annotations\["buildkite.com\/job"\] is not valid JSON: /);
  });

  test("an annotation that is not a JobTypeCommand names the field", () => {
    const { code, status } = deny(
      labelled({ [ANNOTATION_JOB]: JSON.stringify({ uuid: "abc", env: ["A=1", 7] }) }),
    );
    expect(code).toBe("ASK_JOB_INVALID");
    expect(status?.message).toContain("$.env[1]");
  });

  test("a job the expansion fails carries the Buildkite failure message", () => {
    const job = testJob({ plugin: { podSpec: { containers: [{ image: "NOPE" }] } } });
    const { code, status } = deny(buildSkeleton(job, config));
    expect(code).toBe("ASK_IMAGE_REFERENCE");
    expect(status?.message).toBe(
      'agent-stack-k8s failed to build a podSpec for the job: repository name must be lowercase "NOPE" for container "container-0"',
    );
  });
});

describe("anything else passes through untouched", () => {
  const skeleton = buildSkeleton(testJob(), config);

  test.each([
    [
      "an unlabelled Job",
      { ...skeleton, metadata: { ...skeleton.metadata, labels: {} } },
      undefined,
      "no buildkite.com/expand=true label",
    ],
    ["an UPDATE", skeleton, { operation: "UPDATE" }, "operation UPDATE"],
    ["a Pod", skeleton, { kind: { group: "", version: "v1", kind: "Pod" } }, "not a batch/v1 Job"],
  ])("%s", (_name, object, requestOverrides, reason) => {
    const review = admissionReview(object);
    const result = admit({ ...review, request: { ...review.request, ...requestOverrides } }, context);
    expect(result).toMatchObject({ outcome: "unchanged", reason });
    expect(result.review.response).toEqual({ uid: review.request.uid, allowed: true });
  });
});

describe("a body that is not an AdmissionReview is an error, not a decision", () => {
  test.each([
    [null, "the body is not a JSON object"],
    [{ kind: "Job" }, 'kind is "Job", expected "AdmissionReview"'],
    [{ kind: "AdmissionReview", apiVersion: "v1" }, 'apiVersion is "v1"'],
    [{ kind: "AdmissionReview", apiVersion: "admission.k8s.io/v1" }, "request is missing"],
    [
      { kind: "AdmissionReview", apiVersion: "admission.k8s.io/v1", request: { kind: {} } },
      "request.uid is missing",
    ],
    [
      {
        kind: "AdmissionReview",
        apiVersion: "admission.k8s.io/v1",
        request: { uid: "u", kind: {}, operation: "CREATE" },
      },
      "request.object is missing",
    ],
  ])("%j", (body, message) => {
    try {
      admit(body, context);
      expect.unreachable();
    } catch (error) {
      expect(isAgentStackError(error, "ASK_ADMISSION_INVALID_REVIEW")).toBe(true);
      expect((error as Error).message).toContain(message);
    }
  });
});
