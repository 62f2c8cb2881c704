/**
 * A stack as `diagnose` finds it in a cluster, on the fake Kubernetes API: the chart rendered by helm
 * under a release name that is not the default (so nothing can lean on the default fullname), every
 * object it renders that the fake serves put there (RBAC included, so access reviews are answered by
 * the chart's own Roles), a Running pod per replica of each Deployment with logs, the certificate keeper
 * run once for real (it creates the TLS Secret and sets the caBundle), a webhook server behind the
 * Service for `/readyz`, and two Buildkite jobs rendered as the webhook would expand them, running,
 * with logs and Events. Every token and secret value in it is a known string, so a test can search the
 * archive for it.
 */
import { type AddressInfo, createServer, type Socket } from "node:net";
import type { KubernetesObject, V1Deployment, V1Pod } from "@kubernetes/client-node";
import { certsCommand } from "../../certs/command.ts";
import { loadConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/types.ts";
import { type K8sObject, renderObjects } from "../chart/render.ts";
import { type FakeKubernetes, startFakeKubernetes } from "../fakes/kubernetes-api.ts";
import type { FakeUser } from "../fakes/kubernetes-authorization.ts";
import { apiVersionOf, FAKE_RESOURCES } from "../fakes/kubernetes-resources.ts";
import { capturedIo } from "../support/command-io.ts";
import { renderJob, testJob } from "../support/fixtures.ts";
import { freePort, startTestServer, type TestServer } from "../webhook/harness.ts";

export const NS = "ci-system";
export const RELEASE = "payments";
export const FULLNAME = `${RELEASE}-agent-stack-k8s`;
export const CONFIG_PATH = "/etc/agent-stack-k8s/config.yaml";

/** Every secret value the stack holds: none may reach the archive. */
export const SECRET_VALUES = {
  agentToken: "agent-token-5f0c9a7e3b2d41c8",
  graphqlToken: "bkua_graphql-token-9d8c7b6a5f4e",
  controllerEnv: "controller-env-secret-1a2b3c4d",
  jobEnv: "job-env-secret-6e5d4c3b2a19",
} as const;

export const JOB_ASKED = "0195a2b0-1111-4000-8000-00000000000a";
export const JOB_OTHER = "0195a2b0-2222-4000-8000-00000000000b";

export interface StackOptions {
  /**
   * What is behind the webhook Service: a webhook server (default), nothing listening, or a server
   * that accepts connections and never answers.
   */
  readonly webhookBackend?: "ready" | "unreachable" | "silent";
  /** Users besides the administrator (`kubernetes.kubeConfig(name)`). */
  readonly users?: readonly FakeUser[];
  /** Where the chart is installed, and as which release (default NS and RELEASE). */
  readonly namespace?: string;
  readonly release?: string;
}

export interface StackOnFakes {
  readonly kubernetes: FakeKubernetes;
  readonly objects: readonly K8sObject[];
  readonly config: Config;
  /** The rendered Deployment of a component. */
  deployment(component: string): V1Deployment;
  /** The pods put for a component, or for a job (by uuid). */
  pods(componentOrJob: string): V1Pod[];
  /** The TLS Secret's private keys, as the certs keeper wrote them. */
  readonly privateKeys: readonly string[];
  close(): Promise<void>;
}

const SERVED = new Set(FAKE_RESOURCES.map((resource) => `${apiVersionOf(resource)} ${resource.kind}`));

/** helm runs once per test file and place: every test installs the same rendering. */
const renderings = new Map<string, readonly K8sObject[]>();

export async function installStack(options: StackOptions = {}): Promise<StackOnFakes> {
  const ns = options.namespace ?? NS;
  const release = options.release ?? RELEASE;
  const objects = renderings.get(`${release} ${ns}`) ?? renderStack(release, ns);
  renderings.set(`${release} ${ns}`, objects);
  const backend = options.webhookBackend ?? "ready";
  const webhook: TestServer | undefined = backend === "ready" ? await startTestServer() : undefined;
  const silent = backend === "silent" ? await silentServer() : undefined;
  const port = webhook?.port ?? silent?.port ?? (await freePort());
  const webhookService = oneOf(objects, "Service").metadata.name;
  const kubernetes = await startFakeKubernetes({
    serviceUrl: (service) =>
      service.name === webhookService && service.namespace === ns
        ? `https://127.0.0.1:${port}${service.path}`
        : undefined,
    ...(options.users === undefined ? {} : { users: options.users }),
  });
  for (const object of objects) {
    if (SERVED.has(`${object.apiVersion} ${object.kind}`)) kubernetes.put(object as KubernetesObject);
  }
  const configText = (oneOf(objects, "ConfigMap").data as Record<string, string>)["config.yaml"] as string;
  const config = loadConfig({ args: [], env: { CONFIG: CONFIG_PATH }, readFile: () => configText }).config;
  const deployment = (component: string) =>
    objects.find(
      (object) =>
        object.kind === "Deployment" &&
        (object.metadata.labels as Record<string, string>)?.["app.kubernetes.io/component"] === component,
    ) as unknown as V1Deployment;

  await runCertsKeeperOnce(kubernetes, deployment("certs"), configText);
  // The Secret the webhook mounts, which the certs keeper has just written.
  const tlsSecret = deployment("webhook").spec?.template.spec?.volumes?.find((volume) => volume.secret)
    ?.secret?.secretName as string;
  const tls = kubernetes.get("v1", "Secret", ns, tlsSecret) as {
    data: Record<string, string>;
  };
  const privateKeys = ["tls.key", "ca.key"].map((key) =>
    Buffer.from(tls.data[key] ?? "", "base64").toString("utf8"),
  );

  const pods = new Map<string, V1Pod[]>();
  for (const component of ["launcher", "webhook", "certs"]) {
    pods.set(component, startDeploymentPods(kubernetes, deployment(component), ns));
  }
  for (const [index, uuid] of [JOB_ASKED, JOB_OTHER].entries()) {
    pods.set(uuid, [runBuildkiteJob(kubernetes, config, uuid, index, ns)]);
  }
  const webhookPod = pods.get("webhook")?.[0] as V1Pod;
  kubernetes.cluster.recordEvent(
    ns,
    { kind: "Pod", name: webhookPod.metadata?.name ?? "", uid: webhookPod.metadata?.uid ?? "" },
    {
      type: "Warning",
      reason: "Unhealthy",
      message: "Readiness probe failed: HTTP probe failed with statuscode: 503",
    },
  );
  kubernetes.cluster.recordEvent(
    ns,
    { kind: "Pod", name: "someone-elses-pod", uid: "00000000-0000-4000-8000-00000000dead" },
    { type: "Warning", reason: "BackOff", message: "not about the stack" },
  );

  return {
    kubernetes,
    objects,
    config,
    deployment,
    pods: (key) => pods.get(key) ?? [],
    privateKeys,
    async close() {
      silent?.close();
      await kubernetes.close();
      await webhook?.close();
    },
  };
}

function renderStack(release: string, namespace: string): readonly K8sObject[] {
  return renderObjects({
    release,
    namespace,
    values: {
      agentToken: SECRET_VALUES.agentToken,
      graphqlToken: SECRET_VALUES.graphqlToken,
      config: { org: "acme" },
      controllerEnv: [
        { name: "DEPLOY_API_KEY", value: SECRET_VALUES.controllerEnv },
        { name: "LOG_LEVEL", value: "debug" },
      ],
    },
  });
}

/** A TCP server that accepts connections and never says a word. */
async function silentServer(): Promise<{ port: number; close(): void }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close() {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

function oneOf(objects: readonly K8sObject[], kind: string): K8sObject {
  const found = objects.filter((object) => object.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, rendered ${found.length}`);
  return found[0] as K8sObject;
}

/** `agent-stack-k8s certs` with the certs Deployment's args, once instead of `--watch` (so without its probes' port). */
async function runCertsKeeperOnce(kubernetes: FakeKubernetes, deployment: V1Deployment, configText: string) {
  const container = deployment.spec?.template.spec?.containers[0];
  const args = (container?.args ?? []).filter(
    (arg) => arg !== "certs" && arg !== "--watch" && !arg.startsWith("--port="),
  );
  const captured = capturedIo({ files: { [CONFIG_PATH]: configText }, env: { CONFIG: CONFIG_PATH } });
  const status = await certsCommand(args, captured.io, { kubeConfig: kubernetes.kubeConfig() });
  if (status !== 0) throw new Error(`the certs keeper failed:\n${captured.stdout()}${captured.stderr()}`);
}

/** The Deployment's replicas as Running, ready pods, each container with a few log lines. */
function startDeploymentPods(kubernetes: FakeKubernetes, deployment: V1Deployment, ns: string): V1Pod[] {
  const name = deployment.metadata?.name ?? "";
  const template = deployment.spec?.template;
  return Array.from({ length: deployment.spec?.replicas ?? 1 }, (_, index) => {
    const podName = `${name}-5d4f7c9b8-x${index}`;
    kubernetes.put({
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: podName,
        namespace: ns,
        labels: { ...template?.metadata?.labels, "pod-template-hash": "5d4f7c9b8" },
      },
      spec: { ...template?.spec, nodeName: "fake-node-1" },
    } as KubernetesObject);
    const pod = kubernetes.cluster.setPodStatus(ns, podName, { phase: "Running" });
    for (const container of template?.spec?.containers ?? []) {
      kubernetes.writeLog(ns, podName, container.name, `level=info msg="an old line of ${podName}"`, {
        time: new Date(Date.now() - 2 * 3_600_000),
      });
      kubernetes.writeLog(
        ns,
        podName,
        container.name,
        `level=info msg="${container.name} of ${podName} is up"`,
      );
    }
    return pod;
  });
}

/** A Buildkite job's Job as the webhook expands it, running, its containers logging. */
function runBuildkiteJob(
  kubernetes: FakeKubernetes,
  config: Config,
  uuid: string,
  index: number,
  ns: string,
): V1Pod {
  const job = renderJob(
    testJob({
      uuid,
      command: `make test-${index}`,
      // A step's own secret env value: in the pod spec and in BUILDKITE_PLUGINS.
      plugin: {
        podSpec: {
          containers: [{ image: "node:22", env: [{ name: "NPM_TOKEN", value: SECRET_VALUES.jobEnv }] }],
        },
      },
    }),
    config,
  );
  const name = job.metadata?.name as string;
  kubernetes.put({ ...job, metadata: { ...job.metadata, namespace: ns } } as KubernetesObject);
  const pod = kubernetes.cluster.runJob(ns, name, { phase: "Running" });
  const podName = pod.metadata?.name ?? "";
  for (const container of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    kubernetes.writeLog(ns, podName, container.name, `${container.name} of job ${uuid}: step ${index}`);
  }
  kubernetes.cluster.recordEvent(
    ns,
    { kind: "Pod", name: podName, uid: pod.metadata?.uid ?? "" },
    { reason: "Pulled", message: `Successfully pulled image for job ${uuid}` },
  );
  return pod;
}
