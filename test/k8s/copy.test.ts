import { expect, test } from "vitest";
import { copyJson } from "../../src/k8s/copy.ts";

test("a deep copy shares nothing with the original", () => {
  const original = { a: [{ b: { c: 1 } }, "x", null], d: { e: true } };
  const copy = copyJson(original);
  expect(copy).toEqual(original);
  copy.a[0] = { b: { c: 2 } };
  copy.d.e = false;
  expect(original).toEqual({ a: [{ b: { c: 1 } }, "x", null], d: { e: true } });
});

test("a __proto__ key is copied as data, not as a prototype", () => {
  const original = JSON.parse('{"labels":{"__proto__":{"polluted":"yes"}}}');
  const copy = copyJson(original);
  expect(Object.keys(copy.labels)).toEqual(["__proto__"]);
  expect(Object.getPrototypeOf(copy.labels)).toBe(Object.prototype);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});
