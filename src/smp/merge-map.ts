/**
 * Merging a JSON object into the original object of the same field, key by key, as kubectl's
 * `mergeMap` does: `$patch` first, then `$retainKeys`, then `$setElementOrder/…`, then the fields.
 */
import type { FieldType } from "../k8s/schema-types.ts";
import { freshMap, goSliceOf, type MergeContext, setKey } from "./context.ts";
import {
  applyRetainKeys,
  cleanNewValue,
  DELETE_FROM_PRIMITIVE_LIST,
  DROPPED,
  directiveTarget,
  mapPatchDirective,
  PATCH,
  RETAIN_KEYS,
  SET_ELEMENT_ORDER,
} from "./directives.ts";
import { goKind, hasKey, type JsonMap } from "./json.ts";
import { mergeListField } from "./merge-list.ts";
import { childPath, type PatchPath } from "./path.ts";
import { lookupListField, lookupStructField } from "./schema.ts";
import { applySetElementOrder } from "./set-element-order.ts";

export function mergeMap(
  original: JsonMap,
  patch: JsonMap,
  node: FieldType,
  path: PatchPath,
  context: MergeContext,
): JsonMap {
  if (hasKey(patch, PATCH)) return mapPatchDirective(patch, path, context);
  const result = freshMap(context);
  for (const key of Object.keys(original)) {
    if (original[key] !== undefined) setKey(result, key, original[key]);
  }
  if (hasKey(patch, RETAIN_KEYS)) applyRetainKeys(result, patch, path);

  const keys = Object.keys(patch);
  const ordered = applySetElementOrders(result, patch, keys, node, path, context);

  // Go visits the keys in random order, so a `$deleteFromPrimitiveList/x` next to `x` has no single
  // kubectl result; deleting after merging is what kubectl does when `$setElementOrder/x` is there too.
  const deleteLists: string[] = [];
  for (const key of keys) {
    const value = patch[key];
    if (value === undefined || key === RETAIN_KEYS || key.startsWith(SET_ELEMENT_ORDER)) continue;
    if (ordered?.has(key)) continue;
    if (key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) deleteLists.push(key);
    else mergeField(result, key, value, false, childPath(path, key), node, context);
  }
  for (const key of deleteLists) {
    const target = directiveTarget(key, DELETE_FROM_PRIMITIVE_LIST, path);
    // With nothing after the slash, Go keeps the whole key as the field name.
    mergeField(result, target === "" ? key : target, patch[key], true, childPath(path, key), node, context);
  }
  return result;
}

/** The list fields the `$setElementOrder/…` keys took care of. */
function applySetElementOrders(
  result: JsonMap,
  patch: JsonMap,
  keys: readonly string[],
  node: FieldType,
  path: PatchPath,
  context: MergeContext,
): ReadonlySet<string> | undefined {
  let ordered: Set<string> | undefined;
  for (const key of keys) {
    if (!key.startsWith(SET_ELEMENT_ORDER) || patch[key] === undefined) continue;
    const list = applySetElementOrder(result, patch, key, node, path, context);
    if (list === undefined) continue;
    ordered ??= new Set();
    ordered.add(list);
  }
  return ordered;
}

/**
 * One field of the patch. `null` deletes (a `$deleteFromPrimitiveList/x: null` deletes `x` too). A
 * value the original lacks, or of another JSON type, is taken after clean-up; a delete list then does
 * nothing. Two objects or two lists merge according to the schema; two scalars: the patch wins.
 */
function mergeField(
  result: JsonMap,
  key: string,
  value: unknown,
  isDeleteList: boolean,
  at: PatchPath,
  node: FieldType,
  context: MergeContext,
): void {
  if (value === null) {
    delete result[key];
    return;
  }
  if (!hasKey(result, key) || goKind(result[key], at) !== goKind(value, at)) {
    if (!isDeleteList) putNewValue(result, key, value, at, context);
    return;
  }
  const originalValue = result[key];
  if (Array.isArray(originalValue) && Array.isArray(value)) {
    const field = lookupListField(node, key, at);
    const merge = {
      itemType: field.type,
      patchStrategy: field.patchStrategy,
      mergeKey: field.mergeKey,
      isDeleteList,
    };
    setKey(result, key, mergeListField(goSliceOf(context, originalValue), value, merge, at, context));
  } else if (goKind(value, at) === "map") {
    const field = lookupStructField(node, key, at);
    // The `replace` strategy takes the patch object as written, `$patch` and nulls included.
    const merged =
      field.patchStrategy === "replace"
        ? value
        : mergeMap(originalValue as JsonMap, value as JsonMap, field.type, at, context);
    setKey(result, key, merged);
  } else {
    setKey(result, key, value);
  }
}

function putNewValue(
  result: JsonMap,
  key: string,
  value: unknown,
  at: PatchPath,
  context: MergeContext,
): void {
  const cleaned = cleanNewValue(value, at, context);
  if (cleaned === DROPPED) delete result[key];
  else setKey(result, key, cleaned);
}
