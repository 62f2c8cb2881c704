/**
 * `npm run bench` (after the webhook's): 1,000 scheduled jobs in the fake Buildkite, the real launcher
 * as `agent-stack-k8s launcher` in a child process, the fake Kubernetes API and the real webhook in this
 * one, all on loopback. Reports the time until 1,000 Jobs exist, the scheduled-to-created latency
 * (from each job's `scheduledAt` to the launcher's `created Job` log line), and the launcher's peak RSS.
 *
 * Baseline, measured in the same run against the same fakes and webhook: this process creating the
 * same 1,000 skeleton Jobs itself with the Kubernetes client, 25 at a time, with no Buildkite and no
 * launcher: the floor set by the API server and the webhook.
 *
 * Settings that let 1,000 jobs through at once (the defaults are upstream's, for a busy shared
 * cluster): `max-in-flight: 0` (nothing finishes in the fake), `graphql-results-limit: 500` and
 * `pagination-depth-limit: 2` (1,000 per poll), `job-creation-concurrency: 25`, and the client rate
 * limit raised to 1,000/s.
 *
 * It runs twice, with Node's defaults and with `--max-semi-space-size=2`, and also reports the RSS of a
 * process that has only loaded the launcher's modules: most of the footprint is there, not in the work.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BatchV1Api, type V1Job } from "@kubernetes/client-node";
import { buildSkeleton } from "../src/admission/skeleton.ts";
import type { BuildkiteJob } from "../src/buildkite/job.ts";
import { startFakeBuildkite } from "../test/fakes/buildkite/fake-buildkite.ts";
import { startFakeKubernetes } from "../test/fakes/kubernetes-api.ts";
import { testConfig } from "../test/support/fixtures.ts";
import { stackWebhookConfiguration } from "../test/support/webhook-configuration.ts";
import { startTestServer } from "../test/webhook/harness.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const JOBS = Number(process.env.LAUNCHER_BENCH_JOBS ?? 1_000);
const NAMESPACE = "buildkite";
const GOAL_SECONDS = 5;
const GOAL_RSS_MB = 150;

const webhook = await startTestServer({ config: testConfig({ namespace: NAMESPACE }) });
const kubernetes = await startFakeKubernetes();
const buildkite = await startFakeBuildkite();
const directory = mkdtempSync(join(tmpdir(), "launcher-bench-"));
/** The jobs of the last run, finished before the next so that it starts from the same state. */
const previousBatch: string[] = [];

function registerWebhook(): void {
  kubernetes.put(
    stackWebhookConfiguration(
      { url: `https://127.0.0.1:${webhook.port}/mutate` },
      webhook.certificates.caCert,
    ),
  );
}

function jobCount(): number {
  return kubernetes.count("batch/v1", "Job", NAMESPACE);
}

function clearJobs(): void {
  for (const job of kubernetes.list("batch/v1", "Job", NAMESPACE)) {
    kubernetes.remove("batch/v1", "Job", NAMESPACE, String(job.metadata?.name));
  }
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms (${jobCount()} Jobs)`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** The floor: the same creates, from this process, straight to the API server and its webhook. */
async function baseline(): Promise<number> {
  const api = kubernetes.kubeConfig().makeApiClient(BatchV1Api);
  const jobs: BuildkiteJob[] = Array.from({ length: JOBS }, (_, i) => ({
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
}

/** Peak resident set of a process, from Linux's /proc (VmHWM). */
function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

interface LauncherRun {
  readonly seconds: number;
  readonly latencies: readonly number[];
  readonly rssMb: number;
}

/** One run of the launcher with these Node flags, from a fresh batch of jobs and an empty namespace. */
async function launcherRun(nodeFlags: readonly string[]): Promise<LauncherRun> {
  clearJobs();
  for (const job of previousBatch) buildkite.setState(job, "FINISHED");
  const kubeconfig = join(directory, "kubeconfig");
  writeFileSync(kubeconfig, kubernetes.kubeConfig().exportConfig());
  const configFile = join(directory, "launcher.yaml");
  writeFileSync(
    configFile,
    [
      `org: ${buildkite.org}`,
      `graphql-endpoint: ${buildkite.graphqlUrl}`,
      `namespace: ${NAMESPACE}`,
      "poll-interval: 1s",
      "max-in-flight: 0",
      "graphql-results-limit: 500",
      "pagination-depth-limit: 2",
      "job-creation-concurrency: 25",
      "k8s-client-rate-limiter-qps: 1000",
      "k8s-client-rate-limiter-burst: 1000",
      "log-format: json",
      "agent-config:",
      `  endpoint: ${buildkite.agentUrl}`,
    ].join("\n"),
  );
  const scheduledAt = new Map<string, number>();
  const batch = new Date().toISOString();
  previousBatch.length = 0;
  for (let i = 0; i < JOBS; i++) {
    const job = buildkite.addJob({ command: `echo ${i}`, scheduledAt: batch });
    scheduledAt.set(job.uuid, Date.parse(batch));
    previousBatch.push(job.uuid);
  }
  let output = "";
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...(process.env.LAUNCHER_BENCH_PROFILE
        ? ["--cpu-prof", `--cpu-prof-dir=${process.env.LAUNCHER_BENCH_PROFILE}`]
        : []),
      ...nodeFlags,
      join(ROOT, "bin/agent-stack-k8s.js"),
      "launcher",
      "--config",
      configFile,
      "--port",
      "0",
    ],
    {
      env: { ...process.env, KUBECONFIG: kubeconfig, BUILDKITE_TOKEN: buildkite.apiToken },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  const started = performance.now();
  try {
    await until(() => {
      // A launcher that died would otherwise leave this waiting for the whole timeout.
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`the launcher exited early (${child.exitCode ?? child.signalCode})`);
      }
      return jobCount() >= JOBS;
    }, 120_000);
    const seconds = (performance.now() - started) / 1000;
    const rssMb = peakRssMb(child.pid!);
    const latencies = output
      .split("\n")
      .filter((line) => line.includes('"created Job"'))
      .map((line) => JSON.parse(line) as { time: string; jobUuid: string })
      .map((line) => (Date.parse(line.time) - (scheduledAt.get(line.jobUuid) ?? Number.NaN)) / 1000)
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    return { seconds, latencies, rssMb };
  } catch (error) {
    process.stderr.write(output.slice(-4000));
    throw error;
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
  }
}

function report(label: string, run: LauncherRun, floor: number): string {
  const p50 = percentile(run.latencies, 50);
  const p99 = percentile(run.latencies, 99);
  return (
    `  ${label.padEnd(34)} ${run.seconds.toFixed(2).padStart(6)} s (${(run.seconds / floor).toFixed(2)}× the baseline)   ` +
    `scheduled-to-created p50 ${p50.toFixed(2)} s, p99 ${p99.toFixed(2)} s   peak RSS ${run.rssMb.toFixed(0)} MB\n`
  );
}

/** What the launcher's process costs before it does anything: Node, the module graph, the clients. */
async function idleRssMb(): Promise<number> {
  const modules = spawn(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `await import(${JSON.stringify(join(ROOT, "launcher/command.ts"))}); setTimeout(() => {}, 60_000);`,
    ],
    { stdio: "ignore" },
  );
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const rss = peakRssMb(modules.pid!);
  modules.kill();
  return rss;
}

try {
  registerWebhook();
  const floor = await baseline();
  const standard = await launcherRun([]);
  // V8's young generation grows to tens of MB under a burst of allocations; a smaller one trades a
  // little CPU for a lower peak (what the chart sets through NODE_OPTIONS).
  const tuned = await launcherRun(["--max-semi-space-size=2"]);
  const idle = await idleRssMb();
  const best = Math.min(standard.rssMb, tuned.rssMb);
  process.stdout.write(
    `launcher: ${JOBS} scheduled jobs → ${JOBS} Jobs, through the real webhook (${process.version}, fakes on loopback)\n` +
      `  baseline: the same creates, direct   ${floor.toFixed(2).padStart(6)} s\n` +
      report("launcher", standard, floor) +
      report("launcher, --max-semi-space-size=2", tuned, floor) +
      `  the launcher's modules loaded, idle: peak RSS ${idle.toFixed(0)} MB\n` +
      `  goals: ≤ ${GOAL_SECONDS} s: ${Math.max(standard.seconds, tuned.seconds) <= GOAL_SECONDS ? "met" : "missed"}; ` +
      `≤ ${GOAL_RSS_MB} MB: ${best <= GOAL_RSS_MB ? "met" : "missed"}\n`,
  );
} finally {
  await buildkite.close();
  await kubernetes.close();
  await webhook.close();
}
