/**
 * Every Job the stack produces must be accepted by Kubernetes: each variant below goes the whole way
 * (skeleton, admission, patch) and is validated against the batch/v1 Job schema of the official
 * OpenAPI document plus kube-apiserver's own rules (test/support/k8s-validate.ts).
 */
import { expect, test } from "vitest";
import type { Config } from "../../src/config/types.ts";
import { type JobOptions, renderJob, testConfig, testJob } from "../support/fixtures.ts";
import { validateK8sObject } from "../support/k8s-validate.ts";

const volume = (name: string) => ({ name, emptyDir: {} });

const VARIANTS: ReadonlyArray<[name: string, job: JobOptions, config?: Partial<Config>]> = [
  ["a plain step", {}],
  ["a step with the image attribute", { env: { BUILDKITE_IMAGE: "node:24-slim" } }],
  [
    "a podSpec with several containers and a non-root user",
    {
      plugin: {
        commandParams: { interposer: "vector" },
        podSpec: {
          securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1001 },
          containers: [
            { image: "alpine:latest", command: ["pwd"] },
            { image: "alpine:latest", command: ["ls"], args: ["-halt"] },
            {
              name: "build",
              image: "golang:1.23",
              command: ["go", "build", "./..."],
              resources: { requests: { cpu: 2 } },
            },
          ],
        },
      },
    },
  ],
  [
    "sidecars, extra mounts and params",
    {
      plugin: {
        podSpec: { volumes: [volume("cache")], containers: [{ image: "alpine:latest" }] },
        sidecars: [
          { image: "postgres:16", env: [{ name: "POSTGRES_PASSWORD", value: "ci" }] },
          { image: "redis:7" },
        ],
        extraVolumeMounts: [{ name: "cache", mountPath: "/cache" }],
        sidecarParams: { extraVolumeMounts: [{ name: "cache", mountPath: "/cache" }] },
        gitEnvFrom: [{ secretRef: { name: "git" } }],
        metadata: { labels: { team: "infra" }, annotations: { "example.com/owner": "infra" } },
      },
    },
  ],
  ["a skipped checkout", { plugin: { checkout: { skip: true } } }],
  [
    "checkout params, mirrors and credentials",
    {
      plugin: {
        checkout: {
          cloneFlags: "--depth=1",
          gitMirrors: { volume: volume("mirrors"), lockTimeout: 60 },
          gitCredentialsSecret: { secretName: "git-credentials" },
          envFrom: [{ secretRef: { name: "ssh" } }],
        },
      },
    },
  ],
  [
    "both patches",
    {
      plugin: {
        podSpecPatch: {
          containers: [{ name: "container-0", image: "alpine:3.20" }],
          tolerations: [{ key: "ci", operator: "Exists" }],
        },
      },
    },
    { podSpecPatch: { nodeSelector: { pool: "ci" }, priorityClassName: "ci" } },
  ],
  [
    "a patch that deletes with directives",
    {
      plugin: {
        podSpec: { containers: [{ image: "alpine:latest", env: [{ name: "A", value: "1" }] }] },
        podSpecPatch: { containers: [{ name: "container-0", env: [{ name: "A", $patch: "delete" }] }] },
      },
    },
  ],
  [
    "every agent-config volume",
    {},
    {
      agentConfig: {
        hooksVolume: volume("hooks"),
        pluginsVolume: volume("plugins"),
        additionalHooks: [{ path: "/extra-hooks", volume: volume("extra-hooks") }],
        signingJWKSVolume: { name: "signing", secret: { secretName: "signing" } },
        verificationJWKSVolume: { name: "verification", secret: { secretName: "verification" } },
        verificationJwksFile: "/keys/verify.jwks",
      },
    },
  ],
  [
    "resource classes and a sub-path workspace",
    { agentQueryRules: ["queue=kubernetes", "resource_class=large"] },
    {
      workspaceMountSubPathExpr: "$(POD_NAME)",
      workspaceVolume: { name: "ws", persistentVolumeClaim: { claimName: "workspaces" } },
      resourceClasses: {
        large: {
          resource: { requests: { cpu: "4", memory: "8Gi" }, limits: { memory: "8Gi" } },
          nodeSelector: { "node.kubernetes.io/instance-type": "m7i.2xlarge" },
        },
      },
    },
  ],
  ["tags that are not labels", { agentQueryRules: ["queue=kubernetes=2", "os=linux", "weird key=1"] }],
  [
    "pull policies and image-check limits",
    { plugin: { podSpec: { containers: [{ image: "golang:1.23", imagePullPolicy: "Never" }] } } },
    { defaultImagePullPolicy: "IfNotPresent", imageCheckContainerCpuLimit: "500m" },
  ],
  ["a long but legal job prefix", {}, { jobPrefix: "buildkite-stack-production-" }],
];

test.each(VARIANTS)("%s gives a valid Job", (_name, job, config) => {
  const rendered = renderJob(testJob(job), testConfig(config));
  expect(validateK8sObject(rendered)).toEqual([]);
});

test("a plugin mount without a mountPath survives the builder and Kubernetes refuses it, as upstream (E9)", () => {
  const rendered = renderJob(
    testJob({ plugin: { checkout: { extraVolumeMounts: [{ name: "workspace" }] } } }),
  );
  expect(validateK8sObject(rendered).join("\n")).toContain("mountPath");
});

test("two volumes of one name are the user's to fix: Kubernetes reports them", () => {
  const rendered = renderJob(
    testJob({ plugin: { podSpec: { volumes: [volume("workspace")], containers: [] } } }),
  );
  expect(validateK8sObject(rendered).join("\n")).toMatch(/volumes.*workspace/);
});
