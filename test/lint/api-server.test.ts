/**
 * What lint says kube-apiserver would refuse, against the test suite's own validator (an independent
 * reading of the OpenAPI document and the API server's rules): on the Jobs of real pipelines both find
 * nothing, and on Jobs broken on purpose both find the problem.
 */
import { describe, expect, test } from "vitest";
import type { Job } from "../../src/generated/k8s-types.ts";
import { apiServerProblems, fieldPathText } from "../../src/lint/api-server.ts";
import { renderJob } from "../../src/render/render-job.ts";
import { testConfig, testJob } from "../support/fixtures.ts";
import { validateK8sObject } from "../support/k8s-validate.ts";

function rendered(plugin: unknown): Job {
  const result = renderJob(testJob({ plugin }), { config: testConfig() });
  if (!result.ok) throw new Error(result.message);
  return result.job;
}

const problems = (job: Job) =>
  apiServerProblems(job).map((problem) => `${fieldPathText(problem.path)}: ${problem.message}`);

const base = {
  podSpec: {
    containers: [
      { name: "app", image: "alpine:3", resources: { requests: { cpu: "500m" }, limits: { cpu: "1" } } },
    ],
    volumes: [{ name: "cache", emptyDir: {} }],
  },
  sidecars: [{ image: "redis:7" }],
};

test("a Job the stack builds has nothing the API server would refuse, by both readings", () => {
  const job = rendered(base);
  expect(problems(job)).toEqual([]);
  expect(validateK8sObject(job)).toEqual([]);
});

type Breakage = (spec: NonNullable<NonNullable<Job["spec"]>["template"]["spec"]>) => void;

describe.each<[string, Breakage, string]>([
  [
    "duplicate container names",
    (spec) => spec.initContainers!.push({ ...spec.containers[0]! }),
    'spec.template.spec.initContainers[3].name: Duplicate value: "app"',
  ],
  [
    "a container name that is no DNS label",
    (spec) => {
      spec.containers[0]!.name = "App_1";
    },
    'spec.template.spec.containers[0].name: Invalid value: "App_1"',
  ],
  [
    "a mount of an undeclared volume",
    (spec) => spec.containers[0]!.volumeMounts!.push({ name: "nope", mountPath: "/nope" }),
    'spec.template.spec.containers[0].volumeMounts[1].name: Not found: "nope"',
  ],
  [
    "a mount path used twice",
    (spec) => spec.containers[0]!.volumeMounts!.push({ name: "cache", mountPath: "/workspace" }),
    'spec.template.spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/workspace": must be unique',
  ],
  [
    "an env entry without a name",
    (spec) => spec.containers[0]!.env!.push({ name: "" }),
    "spec.template.spec.containers[0].env[4].name: Required value",
  ],
  [
    "an env name with =",
    (spec) => spec.containers[0]!.env!.push({ name: "A=B", value: "c" }),
    'spec.template.spec.containers[0].env[4].name: Invalid value: "A=B"',
  ],
  [
    "a value and valueFrom",
    (spec) =>
      spec.containers[0]!.env!.push({
        name: "A",
        value: "b",
        valueFrom: { fieldRef: { fieldPath: "metadata.name" } },
      }),
    "spec.template.spec.containers[0].env[4].valueFrom: Invalid value",
  ],
  [
    "an envFrom with no source",
    (spec) => {
      spec.containers[0]!.envFrom = [{ prefix: "X_" }];
    },
    "spec.template.spec.containers[0].envFrom[0]: Required value: must specify one of: configMapRef, secretRef",
  ],
  [
    "a volume with two sources",
    (spec) => {
      spec.volumes![0] = { name: "cache", emptyDir: {}, hostPath: { path: "/tmp" } };
    },
    "spec.template.spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type",
  ],
  [
    "a volume with no source",
    (spec) => {
      spec.volumes![0] = { name: "cache" };
    },
    "spec.template.spec.volumes[0]: Required value: must specify a volume type",
  ],
  [
    "a restart policy a Job refuses",
    (spec) => {
      spec.restartPolicy = "Always";
    },
    'spec.template.spec.restartPolicy: Unsupported value: "Always"',
  ],
  [
    "a pull policy Kubernetes does not know",
    (spec) => {
      spec.containers[0]!.imagePullPolicy = "Sometimes";
    },
    'spec.template.spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes"',
  ],
  [
    "an init container restart policy other than Always",
    (spec) => {
      spec.initContainers![2]!.restartPolicy = "Never";
    },
    'spec.template.spec.initContainers[2].restartPolicy: Unsupported value: "Never"',
  ],
])("%s", (_name, breakIt, expected) => {
  test("lint and the test suite's validator both find it", () => {
    const job = rendered(base);
    breakIt(job.spec!.template.spec!);
    expect(problems(job)).toContainEqual(expect.stringContaining(expected));
    expect(validateK8sObject(job).length).toBeGreaterThan(0);
  });
});

describe("beyond the test suite's validator", () => {
  test("requests above limits, compared as quantities", () => {
    const job = rendered({
      podSpec: {
        containers: [
          {
            image: "a:1",
            resources: { requests: { memory: "1Gi", cpu: "1" }, limits: { memory: "1000Mi", cpu: "1000m" } },
          },
        ],
      },
    });
    expect(problems(job)).toEqual([
      'spec.template.spec.containers[0].resources.requests.memory: Invalid value: "1Gi": must be less than or equal to memory limit of 1000Mi',
    ]);
  });

  test("labels and annotations Kubernetes refuses", () => {
    const job = rendered({
      metadata: { labels: { "team/a/b": "x", ok: "not ok" }, annotations: { "bad key!": "v" } },
    });
    expect(problems(job)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('metadata.labels[team/a/b]: Invalid value: "team/a/b"'),
        expect.stringContaining('metadata.labels.ok: Invalid value: "not ok"'),
        expect.stringContaining('metadata.annotations[bad key!]: Invalid value: "bad key!"'),
      ]),
    );
  });
});
