import { expect } from "vitest";
import { type BuildkiteJob, jobEnv } from "../../src/buildkite/job.ts";
import { type PipelineToJobsOptions, pipelineToJobs } from "../../src/buildkite/pipeline.ts";
import { AgentStackError, type ErrorCode } from "../../src/errors.ts";

/** Deterministic job uuids: `00000000-0000-4000-8000-000000000001`, `…002`, … */
export function uuidCounter(): () => string {
  let count = 0;
  return () => {
    count += 1;
    return `00000000-0000-4000-8000-${String(count).padStart(12, "0")}`;
  };
}

export function uuid(n: number): string {
  return `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
}

export function jobsOf(yamlText: string, options: Partial<PipelineToJobsOptions> = {}): BuildkiteJob[] {
  return pipelineToJobs(yamlText, {
    newUuid: uuidCounter(),
    defaultAgentQueryRules: ["queue=kubernetes"],
    ...options,
  });
}

/** The one job a pipeline gives. */
export function onlyJob(yamlText: string, options: Partial<PipelineToJobsOptions> = {}): BuildkiteJob {
  const jobs = jobsOf(yamlText, options);
  expect(jobs).toHaveLength(1);
  return jobs[0]!;
}

export function envOf(job: BuildkiteJob): Record<string, string> {
  return Object.fromEntries(jobEnv(job));
}

/** Runs `action`, expects an AgentStackError with `code`, and returns it. */
export function caught(action: () => unknown, code: ErrorCode): AgentStackError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(AgentStackError);
    const agentStackError = error as AgentStackError;
    expect(agentStackError.code).toBe(code);
    return agentStackError;
  }
  throw new Error(`expected ${code}, but nothing was thrown`);
}
