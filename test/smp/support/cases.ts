/**
 * Hand-written strategic merge patch cases: each records what kubectl 1.32 does
 * (`kubectl-recorded.test.ts` replays them through kubectl to keep the records honest).
 */
import { expect } from "vitest";
import { isAgentStackError } from "../../../src/errors.ts";
import { strategicMergePatch } from "../../../src/index.ts";
import { OBJECT_META, POD_SPEC } from "./kubectl.ts";

export type Json = Record<string, unknown>;

export interface SmpCase {
  /** The behaviour, as the test title. */
  readonly name: string;
  /** Patch a Pod's metadata (ObjectMeta) instead of its spec (PodSpec). */
  readonly on?: "metadata";
  readonly original: Json;
  readonly patch: Json;
  /** kubectl's result. */
  readonly expected?: Json;
  /** kubectl fails (or crashes) too; our message must match this. */
  readonly error?: RegExp;
  /** A deliberate difference from kubectl 1.32: why. kubectl is checked to still differ. */
  readonly kubectlDiffers?: string;
}

export function typeOf(smpCase: SmpCase): string {
  return smpCase.on === "metadata" ? OBJECT_META : POD_SPEC;
}

export function applyCase(smpCase: SmpCase): Json {
  return strategicMergePatch(smpCase.original, smpCase.patch, typeOf(smpCase));
}

/** Asserts our result (or error) for a case. */
export function expectCase(smpCase: SmpCase): void {
  if (smpCase.error) {
    let thrown: unknown;
    try {
      applyCase(smpCase);
    } catch (error) {
      thrown = error;
    }
    expect(
      isAgentStackError(thrown, "ASK_SMP_INVALID_PATCH"),
      `expected ASK_SMP_INVALID_PATCH, got ${String(thrown)}`,
    ).toBe(true);
    expect((thrown as Error).message).toMatch(smpCase.error);
    return;
  }
  expect(applyCase(smpCase)).toStrictEqual(smpCase.expected);
}

/** `test.each` rows: the title and the case. */
export function rows(cases: readonly SmpCase[]): [string, SmpCase][] {
  return cases.map((smpCase) => [smpCase.name, smpCase]);
}
