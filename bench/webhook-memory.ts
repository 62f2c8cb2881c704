/**
 * The webhook's resident memory, read from /proc as the kubelet sees it, against bare Node and the
 * no-op fastify HTTPS server (`support/no-op-server.ts`) in the same run:
 *
 * - idle: `webhook --pod-templates none`, 2 s after `/readyz` first answers 200 (VmRSS);
 * - loaded: the peak (VmHWM) over 20,000 admissions of the example job on 16 connections, the no-op
 *   server under the same load beside it;
 * - fuzzed: a fresh webhook after 100,000 requests of the fuzzer's cases (`test/webhook/fuzz-cases.ts`:
 *   malformed, deeply nested, oversized, wrong types, invalid UTF-8) on 16 connections: VmRSS once they
 *   are answered, and the peak;
 * - with `--pod-templates cluster` (the chart's default): idle after the informer synced 20
 *   PodTemplates from the fake Kubernetes API.
 *
 * Each server is started as a user starts it a second time: the compile cache (where there is one)
 * holds its modules already.
 */
import { Agent, request as httpsRequest } from "node:https";
import { startFakeKubernetes } from "../test/fakes/kubernetes-api.ts";
import { generate, prng } from "../test/webhook/fuzz-cases.ts";
import { formatMb, record } from "./support/figures.ts";
import {
  bareNodeIdleRss,
  freePort,
  ROOT,
  rssOf,
  type Server,
  scratchDirectory,
  sleep,
  startNode,
  tlsFiles,
  waitFor200,
  webhookArgs,
  writeFile,
} from "./support/processes.ts";
import { autocannon, exampleReviewBody } from "./webhook.ts";

const ADMISSIONS = Number(process.env.WEBHOOK_MEMORY_ADMISSIONS ?? 20_000);
const FUZZED = Number(process.env.WEBHOOK_MEMORY_FUZZED ?? 100_000);
const CONNECTIONS = 16;
const NAMESPACE = "buildkite";
const POD_TEMPLATES = 20;

async function startWebhook(
  extra: readonly string[],
  env?: NodeJS.ProcessEnv,
): Promise<{ server: Server; port: number }> {
  tlsFiles(); // the certificate is made once, before any clock starts
  const port = await freePort();
  const started = process.hrtime.bigint();
  const server = startNode(webhookArgs(port, ...extra), env ? { env } : {});
  await waitFor200(server, port, "/readyz", started);
  return { server, port };
}

async function admissions(port: number, body: string): Promise<void> {
  const result = await autocannon({
    url: `https://127.0.0.1:${port}/mutate`,
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    connections: CONNECTIONS,
    amount: ADMISSIONS,
  });
  if (result["2xx"] !== ADMISSIONS)
    throw new Error(`${ADMISSIONS - result["2xx"]} admissions did not answer 2xx`);
}

/** Distinct fuzz cases, made once and sent in turn: making them costs more than the webhook's answers. */
const FUZZ_POOL = 2_000;

/** `count` requests of fuzz cases from a fixed seed, `CONNECTIONS` at a time over keep-alive connections. */
async function fuzz(port: number, count: number): Promise<{ answered: number; dropped: number }> {
  const random = prng(12);
  const pool = Array.from({ length: Math.min(count, FUZZ_POOL) }, () => generate(random));
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS, rejectUnauthorized: false });
  let sent = 0;
  let answered = 0;
  let dropped = 0;
  const one = (body: string | Buffer, headers: Record<string, string>) =>
    new Promise<void>((resolve) => {
      const req = httpsRequest(
        { host: "127.0.0.1", port, path: "/mutate", method: "POST", agent, headers, timeout: 30_000 },
        (res) => {
          res.resume();
          res.on("end", () => {
            answered += 1;
            resolve();
          });
          res.on("error", () => {
            dropped += 1;
            resolve();
          });
        },
      );
      req.on("error", () => {
        dropped += 1;
        resolve();
      });
      req.on("timeout", () => req.destroy());
      req.end(body);
    });
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (sent < count) {
        const fuzzCase = pool[sent % pool.length]!;
        sent += 1;
        await one(fuzzCase.body, fuzzCase.headers);
      }
    }),
  );
  agent.destroy();
  return { answered, dropped };
}

export async function webhookMemoryBench(write: (text: string) => void): Promise<void> {
  const tls = tlsFiles();
  await (await startWebhook(["--pod-templates", "none"])).server.stop();
  const body = exampleReviewBody();
  const bare = await bareNodeIdleRss();

  const noOpPort = await freePort();
  const noOpStarted = process.hrtime.bigint();
  const noOp = startNode([`${ROOT}bench/support/no-op-server.ts`, tls.cert, tls.key, String(noOpPort)]);
  let noOpIdle: number;
  let noOpPeak: number;
  try {
    await waitFor200(noOp, noOpPort, "/readyz", noOpStarted);
    await sleep(2_000);
    noOpIdle = rssOf(noOp.child.pid!).rssMb;
    await admissions(noOpPort, body);
    noOpPeak = rssOf(noOp.child.pid!).peakMb;
  } finally {
    await noOp.stop();
  }

  const plain = await startWebhook(["--pod-templates", "none"]);
  let idle: number;
  let loadedPeak: number;
  let afterLoad: number;
  try {
    await sleep(2_000);
    idle = rssOf(plain.server.child.pid!).rssMb;
    await admissions(plain.port, body);
    ({ peakMb: loadedPeak, rssMb: afterLoad } = rssOf(plain.server.child.pid!));
  } finally {
    await plain.server.stop();
  }

  const fuzzed = await startWebhook(["--pod-templates", "none"]);
  let fuzzedAfter: number;
  let fuzzedPeak: number;
  let fuzzResult: { answered: number; dropped: number };
  const fuzzStarted = performance.now();
  try {
    fuzzResult = await fuzz(fuzzed.port, FUZZED);
    await sleep(1_000);
    ({ peakMb: fuzzedPeak, rssMb: fuzzedAfter } = rssOf(fuzzed.server.child.pid!));
  } finally {
    await fuzzed.server.stop();
  }
  const fuzzSeconds = (performance.now() - fuzzStarted) / 1000;

  const kubernetes = await startFakeKubernetes();
  let clusterIdle: number;
  try {
    for (let i = 0; i < POD_TEMPLATES; i++) {
      kubernetes.put({
        apiVersion: "v1",
        kind: "PodTemplate",
        metadata: { name: `template-${i}`, namespace: NAMESPACE },
        template: {
          spec: {
            containers: [{ name: "build", image: "golang:1.23", resources: { requests: { cpu: "1" } } }],
            nodeSelector: { pool: "ci" },
          },
        },
      });
    }
    const kubeconfig = writeFile(
      scratchDirectory("webhook-cluster"),
      "kubeconfig",
      kubernetes.kubeConfig().exportConfig(),
    );
    const env = { ...process.env, KUBECONFIG: kubeconfig };
    // A first start fills the compile cache with the cluster path's modules, as a second start finds it.
    await (await startWebhook(["--pod-templates", "cluster", "--namespace", NAMESPACE], env)).server.stop();
    const cluster = await startWebhook(["--pod-templates", "cluster", "--namespace", NAMESPACE], env);
    try {
      await sleep(2_000);
      clusterIdle = rssOf(cluster.server.child.pid!).rssMb;
    } finally {
      await cluster.server.stop();
    }
  } finally {
    await kubernetes.close();
  }

  write(
    `webhook resident memory (${process.version}; VmRSS / VmHWM from /proc)\n` +
      `  bare node, idle                                  ${formatMb(bare.rssMb).padStart(7)}\n` +
      `  no-op fastify HTTPS server, idle                 ${formatMb(noOpIdle).padStart(7)}\n` +
      `  no-op server, peak over ${ADMISSIONS.toLocaleString("en")} requests, ${CONNECTIONS} conns ${formatMb(noOpPeak).padStart(7)}\n` +
      `  webhook --pod-templates none, idle               ${formatMb(idle).padStart(7)}\n` +
      `  webhook, peak over ${ADMISSIONS.toLocaleString("en")} admissions, ${CONNECTIONS} conns  ${formatMb(loadedPeak).padStart(7)}   (after: ${formatMb(afterLoad)})\n` +
      `  webhook after ${FUZZED.toLocaleString("en")} fuzzed requests                ${formatMb(fuzzedAfter).padStart(7)}   (peak ${formatMb(fuzzedPeak)}; ${fuzzResult.answered} answered, ${fuzzResult.dropped} connections dropped, ${fuzzSeconds.toFixed(0)} s)\n` +
      `  webhook --pod-templates cluster (${POD_TEMPLATES} templates), idle  ${formatMb(clusterIdle).padStart(7)}\n\n`,
  );
  record({
    row: "webhook RSS idle (`--pod-templates none`)",
    value: formatMb(idle),
    baseline: `bare node ${formatMb(bare.rssMb)}, no-op server ${formatMb(noOpIdle)}`,
    goal: "≤ 100 MB",
    met: idle <= 100,
  });
  record({
    row: `webhook RSS peak over ${ADMISSIONS.toLocaleString("en")} admissions on ${CONNECTIONS} connections`,
    value: formatMb(loadedPeak),
    baseline: `no-op server ${formatMb(noOpPeak)}`,
    goal: "≤ 150 MB",
    met: loadedPeak <= 150,
  });
  record({
    row: `webhook RSS after ${FUZZED.toLocaleString("en")} fuzzed requests`,
    value: `${formatMb(fuzzedAfter)} (peak ${formatMb(fuzzedPeak)})`,
    baseline: `bare node ${formatMb(bare.rssMb)}`,
    goal: "≤ 150 MB",
    met: fuzzedAfter <= 150,
  });
  record({
    row: "webhook RSS idle, `--pod-templates cluster`",
    value: formatMb(clusterIdle),
    baseline: `bare node ${formatMb(bare.rssMb)}`,
    goal: "≤ 150 MB",
    met: clusterIdle <= 150,
  });
}
