/**
 * The launcher at scale, with each job source side by side (the GraphQL API; the Stacks API with the
 * agent token alone): N scheduled jobs in the fake Buildkite, the real launcher as `agent-stack-k8s
 * launcher` in a child process (no extra Node flags: what the CLI sets itself is what is measured), the
 * fake Kubernetes API and the real webhook in this process, all on loopback. As each Job appears, the
 * fake's Job controller starts it, its pod runs (as the kubelet would report it) and its agent takes the
 * job (RUNNING in the fake Buildkite, so later polls no longer return it), so the launcher creates the
 * Jobs *and* tracks them and their pods. Reported per N (1,000, 2,000 and 10,000 by default;
 * `LAUNCHER_BENCH_JOBS=1000,2000`) and per job source (both by default; `LAUNCHER_BENCH_SOURCES=stacks`):
 *
 * - the time until N Jobs exist, and the scheduled-to-created latency (each job's `scheduledAt` to the
 *   launcher's `created Job` log line);
 * - the launcher's CPU time until then (its /metrics): its own share of the work, apart from the fakes'
 *   and the webhook's, which share this process (the Stacks API asks Buildkite for each job's details,
 *   so its fake does more here);
 * - the launcher's peak resident set (VmHWM) once every Job exists and every pod runs, plus 10 s of
 *   tracking them, and its resident set (VmRSS) at that point: what it keeps.
 *
 * Baselines in the same run: bare Node idle; the launcher idle (synced, polling, no jobs) with each
 * source; and the same 1,000 skeleton Jobs created from this process with the Kubernetes client, 25 at
 * a time, with no Buildkite and no launcher (the floor set by the API server and the webhook).
 *
 * Settings that let N jobs through at once (the defaults are upstream's, for a busy shared cluster):
 * `max-in-flight: 0`, all of them in one poll (GraphQL: `graphql-results-limit: 500` with
 * `pagination-depth-limit` N / 500; Stacks API: pages of 1,000, `pagination-depth-limit` N / 1,000),
 * `job-creation-concurrency: 25`, and the client rate limit raised to 1,000/s. The jobs are in the agent
 * token's cluster, which both sources poll.
 *
 * `LAUNCHER_BENCH_NODE_FLAGS` passes Node flags to the launcher runs, to profile them
 * (`--cpu-prof --cpu-prof-dir=DIR`, `--heapsnapshot-signal=SIGUSR2`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { BatchV1Api, type V1Job } from "@kubernetes/client-node";
import { buildSkeleton } from "../src/admission/skeleton.ts";
import type { BuildkiteJob } from "../src/buildkite/job.ts";
import {
  FAKE_AGENT_TOKEN_CLUSTER,
  type FakeBuildkite,
  startFakeBuildkite,
} from "../test/fakes/buildkite/fake-buildkite.ts";
import { type FakeKubernetes, startFakeKubernetes } from "../test/fakes/kubernetes-api.ts";
import { testConfig } from "../test/support/fixtures.ts";
import { stackWebhookConfiguration } from "../test/support/webhook-configuration.ts";
import { startTestServer, type TestServer } from "../test/webhook/harness.ts";
import { formatMb, record } from "./support/figures.ts";
import {
  bareNodeIdleRss,
  CLI,
  freePort,
  rssOf,
  scratchDirectory,
  sleep,
  writeFile,
} from "./support/processes.ts";

const COUNTS = (process.env.LAUNCHER_BENCH_JOBS ?? "1000,2000,10000").split(",").map(Number);
const SOURCES = ["graphql", "stacks"] as const;
type Source = (typeof SOURCES)[number];
const ASKED_SOURCES = (process.env.LAUNCHER_BENCH_SOURCES ?? SOURCES.join(","))
  .split(",")
  .filter((name): name is Source => (SOURCES as readonly string[]).includes(name));
const NAMESPACE = "buildkite";
const TRACK_SECONDS = 10;
/** The direct creates of the baseline, compared with the launcher's run of as many jobs. */
const BASELINE_JOBS = 1_000;
const GOALS_MB: Readonly<Record<number, number>> = { 2000: 200, 10000: 300 };

interface Fakes {
  readonly kubernetes: FakeKubernetes;
  readonly buildkite: FakeBuildkite;
  close(): Promise<void>;
}

async function startFakes(webhook: TestServer): Promise<Fakes> {
  const kubernetes = await startFakeKubernetes({ watchHistory: 200_000 });
  const buildkite = await startFakeBuildkite();
  kubernetes.put({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "buildkite-agent-token", namespace: NAMESPACE },
    data: { BUILDKITE_AGENT_TOKEN: Buffer.from(buildkite.agentToken).toString("base64") },
  });
  kubernetes.put(
    stackWebhookConfiguration(
      { url: `https://127.0.0.1:${webhook.port}/mutate` },
      webhook.certificates.caCert,
    ),
  );
  return {
    kubernetes,
    buildkite,
    close: async () => {
      await buildkite.close();
      await kubernetes.close();
    },
  };
}

/**
 * Starts every Job the launcher creates and runs its pod, as the Job controller and kubelet would, and
 * marks its Buildkite job RUNNING, as the pod's agent would once it acquired it.
 */
function runJobsAsCreated(fakes: Fakes): { started: () => number; stop: () => void } {
  const { kubernetes, buildkite } = fakes;
  const controller = new AbortController();
  const started = new Set<string>();
  void (async () => {
    const response = await fetch(`${kubernetes.url}/apis/batch/v1/namespaces/${NAMESPACE}/jobs?watch=true`, {
      signal: controller.signal,
    });
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      let newline = buffered.indexOf("\n");
      while (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf("\n");
        const event = JSON.parse(line) as {
          type: string;
          object: { metadata: { name: string; labels: Record<string, string> } };
        };
        const { name, labels } = event.object.metadata;
        if (event.type !== "ADDED" || started.has(name)) continue;
        started.add(name);
        kubernetes.cluster.runJob(NAMESPACE, name, { phase: "Running" });
        buildkite.setState(labels["buildkite.com/job-uuid"] as string, "RUNNING");
      }
    }
  })().catch((error: unknown) => {
    if (!controller.signal.aborted) throw error;
  });
  return { started: () => started.size, stop: () => controller.abort() };
}

/** Every job in one poll, with each source's page size. */
function sourceConfig(source: Source, fakes: Fakes, jobs: number): string[] {
  const pages = (size: number) =>
    `pagination-depth-limit: ${Math.min(20, Math.max(1, Math.ceil(jobs / size)))}`;
  return source === "graphql"
    ? [
        `org: ${fakes.buildkite.org}`,
        `graphql-endpoint: ${fakes.buildkite.graphqlUrl}`,
        "graphql-results-limit: 500",
        pages(500),
      ]
    : ["pagination-page-size: 1000", pages(1000)];
}

function launcherConfig(source: Source, fakes: Fakes, jobs: number): string {
  const directory = scratchDirectory("launcher");
  writeFile(directory, "kubeconfig", fakes.kubernetes.kubeConfig().exportConfig());
  return writeFile(
    directory,
    "launcher.yaml",
    [
      ...sourceConfig(source, fakes, jobs),
      `namespace: ${NAMESPACE}`,
      "poll-interval: 1s",
      "max-in-flight: 0",
      "job-creation-concurrency: 25",
      "k8s-client-rate-limiter-qps: 1000",
      "k8s-client-rate-limiter-burst: 1000",
      "log-format: json",
      "agent-config:",
      `  endpoint: ${fakes.buildkite.agentUrl}`,
    ].join("\n"),
  );
}

interface RunningLauncher {
  readonly child: ChildProcess;
  readonly port: number;
  output(): string;
  stop(): Promise<void>;
}

async function startLauncher(source: Source, fakes: Fakes, jobs: number): Promise<RunningLauncher> {
  const configFile = launcherConfig(source, fakes, jobs);
  const port = await freePort();
  let output = "";
  // LAUNCHER_BENCH_NODE_FLAGS: Node flags for the launcher runs, to profile them.
  const nodeFlags = (process.env.LAUNCHER_BENCH_NODE_FLAGS ?? "").split(" ").filter((flag) => flag !== "");
  const args = [...nodeFlags, CLI, "launcher", "--config", configFile, "--port", String(port)];
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      KUBECONFIG: configFile.replace(/launcher\.yaml$/, "kubeconfig"),
      ...(source === "graphql" ? { BUILDKITE_TOKEN: fakes.buildkite.apiToken } : {}),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  return {
    child,
    port,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

async function until(
  launcher: RunningLauncher,
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    // A launcher that died would otherwise leave this waiting for the whole timeout.
    if (launcher.child.exitCode !== null || launcher.child.signalCode !== null) {
      throw new Error(
        `the launcher exited early (${launcher.child.exitCode ?? launcher.child.signalCode}):\n${launcher.output().slice(-4000)}`,
      );
    }
    if (Date.now() > deadline)
      throw new Error(
        `gave up waiting for ${what} after ${timeoutMs} ms:\n${launcher.output().slice(-4000)}`,
      );
    await sleep(50);
  }
}

async function readyz(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200;
  } catch {
    return false;
  }
}

/** The launcher synced and polling with nothing to do: its resident set, MB. */
async function idleLauncher(webhook: TestServer, source: Source): Promise<number> {
  const fakes = await startFakes(webhook);
  const launcher = await startLauncher(source, fakes, 0);
  try {
    await until(launcher, "/readyz", () => readyz(launcher.port), 60_000);
    await sleep(3_000);
    return rssOf(launcher.child.pid!).rssMb;
  } finally {
    await launcher.stop();
    await fakes.close();
  }
}

/** The floor: the same creates, from this process, straight to the API server and its webhook. */
async function directCreates(webhook: TestServer, count: number): Promise<number> {
  const fakes = await startFakes(webhook);
  try {
    const api = fakes.kubernetes.kubeConfig().makeApiClient(BatchV1Api);
    const jobs: BuildkiteJob[] = Array.from({ length: count }, (_, i) => ({
      uuid: `0195b000-0000-4000-8000-${String(i).padStart(12, "0")}`,
      command: "make test",
      env: ["BUILDKITE_BUILD_URL=https://buildkite.com/acme/app/builds/1"],
      agentQueryRules: ["queue=kubernetes"],
      priority: { number: 0 },
    }));
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 25 }, async () => {
        while (next < jobs.length) {
          const job = jobs[next++]!;
          await api.createNamespacedJob({
            namespace: NAMESPACE,
            body: buildSkeleton(job, { jobPrefix: "buildkite-", namespace: NAMESPACE, id: "" }) as V1Job,
          });
        }
      }),
    );
    return (performance.now() - started) / 1000;
  } finally {
    await fakes.close();
  }
}

/** A value of the launcher's own /metrics. */
async function metricOf(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text)?.[1]);
}

/** The V8 heap, as the launcher's own /metrics reports it: where the resident set goes. */
async function heapOf(port: number): Promise<string> {
  const mb = async (name: string) => ((await metricOf(port, name)) / 1024 / 1024).toFixed(0);
  return `heap ${await mb("nodejs_heap_size_used_bytes")} of ${await mb("nodejs_heap_size_total_bytes")} MB, external ${await mb("nodejs_external_memory_bytes")} MB`;
}

interface LauncherRun {
  readonly source: Source;
  readonly heap: string;
  readonly jobs: number;
  readonly seconds: number;
  readonly latencies: readonly number[];
  readonly peakMb: number;
  readonly keptMb: number;
  /** The launcher's CPU time (user and system) until every Job ran: its own share of the work. */
  readonly cpuSeconds: number;
}

async function launcherRun(webhook: TestServer, source: Source, jobs: number): Promise<LauncherRun> {
  const fakes = await startFakes(webhook);
  const scheduledAt = new Map<string, number>();
  const batch = new Date().toISOString();
  for (let i = 0; i < jobs; i++) {
    const job = fakes.buildkite.addJob({
      command: `echo ${i}`,
      scheduledAt: batch,
      cluster: FAKE_AGENT_TOKEN_CLUSTER,
    });
    scheduledAt.set(job.uuid, Date.parse(batch));
  }
  const runner = runJobsAsCreated(fakes);
  const launcher = await startLauncher(source, fakes, jobs);
  const started = performance.now();
  try {
    const timeout = 120_000 + jobs * 30;
    await until(launcher, `${jobs} Jobs, each running its pod`, () => runner.started() >= jobs, timeout);
    const seconds = (performance.now() - started) / 1000;
    const cpuSeconds = await metricOf(launcher.port, "process_cpu_seconds_total");
    await sleep(TRACK_SECONDS * 1000);
    const { peakMb, rssMb } = rssOf(launcher.child.pid!);
    const heap = await heapOf(launcher.port);
    const latencies = launcher
      .output()
      .split("\n")
      .filter((line) => line.includes('"created Job"'))
      .map((line) => JSON.parse(line) as { time: string; jobUuid: string })
      .map((line) => (Date.parse(line.time) - (scheduledAt.get(line.jobUuid) ?? Number.NaN)) / 1000)
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    return { source, jobs, seconds, latencies, peakMb, keptMb: rssMb, heap, cpuSeconds };
  } finally {
    runner.stop();
    await launcher.stop();
    await fakes.close();
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

export async function launcherBench(write: (text: string) => void): Promise<void> {
  const webhook = await startTestServer({ config: testConfig({ namespace: NAMESPACE }) });
  try {
    const bare = await bareNodeIdleRss();
    const idle = new Map<Source, number>();
    for (const source of ASKED_SOURCES) idle.set(source, await idleLauncher(webhook, source));
    const floor = await directCreates(webhook, BASELINE_JOBS);
    const idleText = ASKED_SOURCES.map((source) => `${source} ${formatMb(idle.get(source) ?? 0)}`).join(", ");
    write(
      `launcher: N scheduled jobs → N Jobs through the real webhook, each Job started and its pod running, per job source (${process.version}, fakes on loopback)\n` +
        `  bare node, idle: ${formatMb(bare.rssMb)}; the launcher synced and polling, no jobs: ${idleText}\n` +
        `  baseline: ${BASELINE_JOBS} skeleton Jobs created directly, 25 at a time: ${floor.toFixed(2)} s\n`,
    );
    for (const count of COUNTS) {
      for (const source of ASKED_SOURCES) {
        const run = await launcherRun(webhook, source, count);
        const p50 = percentile(run.latencies, 50);
        const p99 = percentile(run.latencies, 99);
        const ratio = count === BASELINE_JOBS ? ` (${(run.seconds / floor).toFixed(2)}× the baseline)` : "";
        write(
          `  ${count.toLocaleString("en").padStart(6)} Jobs, ${source.padEnd(7)} in ${run.seconds.toFixed(2).padStart(6)} s${ratio}; scheduled-to-created p50 ${p50.toFixed(2)} s, p99 ${p99.toFixed(2)} s; launcher CPU ${run.cpuSeconds.toFixed(2)} s; ` +
            `peak RSS ${formatMb(run.peakMb)}, ${formatMb(run.keptMb)} after ${TRACK_SECONDS} s of tracking (${run.heap})\n`,
        );
        const goal = GOALS_MB[count];
        record({
          row: `launcher peak RSS, ${count.toLocaleString("en")} Jobs (+ their Pods), ${source}`,
          value: `${formatMb(run.peakMb)} (then ${formatMb(run.keptMb)})`,
          baseline: `bare node ${formatMb(bare.rssMb)}, idle launcher ${formatMb(idle.get(source) ?? 0)}`,
          goal: goal === undefined ? "" : `≤ ${goal} MB`,
          ...(goal === undefined ? {} : { met: run.peakMb <= goal }),
        });
      }
    }
    write("\n");
  } finally {
    await webhook.close();
  }
}
