/**
 * The patch directives and how kubectl 1.32 treats them outside list merging: `$patch` on a map,
 * `$retainKeys`, the `$deleteFromPrimitiveList/…` and `$setElementOrder/…` key prefixes, and the
 * clean-up a value gets when the original has nothing to merge it with.
 */
import { freshList, freshMap, type MergeContext, setKey } from "./context.ts";
import { decodedCapacity } from "./go-slice.ts";
import { describe, goKind, goSet, hasKey, type JsonMap } from "./json.ts";
import { childPath, type PatchPath } from "./path.ts";
import { smpError } from "./smp-error.ts";

export const PATCH = "$patch";
export const RETAIN_KEYS = "$retainKeys";
export const DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList";
export const SET_ELEMENT_ORDER = "$setElementOrder";

/** A value the clean-up removes entirely: its key is deleted, or it leaves its list. */
export const DROPPED: unique symbol = Symbol("dropped");

/**
 * The field a `$deleteFromPrimitiveList/field` or `$setElementOrder/field` key names. Like Go, the
 * key is split at its first `/` and the part before must be exactly the prefix.
 */
export function directiveTarget(key: string, prefix: string, path: PatchPath): string {
  const slash = key.indexOf("/");
  if (slash < 0 || key.slice(0, slash) !== prefix) {
    const what = prefix === SET_ELEMENT_ORDER ? "setElementOrder list" : "primitive list";
    throw smpError(childPath(path, key), `invalid patch format of ${what}: expected "${prefix}/<field>"`);
  }
  return key.slice(slash + 1);
}

/**
 * `$patch` in a map the original also has: `replace` keeps the patch as written (nulls and nested
 * directives included, as kubectl does), `delete` leaves an empty object, anything else is an error,
 * `merge` too (kubectl only knows `merge` as a list item directive and rejects it even there).
 */
export function mapPatchDirective(patch: JsonMap, path: PatchPath, context: MergeContext): JsonMap {
  const directive = patch[PATCH];
  if (directive === "replace") {
    const replaced = freshMap(context);
    for (const key of Object.keys(patch)) {
      if (key !== PATCH && patch[key] !== undefined) setKey(replaced, key, patch[key]);
    }
    return replaced;
  }
  if (directive === "delete") return freshMap(context);
  throw smpError(childPath(path, PATCH), `unknown patch type: ${describe(directive)} in map`);
}

/**
 * A patch value the original has nothing to merge with (a new key, or a value of another JSON type).
 * kubectl drops its null members at every depth, then drops every object that carries `$patch`
 * (whatever its value), but keeps the other directives (`$retainKeys`, `$setElementOrder/…`) as data.
 */
export function cleanNewValue(value: unknown, path: PatchPath, context: MergeContext): unknown {
  return strip(value, true, path, context);
}

/** The same without dropping nulls: what kubectl does to a list that only `$setElementOrder` adds. */
export function withoutPatchDirectives(value: unknown, path: PatchPath, context: MergeContext): unknown {
  return strip(value, false, path, context);
}

/** `path` is the value's own path when it is an object or a list, its container's otherwise. */
function strip(value: unknown, dropNulls: boolean, path: PatchPath, context: MergeContext): unknown {
  if (typeof value !== "object" || value === null) {
    goKind(value, path);
    return value;
  }
  if (Array.isArray(value)) {
    const items: unknown[] = [];
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i] ?? null;
      const cleaned = strip(item, dropNulls, isContainer(item) ? childPath(path, i) : path, context);
      if (cleaned !== DROPPED) items.push(cleaned);
    }
    // Go builds the list by appending one item at a time, exactly as the JSON decoder does.
    return freshList(context, items, decodedCapacity(items.length));
  }
  const map = value as JsonMap;
  // Go drops the nulls first, so `{"$patch": null}` survives that clean-up as an empty object.
  if (hasKey(map, PATCH) && !(dropNulls && map[PATCH] === null)) return DROPPED;
  const copy = freshMap(context);
  for (const key of Object.keys(map)) {
    const member = map[key];
    if (member === undefined || (dropNulls && member === null)) continue;
    const cleaned = strip(member, dropNulls, isContainer(member) ? childPath(path, key) : path, context);
    if (cleaned !== DROPPED) setKey(copy, key, cleaned);
  }
  return copy;
}

function isContainer(value: unknown): boolean {
  return typeof value === "object" && value !== null;
}

/**
 * `$retainKeys`: every field the patch sets must be listed (nulls and list directives excepted), and
 * the original loses every field not listed, listed-but-absent ones included.
 */
export function applyRetainKeys(result: JsonMap, patch: JsonMap, path: PatchPath): void {
  const at = childPath(path, RETAIN_KEYS);
  const list = patch[RETAIN_KEYS];
  if (!Array.isArray(list))
    throw smpError(at, `invalid patch format of retainKeys: ${describe(list)} is not a list`);
  const retained = goSet(list, at);
  for (const key of Object.keys(patch)) {
    const value = patch[key];
    if (value === null || value === undefined || key === RETAIN_KEYS) continue;
    if (key.startsWith(DELETE_FROM_PRIMITIVE_LIST) || key.startsWith(SET_ELEMENT_ORDER)) continue;
    if (!retained.has(key)) {
      throw smpError(at, `invalid patch format of retainKeys: the patch sets "${key}", which is not listed`);
    }
  }
  for (const key of Object.keys(result)) {
    if (!retained.has(key)) delete result[key];
  }
}
