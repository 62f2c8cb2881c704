/**
 * JSON values as Go's strategicpatch sees them after `json.Unmarshal` into `interface{}`: every value
 * has a Go dynamic type, and the merge compares those types and values with Go's `==`.
 */
import type { PatchPath } from "./path.ts";
import { smpError } from "./smp-error.ts";

/** A JSON object while it is being merged; values are `unknown` until narrowed. */
export type JsonMap = Record<string, unknown>;

/**
 * Go's dynamic type of a decoded JSON value. apimachinery decodes a number written as an integer into
 * `int64` and any other number into `float64`; JavaScript cannot tell `1.0` from `1`, so an integral
 * number counts as `int64`.
 */
export type GoKind = "nil" | "bool" | "string" | "int64" | "float64" | "map" | "slice";

export function isJsonMap(value: unknown): value is JsonMap {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `undefined` stands for "absent", as JSON.stringify treats it. */
export function hasKey(map: JsonMap, key: string): boolean {
  return Object.hasOwn(map, key) && map[key] !== undefined;
}

export function goKind(value: unknown, path: PatchPath): GoKind {
  switch (typeof value) {
    case "string":
      return "string";
    case "boolean":
      return "bool";
    case "number":
      return Number.isInteger(value) && Math.abs(value) < 2 ** 63 ? "int64" : "float64";
    case "undefined":
      return "nil";
    case "object":
      if (value === null) return "nil";
      return Array.isArray(value) ? "slice" : "map";
    default:
      throw smpError(path, `a ${typeof value} is not a JSON value`);
  }
}

/** Maps and slices are not comparable in Go: `==` on two of them panics, and so does hashing one. */
export function isUncomparable(kind: GoKind): boolean {
  return kind === "map" || kind === "slice";
}

/**
 * Go's `==` on two `interface{}` values: different dynamic types are unequal, equal types compare by
 * value, and two maps (or two slices) make Go panic, which kubectl reports as a crash.
 */
export function goEqual(left: unknown, right: unknown, path: PatchPath): boolean {
  const kind = goKind(left, path);
  if (kind !== goKind(right, path)) return false;
  if (isUncomparable(kind)) throw uncomparable(kind, path);
  return left === right || kind === "nil";
}

export function uncomparable(kind: GoKind, path: PatchPath): Error {
  return smpError(
    path,
    `a ${kind === "map" ? "JSON object" : "JSON list"} cannot be compared or used as a set member here (kubectl panics)`,
  );
}

/** Sets keyed like Go's `map[interface{}]…`: a JS Set matches Go key equality for JSON primitives. */
export function goSet(values: readonly unknown[], path: PatchPath): Set<unknown> {
  const set = new Set<unknown>();
  for (const value of values) set.add(hashable(value, path));
  return set;
}

/** A value usable as a Go map key; `undefined` (absent) is Go's nil. */
export function hashable(value: unknown, path: PatchPath): unknown {
  const kind = goKind(value, path);
  if (isUncomparable(kind)) throw uncomparable(kind, path);
  return value === undefined ? null : value;
}

/** A short rendering of a value for error messages. */
export function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** How Go prints the type of a decoded JSON value. */
export function goTypeName(kind: GoKind): string {
  switch (kind) {
    case "nil":
      return "nil";
    case "map":
      return "map[string]interface {}";
    case "slice":
      return "[]interface {}";
    default:
      return kind;
  }
}
