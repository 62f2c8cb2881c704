/**
 * The launcher end to end, on loopback: the fake Buildkite, the fake Kubernetes API with the agent token
 * Secret, the real admission webhook over HTTPS, and the real launcher as `agent-stack-k8s launcher`
 * runs it, for either job source (`JOB_SOURCE_MODES`: what differs between them, so that one suite of
 * scenarios runs against both).
 */
import type { V1MutatingWebhook } from "@kubernetes/client-node";
import { launcherCommand } from "../../launcher/command.ts";
import type { JobState } from "../../launcher/types.ts";
import type { CommandIo } from "../../runtime/command-io.ts";
import {
  type CallMatcher,
  FAKE_AGENT_TOKEN_CLUSTER,
  type FakeBuildkite,
  type FakeBuildkiteOptions,
  type FakeJob,
  type FakeJobInput,
  startFakeBuildkite,
} from "../fakes/buildkite/fake-buildkite.ts";
import { type FakeKubernetes, startFakeKubernetes } from "../fakes/kubernetes-api.ts";
import { KUBERNETES_PLUGIN, testConfig } from "../support/fixtures.ts";
import { stackWebhookConfiguration } from "../support/webhook-configuration.ts";
import { startTestServer, type TestServer } from "../webhook/harness.ts";

export const NS = "buildkite";
export const AGENT_TOKEN_SECRET = "buildkite-agent-token";
/** The stack key of a launcher whose `id` is empty. */
export const STACK_KEY = "agent-stack-k8s";
const RESERVATION_EXPIRY_MS = 900_000;

/** What differs between the two job sources, as the scenarios see it. */
export interface JobSourceMode {
  readonly name: "graphql" | "stacks";
  /** Configuration lines beyond the common ones. */
  config(buildkite: FakeBuildkite): string[];
  env(buildkite: FakeBuildkite): Record<string, string>;
  /** The poll for scheduled jobs, to make it fail. */
  readonly poll: CallMatcher;
  /** The fake's name for the call that fails a job. */
  readonly finish: string;
  /** A good job's state while its Job waits for an agent. */
  readonly waiting: JobState;
  /** The exit status a job failed by the launcher gets. */
  readonly failedExitStatus: string;
  /** What a job failed by the launcher says about why. */
  failureText(job: FakeJob): string | undefined;
  /**
   * After a launcher stopped: a stopped stack's reservations expire (15 minutes, here at once), so the
   * jobs it held and could not create go back to the queue.
   */
  afterStop(buildkite: FakeBuildkite): void;
}

export const JOB_SOURCE_MODES: readonly JobSourceMode[] = [
  {
    name: "graphql",
    config: (buildkite) => [`org: ${buildkite.org}`, `graphql-endpoint: ${buildkite.graphqlUrl}`],
    env: (buildkite) => ({ BUILDKITE_TOKEN: buildkite.apiToken }),
    poll: (kind) => kind === "graphql",
    finish: "finish",
    waiting: "SCHEDULED",
    failedExitStatus: "1",
    failureText: (job) => job.log,
    afterStop: () => undefined,
  },
  {
    name: "stacks",
    config: () => [],
    env: () => ({}),
    poll: (_kind, operation) => operation === "list scheduled jobs",
    finish: "finish job",
    waiting: "RESERVED",
    failedExitStatus: "-1",
    failureText: (job) => job.finishDetail,
    afterStop: (buildkite) => buildkite.advanceTime(RESERVATION_EXPIRY_MS + 1_000),
  },
];

export interface Fakes {
  readonly buildkite: FakeBuildkite;
  readonly kubernetes: FakeKubernetes;
  readonly webhook: TestServer;
  /** Points the webhook configuration at `url` (the webhook's own URL when absent). */
  registerWebhook(url?: string, overrides?: Partial<V1MutatingWebhook>): void;
  close(): Promise<void>;
}

export async function startFakes(options: FakeBuildkiteOptions = {}): Promise<Fakes> {
  const buildkite = await startFakeBuildkite(options);
  const kubernetes = await startFakeKubernetes();
  const webhook = await startTestServer({ config: testConfig({ namespace: NS }) });
  kubernetes.put({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: AGENT_TOKEN_SECRET, namespace: NS },
    data: { BUILDKITE_AGENT_TOKEN: Buffer.from(buildkite.agentToken).toString("base64") },
  });
  const registerWebhook = (url = `https://127.0.0.1:${webhook.port}/mutate`, overrides = {}) => {
    kubernetes.put(
      stackWebhookConfiguration({ url }, webhook.certificates.caCert, { timeoutSeconds: 2, ...overrides }),
    );
  };
  registerWebhook();
  return {
    buildkite,
    kubernetes,
    webhook,
    registerWebhook,
    close: async () => {
      await webhook.close();
      await kubernetes.close();
      await buildkite.close();
    },
  };
}

export interface RunningLauncher {
  readonly logs: () => string;
  /** Every JSON log line so far. */
  readonly records: () => Array<Record<string, unknown>>;
  /** Resolves with the exit status once the launcher has ended by itself. */
  readonly exit: Promise<number>;
  /** Stops it as SIGTERM would; resolves with its exit status. */
  stop(): Promise<number>;
}

/** Configuration for the launcher besides the job source's; `extra` lines (`key: value`) replace its keys. */
function commonConfig(fakes: Fakes, extra: readonly string[]): string[] {
  const keyOf = (line: string) => line.slice(0, line.indexOf(":"));
  const replaced = new Set(extra.map(keyOf));
  const common = [
    `namespace: ${NS}`,
    `agent-token-secret: ${AGENT_TOKEN_SECRET}`,
    "poll-interval: 1s",
    "http-timeout: 1s",
    "max-in-flight: 0",
    "job-creation-concurrency: 4",
    "k8s-client-rate-limiter-qps: 1000",
    "k8s-client-rate-limiter-burst: 1000",
    "log-format: json",
    "agent-config:",
    `  endpoint: ${fakes.buildkite.agentUrl}`,
  ];
  return [...common.filter((line) => line.startsWith(" ") || !replaced.has(keyOf(line))), ...extra];
}

export function startLauncher(
  fakes: Fakes,
  mode: Pick<JobSourceMode, "config" | "env"> | undefined,
  extra: readonly string[] = [],
): RunningLauncher {
  let logs = "";
  const config = [...(mode?.config(fakes.buildkite) ?? []), ...commonConfig(fakes, extra)].join("\n");
  const io: CommandIo = {
    stdout: (text) => {
      logs += text;
    },
    stderr: (text) => {
      logs += text;
    },
    readInput: (path) => {
      if (path === "launcher.yaml") return config;
      throw new Error(`ENOENT: ${path}`);
    },
    env: mode?.env(fakes.buildkite) ?? {},
  };
  const controller = new AbortController();
  const exit = launcherCommand(["--config", "launcher.yaml", "--port", "0"], io, {
    kubeConfig: fakes.kubernetes.kubeConfig(),
    signal: controller.signal,
  });
  return {
    logs: () => logs,
    records: () =>
      logs
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    exit,
    stop: async () => {
      controller.abort(new Error("test over"));
      return exit;
    },
  };
}

export interface StoredJob {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
}

export function jobsInCluster(fakes: Fakes): StoredJob[] {
  return fakes.kubernetes.list("batch/v1", "Job", NS) as unknown as StoredJob[];
}

export function uuidsInCluster(fakes: Fakes): Set<string | undefined> {
  return new Set(jobsInCluster(fakes).map((job) => job.metadata.labels?.["buildkite.com/job-uuid"]));
}

export function createsOf(fakes: Fakes, name: string): number {
  return fakes.kubernetes.requests.filter(
    (request) =>
      request.method === "POST" &&
      request.path.endsWith("/jobs") &&
      (request.body as StoredJob | undefined)?.metadata?.name === name,
  ).length;
}

/** A job of the agent token's cluster (the one both sources poll), `queue=kubernetes`. */
export function addJob(fakes: Fakes, job: FakeJobInput = {}): FakeJob {
  return fakes.buildkite.addJob({ cluster: FAKE_AGENT_TOKEN_CLUSTER, ...job });
}

/** A job the webhook denies: its container's image is not a valid reference. */
export function badPluginJob(fakes: Fakes): FakeJob {
  const plugins = JSON.stringify([
    { [KUBERNETES_PLUGIN]: { podSpec: { containers: [{ image: "NOT VALID" }] } } },
  ]);
  return addJob(fakes, { env: [`BUILDKITE_PLUGINS=${plugins}`], command: "make" });
}

/** The calls that failed `uuid` and were accepted. */
export function finishesOf(fakes: Fakes, mode: JobSourceMode, uuid: string): number {
  return fakes.buildkite.calls.filter(
    (call) => call.operation === mode.finish && call.status === 200 && call.url.includes(uuid),
  ).length;
}
