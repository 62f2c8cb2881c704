/**
 * End to end in a real cluster: testcontainers finds the Docker engine and builds the image from the
 * Dockerfile; `kind` creates a cluster on that engine and loads the image; the chart is installed with
 * helm, pointed at the fake Buildkite running here and reachable from the cluster. Then a scheduled
 * Buildkite job must become an expanded Job and a Pod, and a labelled Job created by hand must be
 * expanded too.
 *
 * Needs a Docker engine and `kind` on PATH; without them it skips with one line saying which is
 * missing. `AGENT_STACK_K8S_E2E=0` skips it even where it could run. See docs/development.md ("End-to-end test").
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { BatchV1Api, CoreV1Api, KubeConfig, type V1Job } from "@kubernetes/client-node";
import { GenericContainer, getContainerRuntimeClient } from "testcontainers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { findHelm, runHelm } from "../../scripts/helm.ts";
import {
  FAKE_AGENT_TOKEN_CLUSTER,
  type FakeBuildkite,
  startFakeBuildkite,
} from "../fakes/buildkite/fake-buildkite.ts";

const ROOT = resolve(new URL("../..", import.meta.url).pathname);
const IMAGE = "agent-stack-k8s:e2e";
const NAMESPACE = "buildkite";
const CLUSTER = `ask-e2e-${process.pid}`;
const MINUTE = 60_000;

/** Why the e2e test cannot run here, or undefined when it can. */
async function missingPrerequisite(): Promise<string | undefined> {
  if (process.env.AGENT_STACK_K8S_E2E === "0") return "AGENT_STACK_K8S_E2E=0";
  try {
    await getContainerRuntimeClient();
  } catch (error) {
    return `no Docker engine (${(error as Error).message})`;
  }
  const kind = spawnSync("kind", ["version"], { encoding: "utf8", timeout: 10_000 });
  if (kind.error || kind.status !== 0) return "kind is not on PATH";
  const helm = findHelm();
  if ("skip" in helm) return helm.skip;
  return undefined;
}

const missing = await missingPrerequisite();
// The default reporter names a skipped file but not why: say it on one line of the run's output.
if (missing !== undefined) console.warn(`test/e2e/kind.test.ts skipped: ${missing.replace(/\s+/g, " ")}`);

function run(command: string, args: readonly string[], timeoutMs: number): string {
  const result = spawnSync(command, args, {
    encoding: "utf8",
    timeout: timeoutMs,
    maxBuffer: 16 * 1024 * 1024,
  });
  if (result.error) throw new Error(`${command} ${args.join(" ")}: ${result.error.message}`);
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(" ")} exited ${result.status}:\n${result.stderr}`);
  return result.stdout;
}

async function eventually<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  throw new Error(`gave up waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ""}`);
}

/** How a pod of the kind cluster reaches a port on this machine: the gateway of kind's network. */
async function hostAddressSeenFromKind(): Promise<string> {
  if (process.platform !== "linux") return "host.docker.internal";
  const client = await getContainerRuntimeClient();
  const network = (await client.network.getById("kind").inspect()) as {
    IPAM?: { Config?: { Gateway?: string }[] };
  };
  const gateway = network.IPAM?.Config?.map((config) => config.Gateway).find((ip) => ip?.includes("."));
  if (!gateway) throw new Error("kind's Docker network has no IPv4 gateway");
  return gateway;
}

describe.skipIf(missing !== undefined)(`on a kind cluster${missing ? ` (skipped: ${missing})` : ""}`, () => {
  // Made when the suite runs, not when it is collected: a skipped run leaves nothing behind.
  let work: string | undefined;
  let buildkite: FakeBuildkite | undefined;
  let batch: BatchV1Api;
  let core: CoreV1Api;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "ask-e2e-"));
    const kubeconfigPath = join(work, "kubeconfig");
    await GenericContainer.fromDockerfile(ROOT).build(IMAGE, { deleteOnExit: false });
    run(
      "kind",
      ["create", "cluster", "--name", CLUSTER, "--kubeconfig", kubeconfigPath, "--wait", "180s"],
      5 * MINUTE,
    );
    run("kind", ["load", "docker-image", IMAGE, "--name", CLUSTER], 5 * MINUTE);
    const host = await hostAddressSeenFromKind();
    const fake = await startFakeBuildkite({ host: "0.0.0.0", advertisedHost: host });
    buildkite = fake;

    const values = {
      image: IMAGE,
      imagePullPolicy: "Never",
      // The default install: the agent token alone (the Stacks API).
      agentToken: fake.agentToken,
      config: {
        "agent-config": { endpoint: fake.agentUrl },
        tags: ["queue=kubernetes"],
      },
      webhook: { replicas: 1 },
    };
    const valuesPath = join(work, "values.yaml");
    writeFileSync(valuesPath, stringify(values));
    const helm = findHelm();
    if (!("path" in helm)) throw new Error(helm.skip);
    const chart = join(ROOT, "charts/agent-stack-k8s");
    const installed = runHelm(
      helm.path,
      [
        "install",
        "e2e",
        chart,
        "--namespace",
        NAMESPACE,
        "--create-namespace",
        "--values",
        valuesPath,
        "--kubeconfig",
        kubeconfigPath,
        "--wait",
        "--timeout",
        "5m",
      ],
      6 * MINUTE,
    );
    if (installed.status !== 0) throw new Error(`helm install failed:\n${installed.stderr}`);

    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfigPath);
    batch = kubeConfig.makeApiClient(BatchV1Api);
    core = kubeConfig.makeApiClient(CoreV1Api);
  }, 20 * MINUTE);

  afterAll(async () => {
    await buildkite?.close();
    spawnSync("kind", ["delete", "cluster", "--name", CLUSTER], { timeout: 3 * MINUTE });
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  }, 5 * MINUTE);

  const expanded = (job: V1Job) =>
    job.metadata?.annotations?.["buildkite.com/expanded-by"]?.startsWith("agent-stack-k8s/");
  const containerNames = (job: V1Job) =>
    (job.spec?.template.spec?.containers ?? []).map((container) => container.name);

  it(
    "turns a scheduled Buildkite job into an expanded Job and a Pod",
    async () => {
      const scheduled = (buildkite as FakeBuildkite).addJob({
        command: "echo hello from e2e",
        cluster: FAKE_AGENT_TOKEN_CLUSTER,
      });
      const job = await eventually("the launcher's Job", 3 * MINUTE, async () => {
        const list = await batch.listNamespacedJob({
          namespace: NAMESPACE,
          labelSelector: `buildkite.com/job-uuid=${scheduled.uuid}`,
        });
        return list.items[0];
      });
      expect(expanded(job)).toBe(true);
      expect(job.metadata?.annotations).not.toHaveProperty("buildkite.com/job");
      expect(containerNames(job)).toEqual(expect.arrayContaining(["agent", "container-0"]));
      const pod = await eventually("the Job's Pod", 2 * MINUTE, async () => {
        const list = await core.listNamespacedPod({
          namespace: NAMESPACE,
          labelSelector: `job-name=${job.metadata?.name}`,
        });
        return list.items[0];
      });
      expect((pod.spec?.containers ?? []).map((container) => container.name)).toEqual(containerNames(job));
    },
    6 * MINUTE,
  );

  it(
    "expands a labelled Job that another tool creates",
    async () => {
      const uuid = "0193aaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
      const created = await batch.createNamespacedJob({
        namespace: NAMESPACE,
        body: {
          apiVersion: "batch/v1",
          kind: "Job",
          metadata: {
            name: "external-e2e",
            labels: { "buildkite.com/expand": "true", "buildkite.com/job-uuid": uuid },
            annotations: {
              "buildkite.com/job": JSON.stringify({
                uuid,
                command: "echo external",
                env: ["BUILDKITE_COMMAND=echo external"],
                agentQueryRules: ["queue=kubernetes"],
                priority: { number: 0 },
              }),
            },
          },
          spec: {
            template: {
              spec: {
                restartPolicy: "Never",
                containers: [
                  { name: "build", image: "alpine:3.20", command: ["sh", "-c"], args: ["echo external"] },
                ],
              },
            },
          },
        },
      });
      expect(expanded(created)).toBe(true);
      expect(containerNames(created)).toEqual(expect.arrayContaining(["agent", "build"]));
    },
    2 * MINUTE,
  );
});
