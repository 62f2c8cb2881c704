/**
 * Fails a Buildkite job through the Stacks API, as upstream HEAD does (controller-runtime.md §8): one
 * `POST stacks/{key}/jobs/{uuid}/finish` with `exit_status: -1` and the reason as `detail` (cropped to
 * 4096 bytes), with the Stacks API's default retries. No throw-away agent is registered: the job need
 * only be scheduled or reserved.
 *
 * When Buildkite refuses for good because the job cannot be finished any more (422 or 409: an agent has
 * it, or it is over; 404: it is gone), the failer throws `JobAcquisitionRejectedError`, the signal the
 * launcher already reads as "no longer ours to fail": the job is not tried again.
 */
import type { Logger } from "../../runtime/logger.ts";
import { type FailJobRequest, JobAcquisitionRejectedError, type JobFailer } from "../types.ts";
import type { StackSession } from "./stack-session.ts";
import { isStacksApiError, type StacksApiClient } from "./stacks-api.ts";

/** Statuses with which Buildkite says the job is not (any more) one the stack can finish. */
const NOT_FINISHABLE: ReadonlySet<number> = new Set([404, 409, 422]);

export interface StacksJobFailerOptions {
  readonly client: Pick<StacksApiClient, "finishJob">;
  readonly session: Pick<StackSession, "key">;
  readonly logger: Logger;
}

export class StacksJobFailer implements JobFailer {
  readonly #options: StacksJobFailerOptions;

  constructor(options: StacksJobFailerOptions) {
    this.#options = options;
  }

  /** `agentName` and `tags` of the request are not needed: the stack finishes the job itself. */
  async failJob(request: FailJobRequest, signal: AbortSignal): Promise<void> {
    const { client, session, logger } = this.#options;
    try {
      await client.finishJob(session.key, request.uuid, request.message, signal);
    } catch (error) {
      if (isStacksApiError(error) && error.status !== undefined && NOT_FINISHABLE.has(error.status)) {
        throw new JobAcquisitionRejectedError(
          `Buildkite refused to finish the job, which is no longer scheduled or reserved: ${error.message}`,
          { cause: error },
        );
      }
      throw error;
    }
    logger.info(
      { jobUuid: request.uuid },
      "failed the Buildkite job (exit status -1) with the reason as its detail",
    );
  }
}
