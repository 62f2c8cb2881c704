/**
 * `diagnose`, once its flags are read: the parts below, in this order, each a module of its own. A
 * part that fails is one line of the summary (and the parts that need what it would have found say
 * they were skipped); the run always goes on and always writes the archive.
 *
 *   stack (Deployments, by the chart's labels) ──► configuration (ConfigMap) ──► stack pods ──► their logs
 *        │                                                                  (--since)
 *        ├──► jobs (the stack's, or --job's) and their pods ──► events ──► job logs (--job)
 *        ├──► webhook configuration ──► serving certificate vs caBundle ──► /readyz through the proxy
 *        └──► permissions: SelfSubjectAccessReview as each service account
 *
 * Every file goes through the redactor (redaction.ts) on its way into the archive (archive.ts).
 */
import { basename } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import type { CommandIo } from "../runtime/command-io.ts";
import { loadKubeConfig } from "../runtime/kube-config.ts";
import { formatDuration, SECOND } from "../src/config/duration.ts";
import { AgentStackError } from "../src/errors.ts";
import { formatObjects } from "../src/render/format-objects.ts";
import { VERSION } from "../src/version.ts";
import { permissionsPart } from "./access-reviews.ts";
import { openArchive } from "./archive.ts";
import { type CallLimits, createDiagnoseCluster, DEFAULT_LIMITS } from "./cluster.ts";
import { configurationPart } from "./configuration.ts";
import { eventsPart } from "./events.ts";
import { jobsPart } from "./jobs.ts";
import { jobLogsPart, stackLogsPart } from "./logs.ts";
import {
  type DiagnoseContext,
  type DiagnoseOptions,
  type Part,
  type PartOutcome,
  PartSkipped,
} from "./part.ts";
import { Redactor } from "./redaction.ts";
import {
  collectedAnything,
  headerText,
  manifestText,
  type PartResult,
  partText,
  type RunDescription,
} from "./report.ts";
import { servingCertificatePart } from "./serving-certificate.ts";
import { stackPart } from "./stack.ts";
import { stackPodsPart } from "./stack-pods.ts";
import { webhookConfigurationPart } from "./webhook-configuration.ts";
import { webhookReadinessPart } from "./webhook-readiness.ts";

export const PARTS: readonly Part[] = [
  stackPart,
  configurationPart,
  stackPodsPart,
  stackLogsPart,
  jobsPart,
  eventsPart,
  jobLogsPart,
  webhookConfigurationPart,
  servingCertificatePart,
  webhookReadinessPart,
  permissionsPart,
];

export interface DiagnoseRequest extends Omit<DiagnoseOptions, "namespace"> {
  /** Undefined: the kubeconfig context's namespace, else `default`, as kubectl. */
  readonly namespace: string | undefined;
  /** Undefined: `agent-stack-k8s-diagnose-<namespace>-<time>.tar.gz` here. */
  readonly out: string | undefined;
}

/** Seams for tests; production uses the defaults. */
export interface DiagnoseRunContext {
  /** Default: KUBECONFIG, ~/.kube/config or in-cluster (`KubeConfig.loadFromDefault`). */
  readonly kubeConfig?: KubeConfig;
  readonly limits?: CallLimits;
  readonly now?: () => Date;
}

export async function runDiagnose(
  request: DiagnoseRequest,
  io: CommandIo,
  context: DiagnoseRunContext = {},
): Promise<number> {
  const kubeConfig = context.kubeConfig ?? loadKubeConfig("ASK_DIAGNOSE_KUBERNETES_CONFIG");
  const namespace =
    request.namespace ?? kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace ?? "default";
  const now = context.now?.() ?? new Date();
  const out = request.out ?? `agent-stack-k8s-diagnose-${namespace}-${stamp(now)}.tar.gz`;
  const root = basename(out).replace(/(\.tar\.gz|\.tgz)$/, "") || "agent-stack-k8s-diagnose";
  const archive = await openArchive(out, root, now);
  const run: RunDescription = {
    version: VERSION,
    createdAt: now,
    cluster: kubeConfig.getCurrentCluster()?.server ?? "(no cluster)",
    namespace,
    release: request.release,
    jobs: request.jobs,
    since: request.sinceSeconds === undefined ? undefined : formatDuration(request.sinceSeconds * SECOND),
  };
  let results: PartResult[];
  let summary: string;
  try {
    const redactor = new Redactor();
    // One writer at a time: parts read logs in parallel, and a tar entry must not be interleaved.
    let queue: Promise<void> = Promise.resolve();
    const write = (path: string, content: string): Promise<void> => {
      const written = queue.then(() => archive.add(path, redactor.text(content)));
      queue = written.catch(() => {});
      return written;
    };
    const diagnoseContext: DiagnoseContext = {
      cluster: createDiagnoseCluster(kubeConfig, context.limits ?? DEFAULT_LIMITS),
      options: { ...request, namespace },
      redactor,
      found: {},
      now,
      write,
      writeObjects: (path, objects) =>
        write(
          path,
          formatObjects([{ apiVersion: "v1", kind: "List", items: plain(redactor.object(objects)) }], "yaml"),
        ),
    };
    summary = headerText(run);
    io.stdout(summary);
    results = [];
    for (const part of PARTS) {
      const before = archive.entries.length;
      const outcome = await runPart(part, diagnoseContext);
      // Messages can quote what a part read: the same redaction as the files.
      const shown = {
        ...outcome,
        summary: redactor.text(outcome.summary),
        ...(outcome.details === undefined
          ? {}
          : { details: outcome.details.map((line) => redactor.text(line)) }),
      };
      results.push({
        name: part.name,
        ...shown,
        files: archive.entries.slice(before).map((entry) => entry.path),
      });
      const text = partText(part.name, shown);
      summary += text;
      io.stdout(text);
    }
    await write("summary.txt", summary);
    await write("manifest.json", manifestText(run, results, archive.entries));
  } catch (error) {
    archive.abandon();
    throw error;
  }
  const bytes = await archive.close();
  io.stdout(
    `\nWrote ${out} (${archive.entries.length} files, ${Math.ceil(bytes / 1024)} KiB). Secret values are redacted; read it before you send it.\n`,
  );
  if (!collectedAnything(results)) {
    throw new AgentStackError(
      "ASK_DIAGNOSE_NOTHING_COLLECTED",
      `nothing could be collected from ${run.cluster} (namespace ${namespace}); the archive holds only the summary above`,
    );
  }
  return 0;
}

async function runPart(part: Part, context: DiagnoseContext): Promise<PartOutcome> {
  try {
    return await part.run(context);
  } catch (error) {
    if (error instanceof PartSkipped) return { status: "skipped", summary: error.message };
    return { status: "not-collected", summary: error instanceof Error ? error.message : String(error) };
  }
}

/** The client's objects as the API sends them: plain JSON, times as strings. */
function plain(objects: unknown): unknown {
  return JSON.parse(JSON.stringify(objects)) as unknown;
}

/** `20250102-150405`, UTC. */
function stamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
}
