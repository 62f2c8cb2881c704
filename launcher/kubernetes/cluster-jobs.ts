/**
 * The cluster as the truth about what is in flight (`ClusterJobs`): an informer on the Jobs of the
 * launcher's namespace that carry a Buildkite job uuid and belong to this stack (`stackLabelSelector`).
 * In flight = those without a `Complete` or `Failed` condition, whoever created them; a Job exists =
 * dedupe. Nothing is counted in memory apart from the cache itself, so nothing can leak: a Job that
 * finishes or goes away stops counting when the watch says so, and a restart of the launcher lists
 * them again.
 *
 * The informer is shared: the job watcher and the cancel checker subscribe to `jobs`.
 */
import type { Informer } from "../../runtime/informer.ts";
import type { ClusterJobs } from "../types.ts";
import { type JobSnapshot, jobSnapshot } from "./job-snapshot.ts";
import { createStackInformer, type StackInformerOptions } from "./stack-informer.ts";

export type ClusterJobsOptions = StackInformerOptions;

export interface StackJobs extends ClusterJobs {
  /** The Job informer, for the watchers. */
  readonly jobs: Informer<JobSnapshot>;
  /** The first list arrived and the watch is up (for /readyz). */
  ready(): boolean;
  notReadyReason(): string | undefined;
  start(): void;
  stop(): Promise<void>;
}

export function createClusterJobs(options: ClusterJobsOptions): StackJobs {
  const jobs = createStackInformer(options, {
    what: "Jobs",
    resource: "jobs",
    path: (namespace) => `/apis/batch/v1/namespaces/${encodeURIComponent(namespace)}/jobs`,
    transform: jobSnapshot,
    nameOf: (job) => job.name,
    versionOf: (job) => job.resourceVersion,
  });

  /** uuid → how many Jobs carry it (another tool may have labelled a second Job with the same uuid). */
  const byUuid = new Map<string, number>();
  let unfinished = 0;
  const listeners = new Set<() => void>();
  const track = (job: JobSnapshot, sign: 1 | -1) => {
    if (!job.finished) unfinished += sign;
    if (job.uuid === "") return;
    const next = (byUuid.get(job.uuid) ?? 0) + sign;
    if (next <= 0) byUuid.delete(job.uuid);
    else byUuid.set(job.uuid, next);
  };
  jobs.subscribe((event) => {
    if (event.type === "update") track(event.previous, -1);
    track(event.object, event.type === "delete" ? -1 : 1);
    for (const listener of [...listeners]) {
      try {
        listener();
      } catch (error) {
        options.logger.error({ err: error }, "a ClusterJobs listener failed; carrying on");
      }
    }
  });

  return {
    jobs,
    synced: (signal) => jobs.synced(signal),
    inFlight: () => unfinished,
    has: (uuid) => byUuid.has(uuid),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    ready: () => jobs.ready(),
    notReadyReason: () => jobs.notReadyReason(),
    start: () => jobs.start(),
    stop: () => jobs.stop(),
  };
}
