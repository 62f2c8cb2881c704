/**
 * Container logs of a set of pods, one file per container (`<dir>/<pod>/<container>.log`), with the
 * previous run's log beside it when the container restarted (`<container>.previous.log`): all
 * containers, init containers first, as `kubectl logs --all-containers` would. A container that has
 * not started has no log yet, which is a note, not a failure.
 */
import type { V1Pod } from "@kubernetes/client-node";
import { formatDuration, SECOND } from "../src/config/duration.ts";
import { LOG_LIMIT_BYTES } from "./cluster.ts";
import { eachLimited } from "./each-limited.ts";
import { type DiagnoseContext, needs, type Part, type PartOutcome } from "./part.ts";

/** The launcher's, the webhook's and the certificate keeper's logs, `--since` back. */
export const stackLogsPart: Part = {
  name: "stack logs",
  run: (context) =>
    collectLogs(context, needs(context.found.stackPods, "the stack's pods"), {
      directory: "stack/logs",
      sinceSeconds: context.options.sinceSeconds,
    }),
};

/** The whole logs of the pods of the jobs asked for with --job. */
export const jobLogsPart: Part = {
  name: "job logs",
  async run(context) {
    if (context.options.jobs.length === 0) {
      return { status: "skipped", summary: "give --job UUID for the logs of a job's pods" };
    }
    return collectLogs(context, needs(context.found.jobPods, "the jobs' pods"), { directory: "jobs/logs" });
  },
};

/** Log reads in flight at once: enough to be quick, few enough not to crowd the API server. */
const CONCURRENT_READS = 4;

interface LogTarget {
  readonly pod: string;
  readonly container: string;
  readonly previous: boolean;
}

export interface LogOptions {
  readonly directory: string;
  readonly sinceSeconds?: number | undefined;
}

export async function collectLogs(
  context: DiagnoseContext,
  pods: readonly V1Pod[],
  options: LogOptions,
): Promise<PartOutcome> {
  const targets = pods.flatMap(logTargets);
  const failed: string[] = [];
  const notStarted: string[] = [];
  let written = 0;
  await eachLimited(targets, CONCURRENT_READS, async (target) => {
    const file = `${options.directory}/${target.pod}/${target.container}${target.previous ? ".previous" : ""}.log`;
    try {
      const text = await context.cluster.podLog(context.options.namespace, target.pod, target.container, {
        previous: target.previous,
        ...(options.sinceSeconds === undefined ? {} : { sinceSeconds: options.sinceSeconds }),
      });
      const cut = Buffer.byteLength(text) >= LOG_LIMIT_BYTES;
      await context.write(
        file,
        cut ? `${text}\n[diagnose: the log was cut after ${LOG_LIMIT_BYTES} bytes]\n` : text,
      );
      written += 1;
    } catch (error) {
      const message = (error as Error).message;
      if (/is waiting to start/.test(message)) notStarted.push(`${target.pod}/${target.container}`);
      else failed.push(message);
    }
  });
  const since =
    options.sinceSeconds === undefined ? "" : `, the last ${formatDuration(options.sinceSeconds * SECOND)}`;
  const summary = `${written} logs of ${pods.length} pods${since}${notStarted.length > 0 ? `; not started yet: ${notStarted.join(", ")}` : ""}`;
  if (failed.length === 0) return { status: "ok", summary };
  return {
    status: written === 0 && notStarted.length === 0 ? "not-collected" : "partial",
    summary: `${summary}; ${failed.length} could not be read`,
    details: failed,
  };
}

function logTargets(pod: V1Pod): LogTarget[] {
  const name = pod.metadata?.name ?? "";
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  return containers.flatMap((container) => {
    const status = statuses.find((candidate) => candidate.name === container.name);
    const restarted = (status?.restartCount ?? 0) > 0 || status?.lastState?.terminated !== undefined;
    return [
      { pod: name, container: container.name, previous: false },
      ...(restarted ? [{ pod: name, container: container.name, previous: true }] : []),
    ];
  });
}
