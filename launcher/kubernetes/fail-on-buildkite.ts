/**
 * Failing a Buildkite job from a watcher, once: the shared ledger makes sure no two watchers (and no
 * two events) fail the same job, and a job that cannot be acquired any more is never tried again.
 *
 * When Buildkite refuses (the acquire's 422, or the Stacks API's finish: `JobAcquisitionRejectedError`),
 * the job is no longer ours to fail: an agent has it, or it is over. On the image-failure path the agent
 * that has it is the one in our pod, waiting for containers that will never start; that case is
 * `onRejected: "cancel-if-running"`, and only applies when an agent runs the job. With the GraphQL
 * source, upstream v0.26.0 cancels the job (§2.7.1). The Stacks API has no cancel: the job fails when
 * the agent gives up on its containers, and, as upstream HEAD does, a stack notification on the job's
 * page says why meanwhile (`reportAgentOwned`). Elsewhere the agent that has the job may be anyone's, so
 * the refusal is logged and that is all. Either way the job stays in the ledger: no loop.
 */
import type { Counter } from "prom-client";
import type { Logger } from "../../runtime/logger.ts";
import {
  JobAcquisitionRejectedError,
  type JobFailer,
  type JobNotifier,
  type JobSource,
  type JobState,
} from "../types.ts";
import type { FailureLedger } from "./failure-ledger.ts";
import { RUNNING_STATES } from "./job-states.ts";

export interface BuildkiteFailure {
  readonly uuid: string;
  /** The Job's name: the throw-away agent registers with it. */
  readonly jobName: string;
  /** `k=v` from the object's `tag.buildkite.com/*` labels. */
  readonly tags: readonly string[];
  readonly message: string;
  /** For the log line: what happened (`image pull failure`, `stalled without a pod`…). */
  readonly what: string;
  /** For the job's page when an agent already runs the job and it cannot be cancelled (Stacks API). */
  readonly agentNote?: string;
}

export type FailOutcome = "failed" | "already-failed" | "not-acquirable" | "cancelled";

export interface FailDependencies {
  readonly failer: JobFailer;
  readonly source: JobSource;
  readonly ledger: FailureLedger;
  /** Stack notifications (Stacks API); absent with the GraphQL source. */
  readonly notifier?: JobNotifier;
  readonly logger: Logger;
  readonly counters: {
    readonly failed: Counter;
    readonly failErrors: Counter;
    readonly cancelled?: Counter;
    readonly cancelErrors?: Counter;
  };
}

/** Throws when failing did not work for another reason (the claim is given back for a later try). */
export async function failOnBuildkite(
  deps: FailDependencies,
  failure: BuildkiteFailure,
  onRejected: "cancel-if-running" | "log",
  signal: AbortSignal,
): Promise<FailOutcome> {
  const { uuid } = failure;
  const log = { jobUuid: uuid, job: failure.jobName, reason: failure.what };
  if (!deps.ledger.claim(uuid)) return "already-failed";
  try {
    await deps.failer.failJob(
      { uuid, agentName: failure.jobName, tags: failure.tags, message: failure.message },
      signal,
    );
  } catch (error) {
    deps.counters.failErrors.inc();
    if (!(error instanceof JobAcquisitionRejectedError)) {
      deps.ledger.release(uuid);
      throw error;
    }
    deps.logger.info(
      { ...log, err: error.message },
      "Buildkite refused to let the job be acquired to fail it: it is no longer acquirable",
    );
    if (onRejected === "cancel-if-running" && (await cancelIfRunning(deps, failure, signal)))
      return "cancelled";
    return "not-acquirable";
  }
  deps.counters.failed.inc();
  deps.logger.info(log, "failed the Buildkite job");
  return "failed";
}

async function cancelIfRunning(
  deps: FailDependencies,
  failure: BuildkiteFailure,
  signal: AbortSignal,
): Promise<boolean> {
  const log = { jobUuid: failure.uuid, job: failure.jobName };
  try {
    const state = await deps.source.jobState(failure.uuid, signal);
    if (state === undefined || !RUNNING_STATES.has(state)) return false;
    if (deps.source.cancelJob === undefined) {
      reportAgentOwned(deps, failure, state);
      return false;
    }
    deps.logger.info(
      { ...log, state },
      "an agent runs the job while its pod cannot pull images: cancelling it",
    );
    await deps.source.cancelJob(failure.uuid, signal);
    deps.counters.cancelled?.inc();
    return true;
  } catch (error) {
    deps.counters.cancelErrors?.inc();
    deps.logger.warn({ ...log, err: (error as Error).message }, "cancelling the Buildkite job failed");
    return false;
  }
}

/**
 * An agent runs the job while its pod cannot start its containers, and the job cannot be cancelled
 * from here (the Stacks API has no cancel): the agent fails it once it gives up waiting. What is wrong
 * goes to the job's page as a stack notification, when there is a notifier and something to say.
 */
export function reportAgentOwned(
  deps: Pick<FailDependencies, "notifier" | "logger">,
  failure: Pick<BuildkiteFailure, "uuid" | "jobName" | "agentNote">,
  state: JobState,
): void {
  const log = { jobUuid: failure.uuid, job: failure.jobName, state };
  if (deps.notifier === undefined || failure.agentNote === undefined) {
    deps.logger.info(
      log,
      "an agent has the job already: it reports the failure, so the job is not failed from here",
    );
    return;
  }
  deps.notifier.notify(failure.uuid, failure.agentNote);
  deps.logger.info(
    log,
    "an agent has the job but its pod cannot start its containers; the Stacks API cannot cancel a job, so the job fails when the agent gives up (noted on the job's page)",
  );
}
