/**
 * State of one `strategicMergePatch` call. Go merges by mutating the decoded documents; here the
 * inputs stay untouched, the merge builds new objects for what it changes, and `finalize` copies
 * whatever input objects the result still reaches, so a caller may mutate the result freely (the
 * controller's `pod-spec-patch` is reused for every job and must never change) — unless the caller
 * gave the inputs up (`ownsInputs`).
 */
import { decodedCapacity, type GoSlice, sliceOf } from "./go-slice.ts";
import { isJsonMap, type JsonMap } from "./json.ts";

export interface MergeContext {
  /** Objects and arrays this call allocated: the result may own them. */
  readonly fresh: Set<object>;
  /** The caller gave the inputs up: the result may share their objects instead of copying them. */
  readonly ownsInputs: boolean;
  /** Go capacities of the lists this call built (a list from the input has its decoded capacity). */
  readonly capacities: Map<readonly unknown[], number>;
}

export function newContext(ownsInputs = false): MergeContext {
  return { fresh: new Set(), ownsInputs, capacities: new Map() };
}

export function freshMap(context: MergeContext): JsonMap {
  const map: JsonMap = {};
  context.fresh.add(map);
  return map;
}

/** A list built by the merge, with the capacity Go's version of it would have. */
export function freshList(context: MergeContext, items: unknown[], cap: number): unknown[] {
  context.fresh.add(items);
  context.capacities.set(items, cap);
  return items;
}

export function goSliceOf(context: MergeContext, list: readonly unknown[]): GoSlice {
  return sliceOf(list, context.capacities.get(list) ?? decodedCapacity(list.length));
}

/** Sets `key` even when it is `__proto__`, which plain assignment would turn into a prototype change. */
export function setKey(map: JsonMap, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    map[key] = value;
  }
}

/** Makes every object the result reaches its own: fresh ones are kept, input ones are copied. */
export function finalize(value: unknown, context: MergeContext): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (!context.fresh.has(value)) return context.ownsInputs ? value : copyJson(value);
  context.fresh.delete(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++)
      value[i] = value[i] === undefined ? null : finalize(value[i], context);
  } else if (isJsonMap(value)) {
    for (const key of Object.keys(value)) {
      if (value[key] === undefined) delete value[key];
      else value[key] = finalize(value[key], context);
    }
  }
  return value;
}

/** A deep copy of a JSON value; `undefined` members are dropped as JSON.stringify drops them. */
export function copyJson(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    const list: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) list[i] = value[i] === undefined ? null : copyJson(value[i]);
    return list;
  }
  const map: JsonMap = {};
  for (const key of Object.keys(value)) {
    const member = (value as JsonMap)[key];
    if (member !== undefined) setKey(map, key, copyJson(member));
  }
  return map;
}
