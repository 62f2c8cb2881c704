/**
 * `$setElementOrder/<field>`: the order the list must end up in. kubectl merges the field's patch
 * list first, then puts the items the directive names in its order and interleaves the others by
 * their place in the original. Names the list does not have are ignored; a patch list whose items
 * are not in the directive, in the same relative order, is an error.
 */
import type { FieldType } from "../k8s/schema-types.ts";
import { goSliceOf, type MergeContext, setKey } from "./context.ts";
import { directiveTarget, PATCH, SET_ELEMENT_ORDER, withoutPatchDirectives } from "./directives.ts";
import type { GoSlice } from "./go-slice.ts";
import { describe, goEqual, hasKey, isJsonMap, type JsonMap } from "./json.ts";
import { mergeListField } from "./merge-list.ts";
import { elementKind, noMergeKey, normalizeElementOrder, notAnObject, partitionByPresence } from "./order.ts";
import { childPath, type PatchPath } from "./path.ts";
import { lookupListField } from "./schema.ts";
import { smpError } from "./smp-error.ts";

/**
 * Applies one `$setElementOrder/…` key of `patch` to `result` and returns the list field it took care
 * of (the caller must not merge that field again), or undefined when neither side has the list.
 */
export function applySetElementOrder(
  result: JsonMap,
  patch: JsonMap,
  directiveKey: string,
  node: FieldType,
  path: PatchPath,
  context: MergeContext,
): string | undefined {
  const at = childPath(path, directiveKey);
  const order = patch[directiveKey];
  if (!Array.isArray(order)) throw smpError(at, `expected a list, but received ${describe(order)}`);
  const key = directiveTarget(directiveKey, SET_ELEMENT_ORDER, path);
  const listPath = childPath(path, key);
  const foundOriginal = hasKey(result, key);
  const foundPatch = hasKey(patch, key);
  const originalList = result[key];
  const patchList = patch[key];
  if (foundOriginal && !Array.isArray(originalList)) {
    throw smpError(listPath, `expected a list in the original, but found ${describe(originalList)}`);
  }
  if (foundPatch && !Array.isArray(patchList)) {
    throw smpError(listPath, `expected a list, but received ${describe(patchList)}`);
  }
  const field = lookupListField(node, key, listPath);
  validatePatchOrder(foundPatch ? (patchList as unknown[]) : [], order, field.mergeKey, at);
  if (!foundOriginal && !foundPatch) return undefined;

  const original: GoSlice | undefined = foundOriginal
    ? goSliceOf(context, originalList as unknown[])
    : undefined;
  let merged: readonly unknown[];
  if (original === undefined) {
    merged = withoutPatchDirectives(patchList, listPath, context) as unknown[];
  } else if (!foundPatch) {
    merged = originalList as unknown[];
  } else {
    const merge = {
      itemType: field.type,
      patchStrategy: field.patchStrategy,
      mergeKey: field.mergeKey,
      isDeleteList: false,
    };
    merged = mergeListField(original, patchList as unknown[], merge, listPath, context);
  }

  const { named, others } = partitionByPresence(merged, merged.length, order, field.mergeKey, at);
  // Read through the original's Go slice: the merge may have overwritten its memory.
  const serverItems = original?.buf ?? [];
  const serverLength = original?.len ?? 0;
  const patchItems = foundPatch ? (patchList as unknown[]) : undefined;
  const kind = elementKind([serverItems, patchItems], [serverLength, patchItems?.length ?? 0], listPath);
  const identity = { mergeKey: field.mergeKey, byKey: kind === "map" };
  setKey(
    result,
    key,
    normalizeElementOrder(named, others, order, serverItems, serverLength, identity, at, context),
  );
  return key;
}

/**
 * Go's `validatePatchWithSetOrderList`: walking both lists, every patch item (deletions and other
 * `$patch` items aside) must be found in the directive at or after the previous one's place.
 */
function validatePatchOrder(
  patchList: readonly unknown[],
  order: readonly unknown[],
  mergeKey: string,
  path: PatchPath,
) {
  if (order.length === 0 || patchList.length === 0) return;
  const items = mergeKey === "" ? patchList : withoutDeletions(patchList, path);
  let patchIndex = 0;
  let orderIndex = 0;
  while (patchIndex < items.length && orderIndex < order.length) {
    const item = items[patchIndex];
    if (isJsonMap(item) && hasKey(item, PATCH)) {
      patchIndex++;
      continue;
    }
    if (sameItem(item, order[orderIndex], mergeKey, path)) patchIndex++;
    orderIndex++;
  }
  if (patchIndex < items.length && orderIndex >= order.length) {
    throw smpError(
      path,
      `the order in the patch list ${describe(patchList)} doesn't match the ${SET_ELEMENT_ORDER} list ${describe(order)}`,
    );
  }
}

/** Go's `extractToDeleteItems`, keeping the first half. */
function withoutDeletions(patchList: readonly unknown[], path: PatchPath): unknown[] {
  const items: unknown[] = [];
  for (const item of patchList) {
    if (!isJsonMap(item)) throw notAnObject(item, path);
    if (item[PATCH] !== "delete") items.push(item);
  }
  return items;
}

function sameItem(left: unknown, right: unknown, mergeKey: string, path: PatchPath): boolean {
  if (mergeKey === "") return goEqual(left, right, path);
  if (!isJsonMap(left)) throw notAnObject(left, path);
  if (!isJsonMap(right)) throw notAnObject(right, path);
  if (!hasKey(left, mergeKey)) throw noMergeKey(left, mergeKey, path);
  if (!hasKey(right, mergeKey)) throw noMergeKey(right, mergeKey, path);
  return goEqual(left[mergeKey], right[mergeKey], path);
}
