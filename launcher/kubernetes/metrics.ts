/**
 * The metrics of the Kubernetes side of the launcher, named as upstream names them (prefix
 * `buildkite_`, controller-runtime.md §6.2 and §6.3) where a counterpart exists, so dashboards carry
 * over. One set per registry: the watchers share it (the cancel checker counts its deletions with the
 * pod and job watchers, as upstream's batch checker does).
 */
import { Counter, Gauge, type Registry } from "prom-client";

function create(registry: Registry) {
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers });
  const gauge = (name: string, help: string) => new Gauge({ name, help, registers });
  return {
    informer: {
      restarts: counter("buildkite_informer_restarts_total", "informer list/watch restarts after a failure", [
        "resource",
      ]),
    },
    creator: {
      createErrors: counter(
        "buildkite_scheduler_job_create_errors_total",
        "Job creates that failed, by Kubernetes StatusReason (webhook denials are BadRequest or Forbidden)",
        ["reason"],
      ),
    },
    agentToken: {
      reads: counter("buildkite_agent_token_reads_total", "reads of the agent token Secret", ["result"]),
    },
    jobWatcher: {
      onAdd: counter("buildkite_job_watcher_onadd_events_total", "Job add events"),
      onUpdate: counter("buildkite_job_watcher_onupdate_events_total", "Job update events"),
      onDelete: counter("buildkite_job_watcher_ondelete_events_total", "Job delete events"),
      stalling: gauge("buildkite_job_watcher_num_stalling_jobs", "started Jobs without a pod, watched"),
      ignored: gauge("buildkite_job_watcher_num_ignored_jobs", "Jobs the job watcher is done with"),
      finishedWithoutPod: counter(
        "buildkite_job_watcher_jobs_finished_without_pod_total",
        "Jobs that finished without ever having a pod",
      ),
      stalledWithoutPod: counter(
        "buildkite_job_watcher_jobs_stalled_without_pod_total",
        "Jobs without a pod past empty-job-grace-period",
      ),
      failedBeforeAgentAcquire: counter(
        "buildkite_job_watcher_jobs_failed_before_agent_acquire_total",
        "Buildkite jobs failed because their Job failed before an agent acquired them",
      ),
      failed: counter("buildkite_job_watcher_jobs_failed_on_buildkite_total", "Buildkite jobs failed"),
      failErrors: counter(
        "buildkite_job_watcher_job_fail_on_buildkite_errors_total",
        "attempts to fail a Buildkite job that did not succeed",
      ),
      cleanupSkipped: counter(
        "buildkite_job_watcher_stalled_cleanup_skipped_total",
        "stalled or podless Jobs left alone after confirming",
        ["reason"],
      ),
      deleted: counter(
        "buildkite_job_watcher_jobs_forcefully_deleted_total",
        "Jobs deleted (grace 0, background propagation)",
        ["delete_reason"],
      ),
      deleteErrors: counter(
        "buildkite_job_watcher_jobs_forceful_deletion_errors_total",
        "Job deletes that failed",
        ["delete_reason", "error_reason"],
      ),
    },
    podWatcher: {
      onAdd: counter("buildkite_pod_watcher_onadd_events_total", "pod add events"),
      onUpdate: counter("buildkite_pod_watcher_onupdate_events_total", "pod update events"),
      onDelete: counter("buildkite_pod_watcher_ondelete_events_total", "pod delete events"),
      ignored: gauge("buildkite_pod_watcher_num_ignored_jobs", "jobs the pod watcher is done with"),
      watchingForImageFailure: gauge(
        "buildkite_pod_watcher_num_watching_for_image_failure",
        "pods watched for image pull failures and pending timeouts",
      ),
      cancelCheckers: gauge(
        "buildkite_pod_watcher_num_job_cancel_checkers",
        "pending pods and podless Jobs whose Buildkite state is checked for cancellation",
      ),
      failed: counter("buildkite_pod_watcher_jobs_failed_on_buildkite_total", "Buildkite jobs failed"),
      failErrors: counter(
        "buildkite_pod_watcher_job_fail_on_buildkite_errors_total",
        "attempts to fail a Buildkite job that did not succeed",
      ),
      cancelled: counter(
        "buildkite_pod_watcher_jobs_cancelled_on_buildkite_total",
        "Buildkite jobs cancelled because failing them was refused while an agent ran them",
      ),
      cancelErrors: counter(
        "buildkite_pod_watcher_job_cancel_on_buildkite_errors_total",
        "cancels that did not succeed",
      ),
      deleted: counter(
        "buildkite_pod_watcher_jobs_forcefully_deleted_total",
        "Jobs deleted with their pods (grace 0, background propagation)",
        ["delete_reason"],
      ),
      deleteErrors: counter(
        "buildkite_pod_watcher_jobs_forceful_deletion_errors_total",
        "Job deletes that failed",
        ["delete_reason", "error_reason"],
      ),
    },
    completionWatcher: {
      onAdd: counter("buildkite_completion_watcher_onadd_events_total", "pod add events"),
      onUpdate: counter("buildkite_completion_watcher_onupdate_events_total", "pod update events"),
      cleanups: counter(
        "buildkite_completion_watcher_cleanups_total",
        "Jobs given activeDeadlineSeconds after their agent finished",
      ),
      cleanupErrors: counter(
        "buildkite_completion_watcher_cleanup_errors_total",
        "activeDeadlineSeconds updates that failed",
        ["reason"],
      ),
    },
  };
}

export type KubernetesMetrics = ReturnType<typeof create>;

const byRegistry = new WeakMap<Registry, KubernetesMetrics>();

export function kubernetesMetrics(registry: Registry): KubernetesMetrics {
  let metrics = byRegistry.get(registry);
  if (metrics === undefined) {
    metrics = create(registry);
    byRegistry.set(registry, metrics);
  }
  return metrics;
}
