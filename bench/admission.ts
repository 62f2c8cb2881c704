/**
 * How expensive the pure core is per admission, as ratios against baselines measured
 * in the same run on the same machine (absolute numbers vary from machine to machine; ratios much
 * less). Never part of `npm test`.
 *
 * - admission: `admit` on a launcher skeleton of the example job (parse the annotation and the plugin,
 *   run every expansion step, diff to a JSON Patch), against the floor of any webhook: JSON-decoding the
 *   AdmissionReview body and encoding an answer.
 * - strategic merge patch: a typical step `podSpecPatch` on an expanded pod spec, against
 *   `structuredClone` of that pod spec (the copy any non-mutating merge has to make).
 */
import { readFileSync } from "node:fs";
import { admit } from "../src/admission/admit.ts";
import { buildSkeleton } from "../src/admission/skeleton.ts";
import { parseBuildkiteJob } from "../src/buildkite/job.ts";
import { loadConfig } from "../src/config/load.ts";
import { expandJob } from "../src/expand/index.ts";
import { createReview } from "../src/render/render-job.ts";
import { strategicMergePatch } from "../src/smp/index.ts";
import { record } from "./support/figures.ts";

interface Measurement {
  readonly name: string;
  readonly perSecond: number;
  readonly microseconds: number;
}

/** The median of several timed rounds, after a warm-up, so one GC pause does not decide. */
function measure(name: string, run: () => unknown, iterations = 2_000, rounds = 7): Measurement {
  for (let i = 0; i < iterations; i++) run();
  const perRound: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) run();
    perRound.push(Number(process.hrtime.bigint() - start) / iterations);
  }
  const nanoseconds = perRound.sort((a, b) => a - b)[Math.floor(rounds / 2)]!;
  return { name, perSecond: 1e9 / nanoseconds, microseconds: nanoseconds / 1000 };
}

function report(
  write: (text: string) => void,
  pair: string,
  subject: Measurement,
  baseline: Measurement,
): void {
  const ratio = subject.microseconds / baseline.microseconds;
  write(
    `${pair}\n` +
      `  ${subject.name.padEnd(44)} ${subject.microseconds.toFixed(1).padStart(9)} µs  ${Math.round(subject.perSecond).toLocaleString("en").padStart(9)}/s\n` +
      `  ${baseline.name.padEnd(44)} ${baseline.microseconds.toFixed(1).padStart(9)} µs  ${Math.round(baseline.perSecond).toLocaleString("en").padStart(9)}/s\n` +
      `  ratio ${ratio.toFixed(1)}× the baseline\n\n`,
  );
}

/** Runs both pairs and prints them; returns the time of one `admit`, for the webhook's composed floor. */
export function admissionBench(write: (text: string) => void): { admitSeconds: number } {
  const config = loadConfig({ args: [], env: {} }).config;
  const job = parseBuildkiteJob(
    JSON.parse(readFileSync(new URL("../examples/job.json", import.meta.url), "utf8")),
    "job.json",
  );
  const body = JSON.stringify(createReview(buildSkeleton(job, config), job.uuid));

  const admission = measure("admit (expand + JSON Patch)", () => admit(JSON.parse(body), { config }));
  const floor = measure("JSON.parse(review) + JSON.stringify(answer)", () =>
    JSON.stringify({ response: { uid: JSON.parse(body).request.uid, allowed: true } }),
  );
  report(write, `admission of the example job (${process.version})`, admission, floor);

  const podSpec = expandJob({ job, config }).podSpec;
  const patch = {
    nodeSelector: { pool: "ci" },
    containers: [
      { name: "tests", env: [{ name: "GOMAXPROCS", value: "4" }], resources: { limits: { memory: "8Gi" } } },
      { name: "agent", env: [{ name: "BUILDKITE_AGENT_DEBUG", value: "true" }] },
    ],
    tolerations: [{ key: "ci", operator: "Exists", effect: "NoSchedule" }],
  };
  const merge = measure("strategicMergePatch(podSpec, patch)", () =>
    strategicMergePatch(podSpec, patch, "io.k8s.api.core.v1.PodSpec"),
  );
  const clone = measure("structuredClone(podSpec)", () => structuredClone(podSpec));
  report(write, "strategic merge patch of a pod spec", merge, clone);
  const ratio = admission.microseconds / floor.microseconds;
  record({
    row: "`admit` of examples/job.json / parse+stringify of the review",
    value: `${ratio.toFixed(1)}× (${admission.microseconds.toFixed(0)} µs)`,
    baseline: `parse+stringify: ${floor.microseconds.toFixed(1)} µs`,
    goal: "≤ 12×",
    met: ratio <= 12,
  });
  return { admitSeconds: admission.microseconds / 1e6 };
}
