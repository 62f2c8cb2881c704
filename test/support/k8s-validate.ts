/**
 * Validates Kubernetes objects the way kube-apiserver would on create, so the tests can prove that
 * every Job the project produces is accepted: the schema checks of strict field validation, then the
 * API server's own validation for the parts of a Job we build. Driven by the full OpenAPI document,
 * independently of the generated table the production code uses.
 */
import { expect } from "vitest";
import { hasDefinition } from "./k8s-openapi.ts";
import { JOB_DEFINITION, semanticProblems } from "./k8s-semantics.ts";
import { structuralProblems } from "./k8s-structural.ts";

/**
 * Every problem found in `object` read as the OpenAPI definition `definitionName`, one line each as
 * `path: problem`; an empty list means valid.
 */
export function validateK8sObject(object: unknown, definitionName: string = JOB_DEFINITION): string[] {
  if (!hasDefinition(definitionName)) {
    throw new Error(`the Kubernetes OpenAPI document has no definition ${definitionName}`);
  }
  const problems = [
    ...structuralProblems(object, definitionName),
    ...semanticProblems(object, definitionName),
  ];
  // Both layers may report the same missing field; say it once.
  return [...new Set(problems)];
}

/** Fails the current test, listing every problem, unless `job` is a valid `batch/v1` Job. */
export function expectValidJob(job: unknown): void {
  const problems = validateK8sObject(job);
  expect(problems, `the Job would be rejected by Kubernetes:\n  ${problems.join("\n  ")}\n`).toEqual([]);
}
