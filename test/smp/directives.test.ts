import { describe, test } from "vitest";
import { DIFFERENCE_CASES, NONDETERMINISTIC_CASES } from "./cases/differences.ts";
import {
  DELETE_FROM_PRIMITIVE_LIST_CASES,
  PATCH_DIRECTIVE_CASES,
  RETAIN_KEYS_CASES,
  SET_ELEMENT_ORDER_CASES,
} from "./cases/directives.ts";
import { expectCase, rows } from "./support/cases.ts";

describe("$patch", () => {
  test.each(rows(PATCH_DIRECTIVE_CASES))("%s", (_name, smpCase) => expectCase(smpCase));
});

describe("$retainKeys", () => {
  test.each(rows(RETAIN_KEYS_CASES))("%s", (_name, smpCase) => expectCase(smpCase));
});

describe("$deleteFromPrimitiveList", () => {
  test.each(rows(DELETE_FROM_PRIMITIVE_LIST_CASES))("%s", (_name, smpCase) => expectCase(smpCase));
});

describe("$setElementOrder", () => {
  test.each(rows(SET_ELEMENT_ORDER_CASES))("%s", (_name, smpCase) => expectCase(smpCase));
});

describe("deliberate differences from kubectl 1.32", () => {
  test.each(rows(DIFFERENCE_CASES))("%s", (_name, smpCase) => expectCase(smpCase));
});

describe("where kubectl has no single answer, one of its answers", () => {
  test.each(rows(NONDETERMINISTIC_CASES))("%s", (_name, smpCase) => expectCase(smpCase));
});
