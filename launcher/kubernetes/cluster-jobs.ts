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
import { BatchV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { Registry } from "prom-client";
import { callKube } from "../../runtime/kube.ts";
import type { Logger } from "../../runtime/logger.ts";
import type { Config } from "../../src/config/types.ts";
import type { ClusterJobs } from "../types.ts";
import { createInformer, type Informer } from "./informer.ts";
import { type JobSnapshot, jobSnapshot } from "./job-snapshot.ts";
import { kubernetesMetrics } from "./metrics.ts";
import { stackLabelSelector } from "./selector.ts";

export interface ClusterJobsOptions {
  readonly kubeConfig: KubeConfig;
  readonly config: Pick<Config, "namespace" | "id">;
  readonly logger: Logger;
  readonly registry: Registry;
  /** Bound on each list call; default 60 s. */
  readonly listTimeoutMs?: number;
  /** Restart back-off after a failed list or watch; defaults 1 s doubling to 30 s. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

export interface StackJobs extends ClusterJobs {
  /** The Job informer, for the watchers. */
  readonly jobs: Informer<JobSnapshot>;
  /** The first list arrived and the watch is up (for /readyz). */
  ready(): boolean;
  notReadyReason(): string | undefined;
  start(): void;
  stop(): Promise<void>;
}

const DEFAULT_LIST_TIMEOUT_MS = 60_000;

export function createClusterJobs(options: ClusterJobsOptions): StackJobs {
  const { namespace } = options.config;
  const api = options.kubeConfig.makeApiClient(BatchV1Api);
  const labelSelector = stackLabelSelector(options.config);
  const listTimeoutMs = options.listTimeoutMs ?? DEFAULT_LIST_TIMEOUT_MS;
  const metrics = kubernetesMetrics(options.registry);
  const jobs = createInformer<JobSnapshot>({
    kubeConfig: options.kubeConfig,
    path: `/apis/batch/v1/namespaces/${encodeURIComponent(namespace)}/jobs`,
    what: "Jobs",
    labelSelector,
    list: async (signal) => {
      const result = await callKube(
        `list the Jobs of namespace ${namespace}`,
        (config) =>
          api.listNamespacedJob(
            { namespace, labelSelector, timeoutSeconds: Math.ceil(listTimeoutMs / 1000) },
            config,
          ),
        { signal, timeoutMs: listTimeoutMs, retry: { attempts: 1, initialDelayMs: 0, maxDelayMs: 0 } },
      );
      return { items: result.items, resourceVersion: result.metadata?.resourceVersion ?? "" };
    },
    transform: jobSnapshot,
    nameOf: (job) => job.name,
    versionOf: (job) => job.resourceVersion,
    logger: options.logger,
    onRestart: () => metrics.informer.restarts.inc({ resource: "jobs" }),
    ...(options.initialBackoffMs === undefined ? {} : { initialBackoffMs: options.initialBackoffMs }),
    ...(options.maxBackoffMs === undefined ? {} : { maxBackoffMs: options.maxBackoffMs }),
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
