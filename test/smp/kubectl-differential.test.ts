/**
 * Differential test: seeded random Pods and strategic merge patches, merged by kubectl
 * (`kubectl patch --local -f pod.json --type strategic -p PATCH -o json`) and by
 * `strategicMergePatch`; the spec and metadata must come out identical, and where kubectl fails
 * (or crashes), we must throw. Reproduce a run with SMP_SEED=<seed> SMP_CASES=<count>.
 */
import { isDeepStrictEqual } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { isAgentStackError } from "../../src/errors.ts";
import { strategicMergePatch } from "../../src/index.ts";
import type { Json } from "./support/cases.ts";
import {
  inPool,
  KUBECTL,
  type KubectlResult,
  kubectlPatch,
  kubectlWorkspace,
  OBJECT_META,
  POD_SPEC,
  podOf,
  SKIP_REASON,
} from "./support/kubectl.ts";
import {
  countDirectives,
  FIELDS_UNKNOWN_TO_KUBECTL_1_32,
  type GeneratedCase,
  generateCases,
} from "./support/random-patches.ts";

const SEED = Number(process.env.SMP_SEED ?? 1_361_032);
const COUNT = Number(process.env.SMP_CASES ?? 500);
const CONCURRENCY = 3;

/** Every directive and list strategy must show up this often in 500 generated patches. */
const MINIMUM_PER_DIRECTIVE = Math.floor((8 * COUNT) / 500);
const REQUIRED = [
  "$patch: replace (object)",
  "$patch: delete (object)",
  "$patch: merge (object)",
  "$patch: unknown (object)",
  "$patch: replace (list item)",
  "$patch: delete (list item)",
  "$patch: merge (list item)",
  "$patch: unknown (list item)",
  "$retainKeys",
  "$setElementOrder",
  "$deleteFromPrimitiveList",
  "null",
  "unknown field",
  "type change",
  "atomic list of objects",
  "atomic list of scalars",
  "listType map without patch strategy",
  "scalar merge list",
  "null in a new list item",
  "$deleteFromPrimitiveList on an atomic list",
];

type Outcome =
  | { readonly ok: true; readonly spec: unknown; readonly metadata: unknown }
  | { readonly ok: false; readonly error: string };

function ours(generated: GeneratedCase): Outcome {
  try {
    const spec = strategicMergePatch(generated.spec, generated.specPatch, POD_SPEC);
    const metadata = generated.metadataPatch
      ? strategicMergePatch(generated.metadata, generated.metadataPatch, OBJECT_META)
      : generated.metadata;
    // Through JSON, as kubectl's output comes.
    return {
      ok: true,
      spec: JSON.parse(JSON.stringify(spec)),
      metadata: JSON.parse(JSON.stringify(metadata)),
    };
  } catch (error) {
    if (!isAgentStackError(error, "ASK_SMP_INVALID_PATCH")) throw error;
    return { ok: false, error: error.message };
  }
}

function kubectlPatchOf(generated: GeneratedCase): Json {
  return generated.metadataPatch
    ? { spec: generated.specPatch, metadata: generated.metadataPatch }
    : { spec: generated.specPatch };
}

function theirs(result: KubectlResult): Outcome {
  return result.ok ? { ok: true, spec: result.pod.spec, metadata: result.pod.metadata } : result;
}

function agree(mine: Outcome, kubectl: Outcome): boolean {
  if (!kubectl.ok || !mine.ok) return mine.ok === kubectl.ok;
  return isDeepStrictEqual(mine.spec, kubectl.spec) && isDeepStrictEqual(mine.metadata, kubectl.metadata);
}

function mismatchReport(generated: GeneratedCase, mine: Outcome, kubectl: Outcome): string {
  return [
    `seed ${SEED}, case ${generated.index} (reproduce: SMP_SEED=${SEED} SMP_CASES=${generated.index + 1})`,
    `original: ${JSON.stringify(podOf(generated.spec, generated.metadata))}`,
    `patch:    ${JSON.stringify(kubectlPatchOf(generated))}`,
    `kubectl:  ${JSON.stringify(kubectl)}`,
    `ours:     ${JSON.stringify(mine)}`,
  ].join("\n");
}

const CASES = generateCases(SEED, COUNT);

describe("strategic merge patch against kubectl, seeded random PodSpecs", () => {
  test(`the ${COUNT} generated cases use every directive and list strategy (seed ${SEED})`, () => {
    const counts = new Map<string, number>();
    for (const generated of CASES) {
      countDirectives(generated.specPatch, counts);
      if (generated.metadataPatch) countDirectives(generated.metadataPatch, counts);
      for (const feature of new Set(generated.features)) counts.set(feature, (counts.get(feature) ?? 0) + 1);
    }
    const line = [...counts.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, count]) => `${name}=${count}`)
      .join(", ");
    console.log(`[smp differential] seed=${SEED} cases=${COUNT} directives: ${line}`);
    console.log(
      `[smp differential] never generated (unknown to kubectl 1.32): ${FIELDS_UNKNOWN_TO_KUBECTL_1_32.join(", ")}`,
    );
    for (const name of REQUIRED)
      expect(counts.get(name) ?? 0, name).toBeGreaterThanOrEqual(MINIMUM_PER_DIRECTIVE);
  });

  describe.skipIf(KUBECTL === undefined)(`merges like kubectl${SKIP_REASON}`, () => {
    let kubectlOutcomes: Outcome[] = [];
    let close = async (): Promise<void> => {};
    let seconds = 0;

    beforeAll(async () => {
      const started = performance.now();
      const workspace = await kubectlWorkspace();
      close = workspace.close;
      const results = await inPool(CASES, CONCURRENCY, (generated) =>
        kubectlPatch(workspace.dir, podOf(generated.spec, generated.metadata), kubectlPatchOf(generated)),
      );
      kubectlOutcomes = results.map(theirs);
      seconds = (performance.now() - started) / 1000;
    }, 120_000);
    afterAll(() => close());

    test(`the result, or the failure, is kubectl's in all ${COUNT} cases`, () => {
      const mismatches: string[] = [];
      let failures = 0;
      for (const generated of CASES) {
        const kubectl = kubectlOutcomes[generated.index]!;
        if (!kubectl.ok) failures++;
        const mine = ours(generated);
        if (!agree(mine, kubectl)) mismatches.push(mismatchReport(generated, mine, kubectl));
      }
      console.log(
        `[smp differential] seed=${SEED} cases=${COUNT} kubectl failures=${failures} mismatches=${mismatches.length} kubectl time=${seconds.toFixed(1)}s`,
      );
      expect(
        mismatches.length,
        `${mismatches.length} mismatches; the first:\n${mismatches.slice(0, 3).join("\n\n")}`,
      ).toBe(0);
      // Both outcomes must be well represented, or the test proves little.
      expect(failures).toBeGreaterThan(COUNT / 20);
      expect(failures).toBeLessThan(COUNT / 2);
    });
  });
});
