/**
 * The completion watcher (`enable-completion-watcher`, controller-runtime.md §2.8 with HEAD's changes):
 * when a pod's `agent` container has terminated, the job is over for Buildkite, but sidecars (a
 * database, a Docker daemon) keep the pod, and so the Job, running. Setting the Job's
 * `activeDeadlineSeconds` to `default-termination-grace-period-seconds` makes Kubernetes stop them:
 * the deadline counts from the Job's start, so it has passed, and the Job ends `Failed` with reason
 * `DeadlineExceeded`, which the job watcher leaves alone (the pod exists and the agent reported).
 *
 * Pods already `Succeeded`, `Failed` or `Unknown` are skipped, as HEAD skips them; a Job is only ever
 * given a shorter deadline, never a longer one. Each pod is handled once; a failed update is tried
 * again at the pod's next event.
 */
import type { Registry } from "prom-client";
import type { Informer, InformerEvent } from "../../runtime/informer.ts";
import type { Logger } from "../../runtime/logger.ts";
import { isJobUuid } from "../../src/buildkite/job.ts";
import type { Config } from "../../src/config/types.ts";
import type { ClusterApi } from "./cluster-api.ts";
import { createKeyedTasks } from "./keyed-tasks.ts";
import { kubernetesMetrics } from "./metrics.ts";
import type { PodSnapshot } from "./pod-snapshot.ts";

export interface CompletionWatcherOptions {
  readonly pods: Informer<PodSnapshot>;
  readonly api: ClusterApi;
  readonly config: Pick<Config, "enableCompletionWatcher" | "defaultTerminationGracePeriodSeconds">;
  readonly logger: Logger;
  readonly registry: Registry;
}

export interface CompletionWatcher {
  start(): void;
  settled(): Promise<void>;
  stop(): Promise<void>;
}

export function createCompletionWatcher(options: CompletionWatcherOptions): CompletionWatcher {
  const { pods, api, logger, config } = options;
  const metrics = kubernetesMetrics(options.registry).completionWatcher;
  const tasks = createKeyedTasks(logger, "completion watcher");
  /** Pods (by uid) whose Job has been given its deadline. */
  const done = new Set<string>();
  let unsubscribe: (() => void) | undefined;

  function onEvent(event: InformerEvent<PodSnapshot>): void {
    const pod = event.object;
    if (event.type === "delete") {
      done.delete(pod.uid);
      return;
    }
    metrics[event.type === "add" ? "onAdd" : "onUpdate"].inc();
    if (!isJobUuid(pod.uuid) || done.has(pod.uid)) return;
    if (pod.phase === "Succeeded" || pod.phase === "Failed" || pod.phase === "Unknown") return;
    const agent = pod.containers.find((container) => container.name === "agent");
    if (agent?.terminated === undefined || pod.jobName === "") return;
    tasks.run(pod.uid, async (signal) => {
      const seconds = config.defaultTerminationGracePeriodSeconds;
      const log = { jobUuid: pod.uuid, job: pod.jobName, pod: pod.name, activeDeadlineSeconds: seconds };
      logger.debug(log, "agent finished");
      try {
        const result = await api.setJobDeadline(pod.jobName, pod.jobUid, seconds, signal);
        done.add(pod.uid);
        if (result === "set") {
          metrics.cleanups.inc();
          logger.info(log, "the agent finished: gave the Job a deadline so that its sidecars are stopped");
        }
      } catch (error) {
        const kind = (error as { kind?: unknown }).kind;
        metrics.cleanupErrors.inc({ reason: typeof kind === "string" ? kind : "Other" });
        logger.warn(
          { ...log, err: (error as Error).message },
          "setting the Job's deadline failed: trying again at the pod's next change",
        );
      }
    });
  }

  return {
    start() {
      if (!config.enableCompletionWatcher || unsubscribe !== undefined) return;
      unsubscribe = pods.subscribe(onEvent);
      for (const pod of pods.list()) onEvent({ type: "add", object: pod });
    },
    settled: () => tasks.settled(),
    async stop() {
      unsubscribe?.();
      await tasks.stop();
    },
  };
}
