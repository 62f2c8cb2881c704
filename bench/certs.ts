/**
 * The certificate commands' peak resident memory, against bare Node in the same run:
 *
 * - `certs --out-dir DIR`: files only, run to its end (peak read as it exits);
 * - the certs keeper as the chart runs it (`certs --secret … --service … --webhook-configuration …
 *   --watch`) against the fake Kubernetes API: the peak (VmHWM) once it has created the Secret and set
 *   the caBundle, and 2 s more.
 */
import { startFakeKubernetes } from "../test/fakes/kubernetes-api.ts";
import { stackWebhookConfiguration } from "../test/support/webhook-configuration.ts";
import { formatMb, record } from "./support/figures.ts";
import { CLI, peakOfRun, rssOf, scratchDirectory, sleep, startNode, writeFile } from "./support/processes.ts";

const NAMESPACE = "buildkite";
const SECRET = "agent-stack-k8s-webhook-tls";

export async function certsBench(write: (text: string) => void): Promise<void> {
  const bare = await peakOfRun(["-e", "0"]);
  const outDir = scratchDirectory("certs");

  // A first run of each fills the compile cache, as a second start of the command would find it.
  await peakOfRun([CLI, "certs", "--out-dir", scratchDirectory("certs")]);
  const files = await peakOfRun([CLI, "certs", "--out-dir", outDir]);
  await keeperPeak();
  const keeper = await keeperPeak();

  write(
    `certificate commands, peak resident memory (${process.version})\n` +
      `  bare node (node -e 0)                            ${formatMb(bare).padStart(7)}\n` +
      `  certs --out-dir DIR                              ${formatMb(files).padStart(7)}\n` +
      `  certs keeper (--secret … --webhook-configuration … --watch) ${formatMb(keeper).padStart(7)}\n\n`,
  );
  record({
    row: "`certs --out-dir` peak RSS",
    value: formatMb(files),
    baseline: `bare node ${formatMb(bare)}`,
    goal: "≤ 100 MB",
    met: files <= 100,
  });
  record({
    row: "certs keeper (`--secret … --watch`) peak RSS",
    value: formatMb(keeper),
    baseline: `bare node ${formatMb(bare)}`,
    goal: "≤ 100 MB",
    met: keeper <= 100,
  });
}

/** The keeper against a fresh fake API server: its peak once it made the Secret and set the caBundle. */
async function keeperPeak(): Promise<number> {
  const kubernetes = await startFakeKubernetes();
  try {
    const configuration = kubernetes.put(
      stackWebhookConfiguration(
        { service: { name: "agent-stack-k8s-webhook", namespace: NAMESPACE } },
        "placeholder",
      ),
    );
    const kubeconfig = writeFile(
      scratchDirectory("certs-keeper"),
      "kubeconfig",
      kubernetes.kubeConfig().exportConfig(),
    );
    const server = startNode(
      [
        CLI,
        "certs",
        "--namespace",
        NAMESPACE,
        "--secret",
        SECRET,
        "--service",
        "agent-stack-k8s-webhook",
        "--webhook-configuration",
        String(configuration.metadata.name),
        "--watch",
      ],
      { env: { ...process.env, KUBECONFIG: kubeconfig } },
    );
    try {
      const initialBundle = JSON.stringify(configuration.webhooks);
      const deadline = Date.now() + 60_000;
      for (;;) {
        const secret = kubernetes.get("v1", "Secret", NAMESPACE, SECRET);
        const current = kubernetes.get(
          "admissionregistration.k8s.io/v1",
          "MutatingWebhookConfiguration",
          undefined,
          String(configuration.metadata.name),
        ) as { webhooks?: unknown } | undefined;
        if (secret !== undefined && JSON.stringify(current?.webhooks) !== initialBundle) break;
        if (server.child.exitCode !== null || Date.now() > deadline) {
          throw new Error(`the certs keeper did not provision in time:\n${server.output()}`);
        }
        await sleep(20);
      }
      await sleep(2_000);
      return rssOf(server.child.pid!).peakMb;
    } finally {
      await server.stop();
    }
  } finally {
    await kubernetes.close();
  }
}
