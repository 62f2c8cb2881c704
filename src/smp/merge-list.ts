/**
 * Merging a list the original and the patch both have. With the `merge` strategy, objects are merged
 * by their merge key and scalars are unioned; any other list is replaced by the patch as written.
 * A `$deleteFromPrimitiveList/…` list goes through the merge whatever the strategy, as in kubectl.
 */
import type { FieldType } from "../k8s/schema-types.ts";
import { freshList, type MergeContext } from "./context.ts";
import { PATCH } from "./directives.ts";
import { decodedCapacity, type GoSlice, goAppend, goRemoveAt, sliceOf } from "./go-slice.ts";
import { describe, goEqual, goSet, hashable, hasKey, type JsonMap } from "./json.ts";
import { mergeMap } from "./merge-map.ts";
import {
  elementKind,
  type ItemIdentity,
  MergeKeyIndex,
  noMergeKey,
  normalizeElementOrder,
  partitionByPresence,
} from "./order.ts";
import { childPath, type PatchPath } from "./path.ts";
import { smpError } from "./smp-error.ts";

export interface ListMerge {
  readonly itemType: FieldType;
  readonly patchStrategy: string;
  readonly mergeKey: string;
  readonly isDeleteList: boolean;
}

/**
 * Go's `mergeSliceHandler`. `original` is a Go slice because the caller may read its memory again
 * afterwards (`$setElementOrder` does).
 */
export function mergeListField(
  original: GoSlice,
  patch: readonly unknown[],
  merge: ListMerge,
  path: PatchPath,
  context: MergeContext,
): readonly unknown[] {
  if (merge.patchStrategy !== "merge" && !merge.isDeleteList) return patch;
  return mergeSlice(original, patch, merge, path, context);
}

function mergeSlice(
  original: GoSlice,
  patch: readonly unknown[],
  merge: ListMerge,
  path: PatchPath,
  context: MergeContext,
): unknown[] {
  if (original.len === 0 && patch.length === 0) return freshList(context, [], original.cap);
  const kind = elementKind([original.buf, patch], [original.len, patch.length], path);
  const identity: ItemIdentity = { mergeKey: merge.mergeKey, byKey: kind === "map" };
  if (kind === "map") return mergeObjects(original, patch, merge, identity, path, context);
  if (merge.isDeleteList) return deleteValues(original, patch, path, context);
  // `append` may write the patch into the original's spare capacity, and the de-duplication then
  // swaps values inside memory the original still reads when ordering: kubectl's order depends on it.
  const merged = dedupe(goAppend(original, patch), path);
  const { named, others } = partitionByPresence(merged.buf, merged.len, patch, merge.mergeKey, path);
  return normalizeElementOrder(named, others, patch, original.buf, original.len, identity, path, context);
}

/** A `$deleteFromPrimitiveList`: every occurrence of every listed value goes; the rest keeps its order. */
function deleteValues(
  original: GoSlice,
  toDelete: readonly unknown[],
  path: PatchPath,
  context: MergeContext,
) {
  const deleted = goSet(toDelete, path);
  const kept: unknown[] = [];
  for (let i = 0; i < original.len; i++) {
    const value = original.buf[i];
    if (!deleted.has(hashable(value, path))) kept.push(value);
  }
  return freshList(context, kept, original.len);
}

/**
 * Go's `deduplicateScalars`, in place: a duplicate is overwritten by the last item and the slice
 * shrinks, so the surviving order is scrambled (the ordering step restores it).
 */
function dedupe(slice: GoSlice, path: PatchPath): GoSlice {
  const buf = slice.buf;
  let last = slice.len - 1;
  for (let i = 0; i < last; i++) {
    for (let j = i + 1; j <= last; j++) {
      if (goEqual(buf[i], buf[j], path)) {
        buf[j] = buf[last];
        last--;
        j--;
      }
    }
  }
  return { buf, len: last + 1, cap: slice.cap };
}

function mergeObjects(
  original: GoSlice,
  patch: readonly unknown[],
  merge: ListMerge,
  identity: ItemIdentity,
  path: PatchPath,
  context: MergeContext,
): unknown[] {
  if (merge.mergeKey === "") {
    throw smpError(
      path,
      "cannot merge a list of objects that has no merge key (give the whole list with $patch: replace)",
    );
  }
  const special = applySpecialItems(original, patch, merge.mergeKey, path);
  const merged = mergeItems(special.original, special.rest, special.restIndex, merge, path, context);
  const { named, others } = partitionByPresence(merged.buf, merged.len, special.rest, merge.mergeKey, path);
  const order = special.original;
  return normalizeElementOrder(named, others, special.rest, order.buf, order.len, identity, path, context);
}

interface SpecialItems {
  /** The original after deletions (in place), or the patch's plain items when it replaces the list. */
  readonly original: GoSlice;
  /** The patch items without a `$patch`. */
  readonly rest: unknown[];
  /** Where each of `rest` stands in the patch, for error paths. */
  readonly restIndex: number[];
}

/**
 * List items carrying `$patch`: `delete` removes every original item with that merge key, `replace`
 * makes the patch's plain items (as written, directives and nulls included) the whole list, `merge`
 * and anything else are errors.
 */
function applySpecialItems(
  original: GoSlice,
  patch: readonly unknown[],
  mergeKey: string,
  path: PatchPath,
): SpecialItems {
  let current = original;
  let replace = false;
  const rest: unknown[] = [];
  const restIndex: number[] = [];
  for (let i = 0; i < patch.length; i++) {
    const item = patch[i] as JsonMap;
    if (!hasKey(item, PATCH)) {
      rest.push(item);
      restIndex.push(i);
      continue;
    }
    const itemPath = childPath(path, i);
    const directive = item[PATCH];
    if (directive === "delete") {
      if (!hasKey(item, mergeKey)) throw noMergeKey(item, mergeKey, itemPath);
      current = deleteMatching(current, mergeKey, item[mergeKey], itemPath);
    } else if (directive === "replace") {
      replace = true;
    } else if (directive === "merge") {
      throw smpError(
        childPath(itemPath, PATCH),
        "merging lists cannot yet be specified in the patch ($patch: merge)",
      );
    } else {
      throw smpError(childPath(itemPath, PATCH), `unknown patch type: ${describe(directive)} in a list item`);
    }
  }
  if (replace) return { original: sliceOf(rest, decodedCapacity(rest.length)), rest: [], restIndex: [] };
  return { original: current, rest, restIndex };
}

/** Go's `deleteMatchingEntries`: removes, in place, every item whose merge key equals `value`. */
function deleteMatching(slice: GoSlice, mergeKey: string, value: unknown, path: PatchPath): GoSlice {
  let current = slice;
  for (;;) {
    const at = MergeKeyIndex.of(current.buf, current.len, mergeKey, path).find(value);
    if (at < 0) return current;
    current = goRemoveAt(current, at);
  }
}

/** Go's `mergeSliceWithoutSpecialElements`: merges into the item with the same key, or appends. */
function mergeItems(
  original: GoSlice,
  rest: readonly unknown[],
  restIndex: readonly number[],
  merge: ListMerge,
  path: PatchPath,
  context: MergeContext,
): GoSlice {
  let merged = original;
  const index = MergeKeyIndex.of(merged.buf, merged.len, merge.mergeKey, path);
  for (let k = 0; k < rest.length; k++) {
    const item = rest[k] as JsonMap;
    const itemPath = childPath(path, restIndex[k]!);
    if (!hasKey(item, merge.mergeKey)) throw noMergeKey(item, merge.mergeKey, itemPath);
    const at = index.find(item[merge.mergeKey]);
    if (at >= 0) {
      merged.buf[at] = mergeMap(merged.buf[at] as JsonMap, item, merge.itemType, itemPath, context);
    } else {
      // A new item goes in as written: kubectl keeps its nulls and directives.
      merged = goAppend(merged, [item]);
      index.add(item);
    }
  }
  return merged;
}
