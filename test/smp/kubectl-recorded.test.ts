/**
 * Replays every hand-written case through `kubectl patch --local --type strategic`, so that what the
 * other tests record as kubectl's behaviour is kubectl's behaviour.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DIFFERENCE_CASES } from "./cases/differences.ts";
import {
  DELETE_FROM_PRIMITIVE_LIST_CASES,
  PATCH_DIRECTIVE_CASES,
  RETAIN_KEYS_CASES,
  SET_ELEMENT_ORDER_CASES,
} from "./cases/directives.ts";
import { LIST_CASES } from "./cases/lists.ts";
import { MAP_CASES } from "./cases/maps.ts";
import { applyCase, type Json, type SmpCase } from "./support/cases.ts";
import {
  inPool,
  KUBECTL,
  type KubectlResult,
  kubectlPatch,
  kubectlWorkspace,
  podOf,
  SKIP_REASON,
} from "./support/kubectl.ts";

const RECORDED: readonly SmpCase[] = [
  ...MAP_CASES,
  ...LIST_CASES,
  ...PATCH_DIRECTIVE_CASES,
  ...RETAIN_KEYS_CASES,
  ...DELETE_FROM_PRIMITIVE_LIST_CASES,
  ...SET_ELEMENT_ORDER_CASES,
];

/** kubectl's result for the patched part of the Pod, or its error. */
async function throughKubectl(dir: string, smpCase: SmpCase): Promise<KubectlResult> {
  const pod = smpCase.on === "metadata" ? podOf({}, smpCase.original) : podOf(smpCase.original);
  const patch = smpCase.on === "metadata" ? { metadata: smpCase.patch } : { spec: smpCase.patch };
  const result = await kubectlPatch(dir, pod, patch);
  if (!result.ok) return result;
  return { ok: true, pod: result.pod[smpCase.on === "metadata" ? "metadata" : "spec"] as Json };
}

describe.skipIf(KUBECTL === undefined)(`the recorded cases are what kubectl does${SKIP_REASON}`, () => {
  const results = new Map<SmpCase, KubectlResult>();
  let close = async (): Promise<void> => {};

  beforeAll(async () => {
    const workspace = await kubectlWorkspace();
    close = workspace.close;
    const all = [...RECORDED, ...DIFFERENCE_CASES];
    const outcomes = await inPool(all, 3, (smpCase) => throughKubectl(workspace.dir, smpCase));
    for (const [i, smpCase] of all.entries()) results.set(smpCase, outcomes[i]!);
  }, 60_000);
  afterAll(() => close());

  test.each(RECORDED.map((smpCase) => [smpCase.name, smpCase] as const))("%s", (_name, smpCase) => {
    const result = results.get(smpCase)!;
    if (smpCase.error) {
      expect(result.ok, `kubectl accepted the patch: ${JSON.stringify(result)}`).toBe(false);
    } else {
      expect(result, result.ok ? "" : result.error).toStrictEqual({ ok: true, pod: smpCase.expected });
    }
  });

  test.each(DIFFERENCE_CASES.map((smpCase) => [smpCase.name, smpCase] as const))(
    "kubectl 1.32 still differs: %s",
    (_name, smpCase) => {
      const result = results.get(smpCase)!;
      const ours = smpCase.error ? undefined : applyCase(smpCase);
      expect(result.ok ? result.pod : undefined).not.toStrictEqual(ours);
    },
  );
});
