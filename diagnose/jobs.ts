/**
 * The Jobs of Buildkite jobs and their pods: those of the jobs given with `--job` (by their
 * `buildkite.com/job-uuid` label), or else every one of this stack, selected as the launcher selects
 * them (its `id`, from the configuration).
 */
import type { V1Job } from "@kubernetes/client-node";
import { stackLabelSelector } from "../launcher/kubernetes/selector.ts";
import { LABEL_JOB_UUID } from "../src/admission/contract.ts";
import type { DiagnoseContext, Part, PartOutcome } from "./part.ts";

export const jobsPart: Part = {
  name: "jobs",
  async run(context: DiagnoseContext): Promise<PartOutcome> {
    const { namespace, jobs: uuids } = context.options;
    const { selector, which } = selection(context);
    const jobs = await context.cluster.listJobs(namespace, selector);
    const pods = await context.cluster.listPods(namespace, selector);
    context.found.jobs = jobs.items;
    context.found.jobPods = pods.items;
    await context.writeObjects("jobs/jobs.yaml", jobs.items);
    await context.writeObjects("jobs/pods.yaml", pods.items);
    const states = countStates(jobs.items);
    const truncated = jobs.truncated || pods.truncated ? " (more exist: the lists were cut)" : "";
    const summary = `${which}: ${jobs.items.length} Jobs${states}, ${pods.items.length} pods${truncated}`;
    const missing = uuids.filter(
      (uuid) => !jobs.items.some((job) => job.metadata?.labels?.[LABEL_JOB_UUID] === uuid),
    );
    if (missing.length === 0) return { status: "ok", summary };
    return {
      status: "problem",
      summary,
      details: missing.map(
        (uuid) =>
          `job ${uuid}: no Job in ${namespace} (not created yet, created in another namespace, or deleted after it finished: job-ttl)`,
      ),
    };
  },
};

function selection(context: DiagnoseContext): { selector: string; which: string } {
  const { jobs } = context.options;
  if (jobs.length > 0) {
    return {
      selector: `${LABEL_JOB_UUID} in (${jobs.join(",")})`,
      which: jobs.length === 1 ? "the job asked for" : `the ${jobs.length} jobs asked for`,
    };
  }
  const config = context.found.config;
  if (config === undefined) {
    return {
      selector: LABEL_JOB_UUID,
      which: "every Job with a job uuid (the configuration, which names this stack's, could not be read)",
    };
  }
  return { selector: stackLabelSelector(config), which: "the stack's" };
}

/** ` (2 running, 5 succeeded, 1 failed)`. */
function countStates(jobs: readonly V1Job[]): string {
  const counts = new Map<string, number>();
  for (const job of jobs) {
    const ended = job.status?.conditions?.find(
      (condition) =>
        (condition.type === "Complete" || condition.type === "Failed") && condition.status === "True",
    );
    const state = ended?.type === "Complete" ? "succeeded" : ended?.type === "Failed" ? "failed" : "running";
    counts.set(state, (counts.get(state) ?? 0) + 1);
  }
  if (counts.size === 0) return "";
  return ` (${["running", "succeeded", "failed"]
    .filter((state) => counts.has(state))
    .map((state) => `${counts.get(state)} ${state}`)
    .join(", ")})`;
}
