/**
 * The watchers, wired as upstream wires them (controller-runtime.md §2.1): one Pods informer shared by
 * the pod watcher, the cancel checker and the completion watcher; the Jobs informer of `ClusterJobs`
 * shared by the job watcher and the cancel checker; one Kubernetes client; one failure ledger, so a
 * Buildkite job is failed once whichever watcher sees its trouble first.
 *
 * pods informer → pod watcher (images, init containers, pods ending before the agent, pending timeout)
 *              → cancel checker ← jobs informer → job watcher (podless Jobs)
 *              → completion watcher (sidecars after the agent)
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { Registry } from "prom-client";
import type { Informer } from "../../runtime/informer.ts";
import type { Logger } from "../../runtime/logger.ts";
import type { Config } from "../../src/config/types.ts";
import type { JobFailer, JobNotifier, JobSource } from "../types.ts";
import { createCancelChecker } from "./cancel-checker.ts";
import type { Clock } from "./clock.ts";
import { createClusterApi } from "./cluster-api.ts";
import type { StackJobs } from "./cluster-jobs.ts";
import { createCompletionWatcher } from "./completion-watcher.ts";
import { createFailureLedger } from "./failure-ledger.ts";
import { createJobWatcher } from "./job-watcher.ts";
import { createPodInformer } from "./pod-informer.ts";
import type { PodSnapshot } from "./pod-snapshot.ts";
import { createPodWatcher } from "./pod-watcher.ts";

export interface KubernetesWatchersOptions {
  readonly kubeConfig: KubeConfig;
  readonly config: Pick<
    Config,
    | "namespace"
    | "id"
    | "imagePullBackoffGracePeriod"
    | "podPendingTimeout"
    | "emptyJobGracePeriod"
    | "jobCancelCheckerPollInterval"
    | "enableCompletionWatcher"
    | "defaultTerminationGracePeriodSeconds"
  >;
  /** The `ClusterJobs` the scheduler counts with: its Jobs informer is shared. */
  readonly jobs: StackJobs;
  readonly failer: JobFailer;
  readonly source: JobSource;
  /** Stack notifications (Stacks API): the pod watcher notes image failures of agent-owned jobs. */
  readonly notifier?: JobNotifier;
  /** Jobs per state request of the cancel checker (the source's batch size); default the checker's. */
  readonly stateBatchSize?: number;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly clock?: Clock;
}

export interface KubernetesWatchers {
  readonly pods: Informer<PodSnapshot>;
  /** Starts the Pods informer and every watcher (the Jobs informer is started with `ClusterJobs`). */
  start(): void;
  /** The Pods informer has listed and watches (for /readyz, with `ClusterJobs.ready`). */
  ready(): boolean;
  notReadyReason(): string | undefined;
  /** Runs every periodic check now (grace periods, retries, cancellations) and waits for what it starts. */
  checkNow(): Promise<void>;
  /** Stops the watchers, waits for the work under way, then stops the Pods informer. */
  stop(): Promise<void>;
}

export function createKubernetesWatchers(options: KubernetesWatchersOptions): KubernetesWatchers {
  const { kubeConfig, config, logger, registry, failer, source } = options;
  const clock = options.clock === undefined ? {} : { clock: options.clock };
  const api = createClusterApi({ kubeConfig, namespace: config.namespace });
  const pods = createPodInformer({ kubeConfig, config, logger, registry });
  const ledger = createFailureLedger(clock);
  const common = { api, logger, registry };
  const completionWatcher = createCompletionWatcher({ ...common, pods, config });
  const jobWatcher = createJobWatcher({
    ...common,
    ...clock,
    jobs: options.jobs.jobs,
    failer,
    source,
    ledger,
    config,
  });
  const notifier = options.notifier === undefined ? {} : { notifier: options.notifier };
  const podWatcher = createPodWatcher({
    ...common,
    ...clock,
    ...notifier,
    pods,
    failer,
    source,
    ledger,
    config,
  });
  const cancelChecker = createCancelChecker({
    ...common,
    pods,
    jobs: options.jobs.jobs,
    source,
    config,
    ...(options.stateBatchSize === undefined ? {} : { batchSize: options.stateBatchSize }),
  });
  const watchers = [completionWatcher, jobWatcher, podWatcher, cancelChecker];
  return {
    pods,
    start() {
      for (const watcher of watchers) watcher.start();
      pods.start();
    },
    ready: () => pods.ready(),
    async checkNow() {
      podWatcher.sweep();
      jobWatcher.sweep();
      await Promise.all([
        podWatcher.settled(),
        jobWatcher.settled(),
        cancelChecker.poll(),
        completionWatcher.settled(),
      ]);
    },
    notReadyReason: () => pods.notReadyReason(),
    async stop() {
      await Promise.all(watchers.map((watcher) => watcher.stop()));
      await pods.stop();
    },
  };
}
