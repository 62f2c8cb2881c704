/**
 * The pipeline's own metrics (the watchers register theirs), named as upstream names them (prefix
 * `buildkite_`, controller-runtime.md §6) where a counterpart exists, so dashboards carry over.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** Latency buckets from 10 ms to 10 min: a create normally takes well under a second. */
const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export function createLauncherMetrics(registry: Registry, inFlight: () => number, maxInFlight: number) {
  const registers = [registry];
  return {
    monitorUp: new Gauge({
      name: "buildkite_monitor_monitor_up",
      help: "1 while the poll loop runs",
      registers,
    }),
    queries: new Counter({
      name: "buildkite_monitor_job_queries_total",
      help: "polls of Buildkite",
      registers,
    }),
    queryErrors: new Counter({
      name: "buildkite_monitor_job_query_errors_total",
      help: "failed polls",
      registers,
    }),
    queryDuration: new Histogram({
      name: "buildkite_monitor_job_query_seconds",
      help: "duration of a poll, all pages",
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    jobsReturned: new Counter({
      name: "buildkite_monitor_jobs_returned_total",
      help: "jobs returned by polls",
      registers,
    }),
    jobsFiltered: new Counter({
      name: "buildkite_monitor_jobs_filtered_out_total",
      help: "jobs whose agent query rules are not all tags of this launcher",
      registers,
    }),
    jobsHandled: new Counter({
      name: "buildkite_monitor_jobs_handled_total",
      help: "jobs handed to the scheduler",
      registers,
    }),
    queueLength: new Gauge({
      name: "buildkite_limiter_work_queue_length",
      help: "scheduled jobs waiting for a Job to be created",
      registers,
    }),
    waitingForCapacity: new Gauge({
      name: "buildkite_limiter_waiting_for_token",
      help: "1 while jobs wait because max-in-flight Jobs are unfinished",
      registers,
    }),
    maxInFlight: new Gauge({
      name: "buildkite_limiter_max_in_flight",
      help: "max-in-flight (0: no limit)",
      registers,
      collect() {
        this.set(maxInFlight);
      },
    }),
    inFlight: new Gauge({
      name: "buildkite_limiter_jobs_in_flight",
      help: "unfinished Jobs of this stack in the cluster, plus creates under way",
      registers,
      collect() {
        this.set(inFlight());
      },
    }),
    createCalls: new Counter({
      name: "buildkite_scheduler_job_create_calls_total",
      help: "creates of skeleton Jobs",
      registers,
    }),
    createOutcomes: new Counter({
      name: "buildkite_scheduler_job_create_outcomes_total",
      help: "creates by outcome: created, exists, denied, invalid, retry",
      labelNames: ["outcome"],
      registers,
    }),
    createRetries: new Counter({
      name: "buildkite_scheduler_job_create_retries_total",
      help: "jobs put back for later after an outage of ours (webhook, API server) or a failed fail",
      registers,
    }),
    failedOnBuildkite: new Counter({
      name: "buildkite_scheduler_jobs_failed_on_buildkite_total",
      help: "Buildkite jobs failed because their Job was refused",
      registers,
    }),
    failOnBuildkiteErrors: new Counter({
      name: "buildkite_scheduler_job_fail_on_buildkite_errors_total",
      help: "attempts to fail a Buildkite job that did not succeed",
      registers,
    }),
    endToEnd: new Histogram({
      name: "buildkite_job_end_to_end_seconds",
      help: "from the first poll that returned a job to its Job being created",
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    scheduledToCreated: new Histogram({
      name: "buildkite_job_scheduled_to_created_seconds",
      help: "from Buildkite scheduling a job to its Job being created",
      buckets: LATENCY_BUCKETS,
      registers,
    }),
  };
}

export type LauncherMetrics = ReturnType<typeof createLauncherMetrics>;
