/**
 * What the launcher keeps of a Job in its informer cache: only the fields the in-flight count and the
 * watchers read (upstream HEAD strips its cache the same way), so thousands of expanded Jobs, each with
 * a full pod spec, cost little memory.
 */
import {
  count,
  fields,
  jobUuidOf,
  labelsOf,
  list,
  optionalNumber,
  tagsOf,
  text,
  time,
} from "./object-fields.ts";

export interface JobCondition {
  readonly type: string;
  readonly status: string;
  readonly reason: string;
}

export interface JobSnapshot {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly resourceVersion: string;
  /** The `buildkite.com/job-uuid` label; `""` when absent. */
  readonly uuid: string;
  /** `k=v` from the `tag.buildkite.com/<k>` labels, sorted. */
  readonly tags: readonly string[];
  readonly suspended: boolean;
  readonly activeDeadlineSeconds: number | undefined;
  /** Milliseconds since the epoch. */
  readonly startTime: number | undefined;
  readonly active: number;
  readonly failed: number;
  readonly succeeded: number;
  readonly terminating: number;
  /** Pods that ended but that the Job controller has not counted in `failed`/`succeeded` yet. */
  readonly uncounted: number;
  readonly conditions: readonly JobCondition[];
  /** A `Complete` or `Failed` condition, whatever its status (upstream's rule, controller-runtime.md §2.4). */
  readonly finished: boolean;
}

/** The snapshot of a Job, or undefined for an object without a name. */
export function jobSnapshot(object: unknown): JobSnapshot | undefined {
  const job = fields(object);
  const metadata = fields(job.metadata);
  const spec = fields(job.spec);
  const status = fields(job.status);
  const name = text(metadata.name);
  if (name === "") return undefined;
  const labels = labelsOf(metadata);
  const conditions = list(status.conditions).map((condition) => ({
    type: text(condition.type),
    status: text(condition.status),
    reason: text(condition.reason),
  }));
  const uncounted = fields(status.uncountedTerminatedPods);
  return {
    name,
    namespace: text(metadata.namespace),
    uid: text(metadata.uid),
    resourceVersion: text(metadata.resourceVersion),
    uuid: jobUuidOf(labels),
    tags: tagsOf(labels),
    suspended: spec.suspend === true,
    activeDeadlineSeconds: optionalNumber(spec.activeDeadlineSeconds),
    startTime: time(status.startTime),
    active: count(status.active),
    failed: count(status.failed),
    succeeded: count(status.succeeded),
    terminating: count(status.terminating),
    uncounted: list(uncounted.succeeded).length + list(uncounted.failed).length,
    conditions,
    finished: conditions.some((condition) => condition.type === "Complete" || condition.type === "Failed"),
  };
}

/**
 * Pods the Job has or had, as far as its status says: active, ended (counted or not) and terminating
 * (upstream HEAD counts terminating pods too, so a Job whose pod is being deleted is not "podless").
 */
export function podCount(job: JobSnapshot): number {
  return job.active + job.failed + job.succeeded + job.uncounted + job.terminating;
}
