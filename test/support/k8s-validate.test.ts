import { describe, expect, test } from "vitest";
import type { Job } from "../../src/generated/k8s-types.ts";
import { expectValidJob, validateK8sObject } from "./k8s-validate.ts";

const UUID = "0195a2b0-0000-4000-8000-000000000001";
const POD = "spec.template.spec";

/** A Job shaped like the upstream E1 example (podspec-expansion.md §8), trimmed to what the checks touch. */
function validJob(): Job {
  const workspace = () => [{ name: "workspace", mountPath: "/workspace" }];
  const labels = { "buildkite.com/job-uuid": UUID, "tag.buildkite.com/queue": "kubernetes" };
  const annotations = {
    "cluster-autoscaler.kubernetes.io/safe-to-evict": "false",
    "buildkite.com/build-url": "https://buildkite.com/acme/app/builds/7",
    "buildkite.com/step-key": "",
  };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: `buildkite-${UUID}`, namespace: "buildkite", labels, annotations },
    spec: {
      backoffLimit: 0,
      ttlSecondsAfterFinished: 600,
      activeDeadlineSeconds: 21600,
      template: {
        metadata: { labels: { ...labels }, annotations: { ...annotations } },
        spec: {
          restartPolicy: "Never",
          terminationGracePeriodSeconds: 60,
          volumes: [{ name: "workspace", emptyDir: {} }],
          initContainers: [
            {
              name: "copy-agent",
              image: "buildkite/agent:latest",
              imagePullPolicy: "Always",
              command: ["/bin/sh"],
              args: ["-cefx", "cp /usr/local/bin/buildkite-agent /workspace"],
              volumeMounts: workspace(),
            },
          ],
          containers: [
            {
              name: "container-0",
              image: "alpine:latest",
              imagePullPolicy: "IfNotPresent",
              command: ["/workspace/tini-static"],
              args: ["--", "/workspace/buildkite-agent", "kubernetes-bootstrap"],
              workingDir: "/workspace",
              env: [
                { name: "BUILDKITE_COMMAND", value: "echo hello world" },
                { name: "BUILDKITE_CONTAINER_ID", value: "1" },
              ],
              resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "1", memory: "1Gi" } },
              volumeMounts: workspace(),
            },
            {
              name: "agent",
              image: "buildkite/agent:latest",
              imagePullPolicy: "IfNotPresent",
              args: ["start"],
              env: [
                { name: "BUILDKITE_AGENT_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                {
                  name: "BUILDKITE_AGENT_TOKEN",
                  valueFrom: {
                    secretKeyRef: { name: "buildkite-agent-token", key: "BUILDKITE_AGENT_TOKEN" },
                  },
                },
              ],
              volumeMounts: workspace(),
            },
            {
              name: "checkout",
              image: "buildkite/agent:latest",
              imagePullPolicy: "IfNotPresent",
              command: ["/bin/sh", "-c"],
              args: ["set -exuf\ntrue\nbuildkite-agent-entrypoint kubernetes-bootstrap"],
              envFrom: [{ secretRef: { name: "git-credentials" } }],
              volumeMounts: workspace(),
            },
          ],
        },
      },
    },
  };
}

/** Sets `value` at a dotted path (`spec.template.spec.containers.0.image`), creating objects on the way. */
function set(target: object, path: string, value: unknown): void {
  const keys = path.split(".");
  const last = keys.pop() ?? "";
  let current: unknown = target;
  for (const key of keys) {
    const container = current as Record<string, unknown>;
    container[key] ??= {};
    current = container[key];
  }
  (current as Record<string, unknown>)[last] = value;
}

function remove(target: object, path: string): void {
  const keys = path.split(".");
  const last = keys.pop() ?? "";
  const parent = keys.reduce<unknown>((current, key) => (current as Record<string, unknown>)[key], target);
  delete (parent as Record<string, unknown>)[last];
}

function problemsAfter(change: (job: Job) => void): string[] {
  const job = validJob();
  change(job);
  return validateK8sObject(job);
}

interface Rule {
  readonly rule: string;
  /** A change that stays valid, at the edge of what the rule allows. */
  readonly valid: (job: Job) => void;
  /** A change that breaks the rule, and exactly the problems it must produce. */
  readonly invalid: (job: Job) => void;
  readonly problems: readonly string[];
}

function checkRules(rules: readonly Rule[]): void {
  describe.each(rules)("$rule", ({ valid, invalid, problems }) => {
    test("an object that keeps the rule is valid", () => {
      expect(problemsAfter(valid)).toEqual([]);
    });

    test("an object that breaks the rule is reported at the right path, and nothing else is", () => {
      // Problems come in document order; the rules list them in reading order.
      expect(problemsAfter(invalid).sort()).toEqual([...problems].sort());
    });
  });
}

describe("the reference Job", () => {
  test("an expanded Job like upstream's is valid", () => {
    expect(validateK8sObject(validJob())).toEqual([]);
  });

  test("the Job definition is the default", () => {
    expect(validateK8sObject(validJob(), "io.k8s.api.batch.v1.Job")).toEqual([]);
  });

  test("an unknown definition is a mistake in the test, not a problem of the object", () => {
    expect(() => validateK8sObject({}, "io.k8s.api.core.v1.NoSuchThing")).toThrow(/no definition/);
  });

  test("something that is not an object is reported once, at the root", () => {
    expect(validateK8sObject("job")).toEqual(['<root>: Invalid value: "job": must be an object']);
  });
});

describe("strict field validation", () => {
  checkRules([
    {
      rule: "fields the schema does not know are refused, at any depth",
      valid: (job) => set(job, `${POD}.containers.0.stdin`, false),
      invalid: (job) => {
        set(job, "spec.template.spec.containers.0.imagePullSecret", "x");
        set(job, "spec.completionsCount", 1);
        set(job, "status.phase", "Running");
      },
      problems: [
        "spec.template.spec.containers[0].imagePullSecret: unknown field",
        "spec.completionsCount: unknown field",
        "status.phase: unknown field",
      ],
    },
    {
      rule: "field names are case-sensitive",
      valid: (job) => set(job, "spec.template.spec.containers.0.workingDir", "/src"),
      invalid: (job) => set(job, "spec.template.spec.containers.0.WorkingDir", "/src"),
      problems: ["spec.template.spec.containers[0].WorkingDir: unknown field"],
    },
    {
      rule: "apiVersion and kind name a batch/v1 Job",
      valid: (job) => set(job, "metadata.namespace", "default"),
      invalid: (job) => {
        set(job, "apiVersion", "batch/v2");
        remove(job, "kind");
      },
      problems: [
        'apiVersion: Invalid value: "batch/v2": must be "batch/v1"',
        'kind: Required value: must be "Job"',
      ],
    },
  ]);
});

describe("JSON types", () => {
  checkRules([
    {
      rule: "strings, booleans, objects and lists have their JSON type",
      valid: (job) => {
        set(job, "spec.manualSelector", false);
        set(job, `${POD}.nodeSelector`, { "kubernetes.io/os": "linux" });
      },
      invalid: (job) => {
        set(job, `${POD}.containers.0.image`, 5);
        set(job, "spec.manualSelector", "true");
        set(job, `${POD}.nodeSelector`, ["linux"]);
        set(job, `${POD}.containers.0.args`, "start");
      },
      problems: [
        'spec.manualSelector: Invalid value: "true": must be a boolean',
        'spec.template.spec.nodeSelector: Invalid value: ["linux"]: must be an object',
        "spec.template.spec.containers[0].image: Invalid value: 5: must be a string",
        'spec.template.spec.containers[0].args: Invalid value: "start": must be a list',
      ],
    },
    {
      rule: "integer fields refuse fractions and numbers written as strings",
      valid: (job) => set(job, "spec.backoffLimit", 6),
      invalid: (job) => {
        set(job, "spec.backoffLimit", 1.5);
        set(job, "spec.parallelism", "2");
      },
      problems: [
        "spec.backoffLimit: Invalid value: 1.5: must be an integer",
        'spec.parallelism: Invalid value: "2": must be an integer',
      ],
    },
    {
      rule: "int32 fields hold 32-bit integers",
      valid: (job) => set(job, "spec.backoffLimit", 2 ** 31 - 1),
      invalid: (job) => set(job, "spec.backoffLimit", 2 ** 31),
      problems: ["spec.backoffLimit: Invalid value: 2147483648: must fit in a 32-bit integer"],
    },
    {
      rule: "int64 fields hold 64-bit integers",
      valid: (job) => set(job, "spec.activeDeadlineSeconds", 2 ** 53),
      invalid: (job) => set(job, "spec.activeDeadlineSeconds", 2 ** 64),
      problems: [
        "spec.activeDeadlineSeconds: Invalid value: 18446744073709552000: must fit in a 64-bit integer",
      ],
    },
    {
      rule: "int-or-string fields take a name or a 32-bit integer",
      valid: (job) => {
        set(job, `${POD}.containers.0.livenessProbe`, { httpGet: { port: "http" } });
        set(job, `${POD}.containers.0.readinessProbe`, { tcpSocket: { port: 8080 } });
      },
      invalid: (job) => {
        set(job, `${POD}.containers.0.livenessProbe`, { httpGet: { port: 80.5 } });
        set(job, `${POD}.containers.0.readinessProbe`, { tcpSocket: { port: true } });
      },
      problems: [
        "spec.template.spec.containers[0].livenessProbe.httpGet.port: Invalid value: 80.5: must be a string or a 32-bit integer",
        "spec.template.spec.containers[0].readinessProbe.tcpSocket.port: Invalid value: true: must be a string or a 32-bit integer",
      ],
    },
    {
      rule: "date-time fields hold RFC 3339 times",
      valid: (job) => {
        set(job, "metadata.creationTimestamp", "2025-03-01T12:00:00Z");
        set(job, "metadata.deletionTimestamp", "2025-03-01T12:00:00.123456+01:00");
      },
      invalid: (job) => {
        set(job, "metadata.creationTimestamp", "2025-03-01 12:00:00");
        set(job, "metadata.deletionTimestamp", "2025-13-01T12:00:00Z");
      },
      problems: [
        'metadata.creationTimestamp: Invalid value: "2025-03-01 12:00:00": must be an RFC 3339 date-time such as 2006-01-02T15:04:05Z',
        'metadata.deletionTimestamp: Invalid value: "2025-13-01T12:00:00Z": must be an RFC 3339 date-time such as 2006-01-02T15:04:05Z',
      ],
    },
  ]);

  test("number fields take any finite number, and nothing else", () => {
    const definition = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps";
    expect(validateK8sObject({ minimum: 0.5, maximum: 10 }, definition)).toEqual([]);
    expect(validateK8sObject({ minimum: "0.5" }, definition)).toEqual([
      'minimum: Invalid value: "0.5": must be a number',
    ]);
  });

  test("byte fields hold standard padded base64", () => {
    const definition = "io.k8s.api.admissionregistration.v1.WebhookClientConfig";
    expect(validateK8sObject({ caBundle: "LS0tLS1CRUdJTg==", url: "https://x" }, definition)).toEqual([]);
    expect(validateK8sObject({ caBundle: "LS0tLS1CRUdJTg\n==" }, definition)).toEqual([]);
    expect(validateK8sObject({ caBundle: "not base64!" }, definition)).toEqual([
      'caBundle: Invalid value: "not base64!": must be base64-encoded',
    ]);
  });
});

describe("quantities", () => {
  const limitsPath = `${POD}.containers.0.resources.limits`;
  const accepted: readonly unknown[] = [
    "100m",
    "1",
    "1.5Gi",
    "128Mi",
    "2e3",
    "1E3",
    "500u",
    "10n",
    ".5",
    "1.",
    "+1k",
    "4Ei",
    2,
    0.5,
  ];
  const refused: readonly unknown[] = ["1x", "Gi", "", "1.5.5", "1e1.5", "1 Gi", "1ki", "1GiB", true, "0x10"];

  // The quantity alone: no request for the limit to be compared with.
  const limitOnly = (quantity: unknown) => (job: Job) => {
    remove(job, `${POD}.containers.0.resources.requests`);
    set(job, `${limitsPath}.cpu`, quantity);
  };

  test.each(accepted)("%j is a quantity", (quantity) => {
    expect(problemsAfter(limitOnly(quantity))).toEqual([]);
  });

  test.each(refused)("%j is not a quantity", (quantity) => {
    expect(problemsAfter(limitOnly(quantity))).toEqual([
      `${POD}.containers[0].resources.limits[cpu]: Invalid value: ${JSON.stringify(quantity)}: must be a quantity such as 100m, 0.5, 128Mi or 1e3`,
    ]);
  });

  test("a request above the limit of its resource is refused, whatever the suffixes", () => {
    expect(
      problemsAfter((job) => {
        set(job, `${POD}.containers.0.resources.requests`, { cpu: "100m", memory: "64Mi" });
        set(job, `${POD}.containers.0.resources.limits`, { cpu: "0.05", memory: "1Gi" });
      }),
    ).toEqual([
      `${POD}.containers[0].resources.requests[cpu]: Invalid value: "100m": must be less than or equal to cpu limit of 0.05`,
    ]);
  });
});

describe("required fields, nulls and list semantics", () => {
  checkRules([
    {
      rule: "required fields must be present and not null",
      valid: (job) => set(job, `${POD}.containers.0.volumeMounts.0.readOnly`, true),
      invalid: (job) => {
        remove(job, `${POD}.containers.0.volumeMounts.0.mountPath`);
        set(job, `${POD}.containers.1.env.0.valueFrom.fieldRef.fieldPath`, null);
      },
      problems: [
        `${POD}.containers[0].volumeMounts[0].mountPath: Required value`,
        `${POD}.containers[1].env[0].valueFrom.fieldRef.fieldPath: Required value`,
      ],
    },
    {
      rule: "a null field is unset, but a null list item or map value is refused",
      valid: (job) => {
        set(job, `${POD}.nodeSelector`, null);
        set(job, `${POD}.containers.0.resources`, null);
      },
      invalid: (job) => {
        set(job, `${POD}.containers.0.args`, ["--", null]);
        set(job, "metadata.labels.broken", null);
      },
      problems: [
        "metadata.labels[broken]: Invalid value: null: map values must not be null",
        `${POD}.containers[0].args[1]: Invalid value: null: list items must not be null`,
      ],
    },
    {
      rule: "list-map items are unique by their keys",
      valid: (job) =>
        set(job, `${POD}.containers.0.ports`, [
          { containerPort: 80 },
          { containerPort: 80, protocol: "UDP" },
          { containerPort: 443 },
        ]),
      invalid: (job) => {
        set(job, `${POD}.containers.0.env.1.name`, "BUILDKITE_COMMAND");
        set(job, `${POD}.containers.0.ports`, [
          { containerPort: 80 },
          { containerPort: 80, protocol: "TCP" },
        ]);
      },
      problems: [
        `${POD}.containers[0].env[1]: Duplicate value: {"name":"BUILDKITE_COMMAND"}`,
        `${POD}.containers[0].ports[1]: Duplicate value: {"containerPort":80,"protocol":"TCP"}`,
      ],
    },
    {
      rule: "set items are unique",
      valid: (job) => set(job, "metadata.finalizers", ["a.example.com/x", "b.example.com/y"]),
      invalid: (job) => set(job, "metadata.finalizers", ["a.example.com/x", "a.example.com/x"]),
      problems: ['metadata.finalizers[1]: Duplicate value: "a.example.com/x"'],
    },
  ]);
});

describe("Job name, labels and annotations", () => {
  checkRules([
    {
      rule: "the Job name is a DNS-1123 subdomain",
      valid: (job) => set(job, "metadata.name", "buildkite.example-1"),
      invalid: (job) => set(job, "metadata.name", "Buildkite_Job"),
      problems: [
        "metadata.name: Invalid value: \"Buildkite_Job\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
      ],
    },
    {
      rule: "the Job name fits in a label value",
      valid: (job) => set(job, "metadata.name", "j".repeat(63)),
      invalid: (job) => set(job, "metadata.name", "j".repeat(64)),
      problems: [
        `metadata.name: Invalid value: "${"j".repeat(64)}": must be no more than 63 characters (it becomes the job-name label of the pods)`,
      ],
    },
    {
      rule: "the Job has a name or a generateName prefix",
      valid: (job) => {
        remove(job, "metadata.name");
        set(job, "metadata.generateName", "buildkite-");
      },
      invalid: (job) => remove(job, "metadata.name"),
      problems: ["metadata.name: Required value: name or generateName is required"],
    },
    {
      rule: "a generateName prefix is a DNS-1123 subdomain once completed",
      valid: (job) => {
        remove(job, "metadata.name");
        set(job, "metadata.generateName", "bk-");
      },
      invalid: (job) => {
        remove(job, "metadata.name");
        set(job, "metadata.generateName", "BK-");
      },
      problems: [
        "metadata.generateName: Invalid value: \"BK-\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
      ],
    },
    {
      rule: "label keys are qualified names",
      valid: (job) =>
        set(job, "metadata.labels", {
          "app.kubernetes.io/name": "x",
          Simple_Key: "x",
          [`a/${"n".repeat(63)}`]: "x",
        }),
      invalid: (job) =>
        set(job, "metadata.labels", {
          "bad key": "x",
          "Example.com/name": "x",
          "a/b/c": "x",
          [`${"n".repeat(64)}`]: "x",
          "/name": "x",
        }),
      problems: [
        "metadata.labels: Invalid value: \"bad key\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        "metadata.labels: Invalid value: \"Example.com/name\": prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        "metadata.labels: Invalid value: \"a/b/c\": a qualified name must be a name part with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
        `metadata.labels: Invalid value: "${"n".repeat(64)}": name part must be no more than 63 characters`,
        'metadata.labels: Invalid value: "/name": prefix part must be non-empty',
      ],
    },
    {
      rule: "label values are empty or short alphanumeric words",
      valid: (job) => set(job, "spec.template.metadata.labels", { a: "", b: "v1.2_3-x", c: "v".repeat(63) }),
      invalid: (job) =>
        set(job, "spec.template.metadata.labels", { a: "has space", b: "-leading", c: "v".repeat(64) }),
      problems: [
        "spec.template.metadata.labels[a]: Invalid value: \"has space\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        "spec.template.metadata.labels[b]: Invalid value: \"-leading\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        `spec.template.metadata.labels[c]: Invalid value: "${"v".repeat(64)}": must be no more than 63 characters`,
      ],
    },
    {
      rule: "annotation keys are qualified names, compared in lower case",
      valid: (job) => set(job, "metadata.annotations", { "Buildkite.COM/Job-Url": "https://x" }),
      invalid: (job) =>
        set(job, "spec.template.metadata.annotations", { "buildkite.com/job url": "https://x" }),
      problems: [
        "spec.template.metadata.annotations: Invalid value: \"buildkite.com/job url\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
      ],
    },
    {
      rule: "annotations total at most 256 KiB, keys included",
      valid: (job) => set(job, "metadata.annotations", { "buildkite.com/job": "x".repeat(262144 - 17) }),
      invalid: (job) => set(job, "metadata.annotations", { "buildkite.com/job": "x".repeat(262144 - 16) }),
      problems: ["metadata.annotations: Too long: must have at most 262144 bytes"],
    },
  ]);

  test("annotation size is counted in UTF-8 bytes", () => {
    const value = "é".repeat(131072);
    expect(problemsAfter((job) => set(job, "metadata.annotations", { a: value }))).toEqual([
      "metadata.annotations: Too long: must have at most 262144 bytes",
    ]);
  });
});

describe("pod spec", () => {
  checkRules([
    {
      rule: "the pod has at least one container",
      valid: (job) => set(job, `${POD}.containers`, [{ name: "only", image: "alpine" }]),
      invalid: (job) => set(job, `${POD}.containers`, []),
      problems: [`${POD}.containers: Required value`],
    },
    {
      rule: "a Job's pod restarts Never or OnFailure",
      valid: (job) => set(job, `${POD}.restartPolicy`, "OnFailure"),
      invalid: (job) => set(job, `${POD}.restartPolicy`, "Always"),
      problems: [`${POD}.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"`],
    },
    {
      rule: "a Job's pod must choose its restart policy",
      valid: (job) => set(job, `${POD}.restartPolicy`, "Never"),
      invalid: (job) => remove(job, `${POD}.restartPolicy`),
      problems: [`${POD}.restartPolicy: Required value: supported values: OnFailure, Never`],
    },
    {
      rule: "volume names are unique DNS-1123 labels",
      valid: (job) =>
        set(job, `${POD}.volumes.1`, { name: "git-credentials", secret: { secretName: "git" } }),
      invalid: (job) => {
        set(job, `${POD}.volumes.1`, { name: "workspace", emptyDir: {} });
        set(job, `${POD}.volumes.2`, { name: "Git_Credentials", secret: { secretName: "git" } });
      },
      problems: [
        `${POD}.volumes[1]: Duplicate value: {"name":"workspace"}`,
        `${POD}.volumes[1].name: Duplicate value: "workspace"`,
        `${POD}.volumes[2].name: Invalid value: "Git_Credentials": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character`,
      ],
    },
    {
      rule: "each volume has exactly one source",
      valid: (job) => set(job, `${POD}.volumes.0`, { name: "workspace", hostPath: { path: "/tmp" } }),
      invalid: (job) => {
        set(job, `${POD}.volumes.0`, { name: "workspace" });
        set(job, `${POD}.volumes.1`, { name: "both", emptyDir: {}, hostPath: { path: "/tmp" } });
      },
      problems: [
        `${POD}.volumes[0]: Required value: must specify a volume type`,
        `${POD}.volumes[1].hostPath: Forbidden: may not specify more than 1 volume type`,
      ],
    },
  ]);
});

describe("containers", () => {
  checkRules([
    {
      rule: "container names are DNS-1123 labels",
      valid: (job) => set(job, `${POD}.containers.0.name`, "c".repeat(63)),
      invalid: (job) => {
        set(job, `${POD}.containers.0.name`, "Container_0");
        set(job, `${POD}.initContainers.0.name`, "c".repeat(64));
      },
      problems: [
        `${POD}.containers[0].name: Invalid value: "Container_0": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character`,
        `${POD}.initContainers[0].name: Invalid value: "${"c".repeat(64)}": must be no more than 63 characters`,
      ],
    },
    {
      rule: "a container name is not empty",
      valid: (job) => set(job, `${POD}.containers.0.name`, "x"),
      invalid: (job) => set(job, `${POD}.containers.0.name`, ""),
      problems: [`${POD}.containers[0].name: Required value`],
    },
    {
      rule: "container names are unique across containers and init containers",
      valid: (job) => set(job, `${POD}.initContainers.0.name`, "imagecheck-0"),
      invalid: (job) => set(job, `${POD}.initContainers.0.name`, "agent"),
      problems: [`${POD}.initContainers[0].name: Duplicate value: "agent"`],
    },
    {
      rule: "every container has an image",
      valid: (job) => set(job, `${POD}.containers.0.image`, "golang:1.23.5"),
      invalid: (job) => {
        set(job, `${POD}.containers.0.image`, "");
        remove(job, `${POD}.initContainers.0.image`);
      },
      problems: [
        `${POD}.containers[0].image: Required value`,
        `${POD}.initContainers[0].image: Required value`,
      ],
    },
    {
      rule: "imagePullPolicy is Always, IfNotPresent or Never",
      valid: (job) => set(job, `${POD}.containers.0.imagePullPolicy`, "Never"),
      invalid: (job) => set(job, `${POD}.initContainers.0.imagePullPolicy`, "Sometimes"),
      problems: [
        `${POD}.initContainers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"`,
      ],
    },
    {
      rule: "an init container may only restart Always, as a native sidecar",
      valid: (job) => set(job, `${POD}.initContainers.0.restartPolicy`, "Always"),
      invalid: (job) => set(job, `${POD}.initContainers.0.restartPolicy`, "Never"),
      problems: [
        `${POD}.initContainers[0].restartPolicy: Unsupported value: "Never": supported values: "Always"`,
      ],
    },
  ]);
});

describe("volume mounts", () => {
  checkRules([
    {
      rule: "a mount names a volume of the pod",
      valid: (job) => {
        set(job, `${POD}.volumes.1`, { name: "cache", emptyDir: {} });
        set(job, `${POD}.containers.0.volumeMounts.1`, { name: "cache", mountPath: "/cache" });
      },
      invalid: (job) =>
        set(job, `${POD}.containers.0.volumeMounts.1`, { name: "cache", mountPath: "/cache" }),
      problems: [`${POD}.containers[0].volumeMounts[1].name: Not found: "cache"`],
    },
    {
      rule: "a mount path is used once per container",
      valid: (job) =>
        set(job, `${POD}.containers.0.volumeMounts.1`, {
          name: "workspace",
          mountPath: "/other",
          subPath: "x",
        }),
      invalid: (job) =>
        set(job, `${POD}.initContainers.0.volumeMounts.1`, { name: "workspace", mountPath: "/workspace" }),
      problems: [
        `${POD}.initContainers[0].volumeMounts[1]: Duplicate value: {"mountPath":"/workspace"}`,
        `${POD}.initContainers[0].volumeMounts[1].mountPath: Invalid value: "/workspace": must be unique`,
      ],
    },
    {
      rule: "a mount path is not empty",
      valid: (job) => set(job, `${POD}.containers.0.volumeMounts.0.mountPath`, "/w"),
      invalid: (job) => set(job, `${POD}.containers.0.volumeMounts.0.mountPath`, ""),
      problems: [`${POD}.containers[0].volumeMounts[0].mountPath: Required value`],
    },
  ]);
});

describe("environment", () => {
  checkRules([
    {
      rule: "an env var has a non-empty name of printable ASCII without '='",
      valid: (job) => set(job, `${POD}.containers.0.env.0.name`, "my.var-name with:odd chars"),
      invalid: (job) => {
        set(job, `${POD}.containers.0.env.0.name`, "");
        set(job, `${POD}.containers.0.env.1.name`, "A=B");
      },
      problems: [
        `${POD}.containers[0].env[0].name: Required value`,
        `${POD}.containers[0].env[1].name: Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than '='`,
      ],
    },
    {
      rule: "valueFrom has exactly one source",
      valid: (job) =>
        set(job, `${POD}.containers.1.env.0.valueFrom`, {
          resourceFieldRef: { resource: "limits.cpu", containerName: "agent" },
        }),
      invalid: (job) => {
        set(job, `${POD}.containers.1.env.0.valueFrom`, {});
        set(job, `${POD}.containers.1.env.1.valueFrom.configMapKeyRef`, { name: "c", key: "k" });
      },
      problems: [
        `${POD}.containers[1].env[0].valueFrom: Required value: must specify one of: configMapKeyRef, fieldRef, fileKeyRef, resourceFieldRef, secretKeyRef`,
        `${POD}.containers[1].env[1].valueFrom: Invalid value: "": may not have more than one field specified at a time (found: configMapKeyRef, secretKeyRef)`,
      ],
    },
    {
      rule: "valueFrom is not combined with a value",
      valid: (job) => set(job, `${POD}.containers.1.env.0.value`, ""),
      invalid: (job) => set(job, `${POD}.containers.1.env.0.value`, "agent-1"),
      problems: [
        `${POD}.containers[1].env[0].valueFrom: Invalid value: "": may not be specified when \`value\` is not empty`,
      ],
    },
    {
      rule: "an envFrom entry has exactly one of configMapRef and secretRef",
      valid: (job) =>
        set(job, `${POD}.containers.2.envFrom.1`, { prefix: "GIT_", configMapRef: { name: "git" } }),
      invalid: (job) => {
        set(job, `${POD}.containers.2.envFrom.0`, { prefix: "GIT_" });
        set(job, `${POD}.containers.2.envFrom.1`, { configMapRef: { name: "a" }, secretRef: { name: "b" } });
      },
      problems: [
        `${POD}.containers[2].envFrom[0]: Required value: must specify one of: configMapRef, secretRef`,
        `${POD}.containers[2].envFrom[1]: Invalid value: "": may not have more than one field specified at a time (found: configMapRef, secretRef)`,
      ],
    },
  ]);
});

describe("other definitions", () => {
  test("a Pod may restart Always and is checked like a Job's pod", () => {
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "buildkite-agent" },
      spec: { restartPolicy: "Always", containers: [{ name: "agent", image: "buildkite/agent" }] },
    };
    expect(validateK8sObject(pod, "io.k8s.api.core.v1.Pod")).toEqual([]);
    pod.spec.containers.push({ name: "agent", image: "" });
    expect(validateK8sObject(pod, "io.k8s.api.core.v1.Pod")).toEqual([
      'spec.containers[1]: Duplicate value: {"name":"agent"}',
      'spec.containers[1].name: Duplicate value: "agent"',
      "spec.containers[1].image: Required value",
    ]);
  });

  test("a PodSpec on its own is checked without a restart policy requirement", () => {
    const spec = {
      containers: [{ name: "main", image: "alpine", volumeMounts: [{ name: "gone", mountPath: "/x" }] }],
    };
    expect(validateK8sObject(spec, "io.k8s.api.core.v1.PodSpec")).toEqual([
      'containers[0].volumeMounts[0].name: Not found: "gone"',
    ]);
  });

  test("a definition without semantic checks gets the schema checks only", () => {
    expect(validateK8sObject({ name: "x", value: 1 }, "io.k8s.api.core.v1.EnvVar")).toEqual([
      "value: Invalid value: 1: must be a string",
    ]);
  });
});

describe("expectValidJob", () => {
  test("passes for a valid Job", () => {
    expectValidJob(validJob());
  });

  test("fails for an invalid Job and lists every problem", () => {
    const job = validJob();
    set(job, `${POD}.containers.0.image`, "");
    set(job, `${POD}.restartPolicy`, "Always");
    let message = "";
    try {
      expectValidJob(job);
    } catch (error) {
      message = error instanceof Error ? error.message : String(error);
    }
    expect(message).toContain("the Job would be rejected by Kubernetes");
    expect(message).toContain(`${POD}.restartPolicy: Unsupported value: "Always"`);
    expect(message).toContain(`${POD}.containers[0].image: Required value`);
  });
});
