/**
 * The label selector of every list and watch of the launcher, as upstream HEAD writes it: the Jobs and
 * pods that carry a Buildkite job uuid and belong to this stack, that is `buildkite.com/controller-id`
 * equal to `id`, or no such label when `id` is empty.
 *
 * Upstream v0.26.0 selected on every controller tag as a `tag.buildkite.com/<k>` label instead (quirk
 * Q2): a job that asked for fewer tags than the controller has got a Job no informer saw, so its
 * in-flight slot and dedupe entry leaked and no watcher covered it.
 */

import { LABEL_JOB_UUID } from "../../src/admission/contract.ts";
import type { Config } from "../../src/config/types.ts";
import { LABEL_CONTROLLER_ID } from "../../src/expand/metadata.ts";

export function stackLabelSelector(config: Pick<Config, "id">): string {
  return config.id === ""
    ? `${LABEL_JOB_UUID},!${LABEL_CONTROLLER_ID}`
    : `${LABEL_JOB_UUID},${LABEL_CONTROLLER_ID}=${config.id}`;
}
