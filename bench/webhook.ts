/**
 * The webhook server under load, side by side with a no-op fastify HTTPS server that answers
 * `allowed: true` to the same AdmissionReview (`support/no-op-server.ts`), both measured in the same run
 * on the same machine.
 *
 * - Each server runs in a child process of its own, so the load generator never shares its event loop.
 * - On a machine with 2 or more cores the server under test is pinned to core 0 and this process (the
 *   load generator, autocannon in one thread) to core 1 with `taskset`, so the two never compete for a
 *   core. The servers take turns: only one is under load at a time.
 * - The body is the AdmissionReview kube-apiserver sends for the launcher's skeleton of
 *   `examples/job.json` (a typical job: two containers, a sidecar, checkout flags, a podSpecPatch).
 * - Two loads, both closed loops (each connection sends its next request when its answer comes): 100
 *   connections, in alternating rounds whose median is reported (throughput is the server's capacity;
 *   at saturation latency is mostly queueing, 100 requests deep); and one connection (no queueing:
 *   latency is the time to serve one admission). autocannon's fixed-rate mode is not used: it fires
 *   every connection's request on the same tick, so its latencies measure the burst, not the server.
 * - The composed floor: a webhook can at best serve one request in the no-op server's time per request
 *   plus one `admit` (measured by `admission.ts` in the same run), 1 / (t_no-op + t_admit); the
 *   webhook's throughput is reported as a share of it. The webhook's answer carries the JSON Patch
 *   (about 10 KB for this job) where the no-op's is a few dozen bytes, and the load generator's one
 *   core must decrypt and parse every answer: a second no-op server sending the webhook's own answer
 *   shows how much of the gap is those bytes rather than the webhook's work.
 *
 * The real server runs as `agent-stack-k8s webhook` with its defaults (logfmt, one log line per
 * admission, written to a file), `--pod-templates none`.
 */
import { execFileSync } from "node:child_process";
import { openSync, readFileSync, writeFileSync } from "node:fs";
import { Agent, request as httpsRequest } from "node:https";
import { createRequire } from "node:module";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { admit } from "../src/admission/admit.ts";
import { buildSkeleton } from "../src/admission/skeleton.ts";
import { parseBuildkiteJob } from "../src/buildkite/job.ts";
import { loadConfig } from "../src/config/load.ts";
import { createReview } from "../src/render/render-job.ts";
import { record } from "./support/figures.ts";
import {
  canPin,
  freePort,
  ROOT,
  scratchDirectory,
  startNode,
  tlsFiles,
  webhookArgs,
} from "./support/processes.ts";

/** The part of autocannon's API used here (the package ships no types). */
export interface AutocannonResult {
  readonly latency: { readonly p50: number; readonly p99: number };
  readonly requests: { readonly total: number };
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  readonly "2xx": number;
}
export type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;
export const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

const CONNECTIONS = 100;
const WARMUP_SECONDS = 3;
const MEASURE_SECONDS = Number(process.env.WEBHOOK_BENCH_SECONDS ?? 5);
/** Closed-loop rounds, alternating the servers, so that a burst of other work on the machine hits both. */
const ROUNDS = Number(process.env.WEBHOOK_BENCH_ROUNDS ?? 3);

/** The AdmissionReview of the launcher's skeleton of examples/job.json, as kube-apiserver sends it. */
export function exampleReviewBody(): string {
  const config = loadConfig({ args: [], env: {} }).config;
  const job = parseBuildkiteJob(
    JSON.parse(readFileSync(join(ROOT, "examples/job.json"), "utf8")),
    "job.json",
  );
  return JSON.stringify(createReview(buildSkeleton(job, config), job.uuid));
}

interface Measurement {
  readonly p50: number;
  readonly p99: number;
  readonly perSecond: number;
  readonly errors: number;
  readonly non2xx: number;
}

export async function webhookLoadBench(write: (text: string) => void, admitSeconds: number): Promise<void> {
  const cores = availableParallelism();
  const pin = cores >= 2 && canPin();
  if (pin) execFileSync("taskset", ["-cp", "1", String(process.pid)], { stdio: "ignore" });
  const tls = tlsFiles();
  const body = exampleReviewBody();
  const [webhookPort, noOpPort, sizedPort] = [await freePort(), await freePort(), await freePort()];
  const scratch = scratchDirectory("webhook-load");
  const logFile = join(scratch, "webhook.log");
  const answer = JSON.stringify(
    admit(JSON.parse(body), { config: loadConfig({ args: [], env: {} }).config }).review,
  );
  const answerFile = join(scratch, "answer.json");
  writeFileSync(answerFile, answer);
  const core = pin ? 0 : undefined;
  const servers = {
    webhook: startNode(webhookArgs(webhookPort, "--pod-templates", "none"), {
      pinToCore: core,
      stdout: openSync(logFile, "w"),
    }),
    noOp: startNode([join(ROOT, "bench/support/no-op-server.ts"), tls.cert, tls.key, String(noOpPort)], {
      pinToCore: core,
    }),
    sized: startNode(
      [join(ROOT, "bench/support/no-op-server.ts"), tls.cert, tls.key, String(sizedPort), answerFile],
      { pinToCore: core },
    ),
  };
  try {
    await Promise.all([waitReady(webhookPort), waitReady(noOpPort), waitReady(sizedPort)]);
    write(
      `webhook server under load (${process.version}, ${cores} cores, load average ${loadavg()[0]?.toFixed(2)}; ${pin ? "server on core 0, load generator on core 1" : "processes not pinned"})\n` +
        `  body: AdmissionReview of the skeleton of examples/job.json, ${body.length} bytes; ${CONNECTIONS} connections\n\n`,
    );

    await load(noOpPort, body, {}, WARMUP_SECONDS);
    await load(webhookPort, body, {}, WARMUP_SECONDS);
    await load(sizedPort, body, {}, WARMUP_SECONDS);
    const rounds: Array<{ noOp: Measurement; webhook: Measurement; sized: Measurement }> = [];
    for (let round = 0; round < ROUNDS; round++) {
      rounds.push({
        noOp: await load(noOpPort, body, {}),
        webhook: await load(webhookPort, body, {}),
        sized: await load(sizedPort, body, {}),
      });
    }
    const closed = {
      noOp: median(rounds.map((r) => r.noOp)),
      webhook: median(rounds.map((r) => r.webhook)),
      sized: median(rounds.map((r) => r.sized)),
    };
    report(
      write,
      `closed loop, ${CONNECTIONS} connections, median of ${ROUNDS} alternating rounds of ${MEASURE_SECONDS} s`,
      closed.webhook,
      closed.noOp,
    );
    write(
      `  rounds (p99 ms, per second): ${rounds
        .map(
          (r) =>
            `webhook ${r.webhook.p99}/${Math.round(r.webhook.perSecond)}, no-op ${r.noOp.p99}/${Math.round(r.noOp.perSecond)}`,
        )
        .join("; ")}\n`,
    );
    const floor = 1 / (1 / closed.noOp.perSecond + admitSeconds);
    const share = closed.webhook.perSecond / floor;
    write(
      `  composed floor 1 / (t_no-op ${(1e6 / closed.noOp.perSecond).toFixed(0)} µs + t_admit ${(admitSeconds * 1e6).toFixed(0)} µs) = ${Math.round(floor).toLocaleString("en")}/s; ` +
        `the webhook reaches ${(share * 100).toFixed(0)} % of it\n`,
    );
    const sizedFloor = 1 / (1 / closed.sized.perSecond + admitSeconds);
    write(
      `  the no-op sending the webhook's own ${answer.length.toLocaleString("en")}-byte answer: ${Math.round(closed.sized.perSecond).toLocaleString("en")}/s; ` +
        `with t_admit, a floor of ${Math.round(sizedFloor).toLocaleString("en")}/s, of which the webhook reaches ${((closed.webhook.perSecond / sizedFloor) * 100).toFixed(0)} %\n\n`,
    );
    record({
      row: "webhook throughput, 100 connections / composed floor",
      value: `${(share * 100).toFixed(0)} % (${Math.round(closed.webhook.perSecond).toLocaleString("en")}/s)`,
      baseline: `no-op ${Math.round(closed.noOp.perSecond).toLocaleString("en")}/s, floor ${Math.round(floor).toLocaleString("en")}/s`,
      goal: "≥ 75 %",
      met: share >= 0.75,
    });

    const single = {
      noOp: await sequential(noOpPort, body, tls.ca),
      webhook: await sequential(webhookPort, body, tls.ca),
    };
    report(
      write,
      `one connection, one request at a time, ${MEASURE_SECONDS} s (no queueing: the time to serve one admission)`,
      single.webhook,
      single.noOp,
    );
    write(`the webhook's log: ${logFile}\n\n`);
  } finally {
    await servers.webhook.stop();
    await servers.noOp.stop();
    await servers.sized.stop();
    if (pin) execFileSync("taskset", ["-cp", `0-${cores - 1}`, String(process.pid)], { stdio: "ignore" });
  }
}

async function load(
  port: number,
  body: string,
  shape: { connections?: number },
  seconds = MEASURE_SECONDS,
): Promise<Measurement> {
  const options = {
    url: `https://127.0.0.1:${port}/mutate`,
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    connections: CONNECTIONS,
    ...shape,
  };
  const result = await autocannon({ ...options, duration: seconds });
  return {
    p50: result.latency.p50,
    p99: result.latency.p99,
    perSecond: result.requests.total / seconds,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

/**
 * One keep-alive connection, the next request sent when the answer is in, timed here with a
 * microsecond clock: autocannon rounds latencies to whole milliseconds, and these are well under one.
 */
async function sequential(port: number, body: string, ca: string): Promise<Measurement> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca, servername: "localhost" });
  const post = () =>
    new Promise<number>((resolve, reject) => {
      const started = process.hrtime.bigint();
      const req = httpsRequest(
        {
          host: "127.0.0.1",
          port,
          path: "/mutate",
          method: "POST",
          agent,
          headers: { "content-type": "application/json" },
        },
        (res) => {
          res.on("data", () => {});
          res.on("end", () =>
            res.statusCode === 200
              ? resolve(Number(process.hrtime.bigint() - started) / 1e6)
              : reject(new Error(`status ${res.statusCode}`)),
          );
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  const warmUntil = Date.now() + 1_000;
  while (Date.now() < warmUntil) await post();
  const latencies: number[] = [];
  const until = Date.now() + MEASURE_SECONDS * 1_000;
  while (Date.now() < until) latencies.push(await post());
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] as number;
  return { p50: at(0.5), p99: at(0.99), perSecond: latencies.length / MEASURE_SECONDS, errors: 0, non2xx: 0 };
}

/** Each figure's median over the rounds. */
function median(measurements: readonly Measurement[]): Measurement {
  const middle = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
  return {
    p50: middle(measurements.map((m) => m.p50)),
    p99: middle(measurements.map((m) => m.p99)),
    perSecond: middle(measurements.map((m) => m.perSecond)),
    errors: measurements.reduce((sum, m) => sum + m.errors, 0),
    non2xx: measurements.reduce((sum, m) => sum + m.non2xx, 0),
  };
}

function report(write: (text: string) => void, title: string, webhook: Measurement, noOp: Measurement): void {
  const row = (name: string, m: Measurement) =>
    `  ${name.padEnd(22)} ${m.p50.toFixed(3).padStart(8)} ms ${m.p99.toFixed(3).padStart(8)} ms ${Math.round(m.perSecond).toLocaleString("en").padStart(10)}/s` +
    (m.errors + m.non2xx > 0 ? `   (${m.errors} errors, ${m.non2xx} non-2xx)` : "");
  write(
    `${title}\n` +
      `  ${"".padEnd(22)} ${"p50".padStart(11)} ${"p99".padStart(11)} ${"throughput".padStart(12)}\n` +
      `${row("webhook", webhook)}\n${row("no-op fastify HTTPS", noOp)}\n` +
      `  ratios webhook / no-op: p50 ${(webhook.p50 / noOp.p50).toFixed(2)}×, p99 ${(webhook.p99 / noOp.p99).toFixed(2)}×, throughput ${(webhook.perSecond / noOp.perSecond).toFixed(2)}×\n\n`,
  );
}

async function waitReady(port: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const result = await autocannon({ url: `https://127.0.0.1:${port}/readyz`, amount: 1, connections: 1 });
      if (result["2xx"] === 1) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the server on port ${port} did not become ready in 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
