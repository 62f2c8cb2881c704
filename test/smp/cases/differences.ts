import type { SmpCase } from "../support/cases.ts";

/**
 * Where we deliberately do not match kubectl 1.32. Fields newer than kubectl 1.32's compiled structs
 * follow the 1.36 schema (kubectl fails on them when both sides hold an object or a list); and Go
 * accepts a list for a pointer-typed non-list field, which the OpenAPI schema cannot recognise.
 */
export const DIFFERENCE_CASES: readonly SmpCase[] = [
  {
    name: "PodSpec.schedulingGroup (1.36 only) merges as an object",
    original: { schedulingGroup: { podGroupName: "a" } },
    patch: { schedulingGroup: { podGroupName: "b" } },
    expected: { schedulingGroup: { podGroupName: "b" } },
    kubectlDiffers:
      'kubectl 1.32: unable to find api field in struct PodSpec for the json field "schedulingGroup"',
  },
  {
    name: "Container.restartPolicyRules (1.36 only) is an atomic list",
    original: { containers: [{ name: "a", restartPolicyRules: [{ action: "Restart" }] }] },
    patch: { containers: [{ name: "a", restartPolicyRules: [] }] },
    expected: { containers: [{ name: "a", restartPolicyRules: [] }] },
    kubectlDiffers: "kubectl 1.32: unable to find api field in struct Container",
  },
  {
    name: "EnvVarSource.fileKeyRef (1.36 only) merges as an object",
    original: { containers: [{ name: "a", env: [{ name: "e", valueFrom: { fileKeyRef: { key: "k" } } }] }] },
    patch: { containers: [{ name: "a", env: [{ name: "e", valueFrom: { fileKeyRef: { path: "p" } } }] }] },
    expected: {
      containers: [{ name: "a", env: [{ name: "e", valueFrom: { fileKeyRef: { key: "k", path: "p" } } }] }],
    },
    kubectlDiffers: "kubectl 1.32: unable to find api field in struct EnvVarSource",
  },
  {
    name: "lists on both sides of a pointer-typed object field are rejected",
    original: { securityContext: [1] },
    patch: { securityContext: [2] },
    error:
      /\$\.securityContext: expected a list field, but PodSpec\.securityContext is struct PodSecurityContext/,
    kubectlDiffers: "kubectl replaces the list with the patch's: the field is a *PodSecurityContext in Go",
  },
];

/** Where kubectl has no single answer: Go visits the patch's keys in random order. */
export const NONDETERMINISTIC_CASES: readonly SmpCase[] = [
  {
    name: "a list and its $deleteFromPrimitiveList: merged first, then deleted",
    on: "metadata",
    original: { name: "p", finalizers: ["a"] },
    patch: { finalizers: ["b"], "$deleteFromPrimitiveList/finalizers": ["b"] },
    expected: { name: "p", finalizers: ["a"] },
  },
  {
    name: "a list and $deleteFromPrimitiveList: null: the list goes",
    on: "metadata",
    original: { name: "p", finalizers: ["a"] },
    patch: { finalizers: ["b"], "$deleteFromPrimitiveList/finalizers": null },
    expected: { name: "p" },
  },
];
