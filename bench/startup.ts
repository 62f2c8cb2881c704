/**
 * Start-up, as users start the CLI (`node bin/agent-stack-k8s.js …`, no extra flags), against bare
 * Node (`node -e 0`) started the same way in the same run, alternating so that a burst of other work
 * on the machine hits both:
 *
 * - `version`: spawn to exit;
 * - `webhook --pod-templates none`: spawn to the first `GET /readyz` that answers 200 (polled every
 *   5 ms over HTTPS).
 */
import { formatMs, record } from "./support/figures.ts";
import {
  CLI,
  freePort,
  median,
  runNode,
  startNode,
  tlsFiles,
  waitFor200,
  webhookArgs,
} from "./support/processes.ts";

const RUNS = Number(process.env.STARTUP_BENCH_RUNS ?? 15);
const WEBHOOK_RUNS = Number(process.env.STARTUP_BENCH_WEBHOOK_RUNS ?? 5);

export async function startupBench(write: (text: string) => void): Promise<void> {
  const bare: number[] = [];
  const version: number[] = [];
  runNode(["-e", "0"]);
  runNode([CLI, "version"]);
  for (let i = 0; i < RUNS; i++) {
    bare.push(runNode(["-e", "0"]).seconds);
    const run = runNode([CLI, "version"]);
    if (run.status !== 0) throw new Error(`version exited ${run.status}: ${run.stderr}`);
    version.push(run.seconds);
  }
  tlsFiles(); // the certificate is made once, before any clock starts
  const readiness: number[] = [];
  const bareAgain: number[] = [];
  for (let i = 0; i < WEBHOOK_RUNS; i++) {
    bareAgain.push(runNode(["-e", "0"]).seconds);
    const port = await freePort();
    const started = process.hrtime.bigint();
    const server = startNode(webhookArgs(port, "--pod-templates", "none"));
    try {
      readiness.push(await waitFor200(server, port, "/readyz", started));
    } finally {
      await server.stop();
    }
  }
  const node = median(bare);
  const nodeForWebhook = median(bareAgain);
  const cli = median(version);
  const ready = median(readiness);
  write(
    `start-up (${process.version}; medians of ${RUNS} and ${WEBHOOK_RUNS} runs, alternating with bare node)\n` +
      `  node -e 0                                   ${formatMs(node).padStart(8)}\n` +
      `  agent-stack-k8s version                     ${formatMs(cli).padStart(8)}   ${(cli / node).toFixed(1)}× bare node\n` +
      `  webhook --pod-templates none → /readyz 200  ${formatMs(ready).padStart(8)}   ${(ready / nodeForWebhook).toFixed(1)}× bare node (${formatMs(nodeForWebhook)})\n\n`,
  );
  record({
    row: "`agent-stack-k8s version` wall time / bare `node -e 0`",
    value: `${(cli / node).toFixed(1)}× (${formatMs(cli)})`,
    baseline: `node -e 0: ${formatMs(node)}`,
    goal: "≤ 4×",
    met: cli / node <= 4,
  });
  record({
    row: "`webhook` start to `/readyz` 200 / bare node",
    value: `${(ready / nodeForWebhook).toFixed(1)}× (${formatMs(ready)})`,
    baseline: `node -e 0: ${formatMs(nodeForWebhook)}`,
    goal: "≤ 15×",
    met: ready / nodeForWebhook <= 15,
  });
}
