/**
 * The order of a merged list, as kubectl computes it: the items the patch (or `$setElementOrder`)
 * names come in the patch's order, the items only the original has keep the original's order, and
 * the two runs are interleaved by where each item stood in the original.
 */
import { freshList, type MergeContext } from "./context.ts";
import { PATCH } from "./directives.ts";
import { goStableSort } from "./go-sort.ts";
import {
  describe,
  goKind,
  goSet,
  goTypeName,
  hashable,
  hasKey,
  isJsonMap,
  isUncomparable,
  uncomparable,
} from "./json.ts";
import type { PatchPath } from "./path.ts";
import { smpError } from "./smp-error.ts";

/** How the items of a list are identified: by a merge key (lists of objects) or by value. */
export interface ItemIdentity {
  readonly mergeKey: string;
  /** The items are objects (Go's element kind is map): they are compared by `mergeKey`. */
  readonly byKey: boolean;
}

export function notAnObject(item: unknown, path: PatchPath): Error {
  return smpError(path, `expected a JSON object in the list, but found ${describe(item)}`);
}

export function noMergeKey(item: unknown, mergeKey: string, path: PatchPath): Error {
  return smpError(path, `the list item ${describe(item)} does not contain the merge key "${mergeKey}"`);
}

/**
 * Go's `index()`: the first position whose identity equals the item's. A missing merge key reads as
 * null; comparing two objects (or two lists) panics in Go and throws here.
 */
class OrderIndex {
  private readonly positions = new Map<unknown, number>();
  private readonly identity: ItemIdentity;
  private readonly path: PatchPath;
  private readonly hasMapKey: boolean;
  private readonly hasSliceKey: boolean;

  constructor(items: readonly unknown[], length: number, identity: ItemIdentity, path: PatchPath) {
    this.identity = identity;
    this.path = path;
    let hasMapKey = false;
    let hasSliceKey = false;
    for (let i = 0; i < length; i++) {
      const key = this.keyOf(items[i]);
      const kind = goKind(key, path);
      if (kind === "map") hasMapKey = true;
      else if (kind === "slice") hasSliceKey = true;
      else if (!this.positions.has(key)) this.positions.set(key, i);
    }
    this.hasMapKey = hasMapKey;
    this.hasSliceKey = hasSliceKey;
  }

  indexOf(item: unknown): number {
    const key = this.keyOf(item);
    const kind = goKind(key, this.path);
    if (isUncomparable(kind)) {
      if (kind === "map" ? this.hasMapKey : this.hasSliceKey) throw uncomparable(kind, this.path);
      return -1;
    }
    return this.positions.get(key) ?? -1;
  }

  private keyOf(item: unknown): unknown {
    if (!this.identity.byKey) return item === undefined ? null : item;
    if (!isJsonMap(item)) return null;
    const key = item[this.identity.mergeKey];
    return key === undefined ? null : key;
  }
}

/**
 * Go's `findMapInSliceBasedOnKeyValue`: the first object whose merge key equals `value`, failing on a
 * non-object met before it. Supports appends, as the merge appends new items while it searches.
 */
export class MergeKeyIndex {
  private readonly positions = new Map<unknown, number>();
  private firstNonMap = Number.POSITIVE_INFINITY;
  private firstMapValue = Number.POSITIVE_INFINITY;
  private firstSliceValue = Number.POSITIVE_INFINITY;
  private length = 0;
  private readonly mergeKey: string;
  private readonly path: PatchPath;

  constructor(mergeKey: string, path: PatchPath) {
    this.mergeKey = mergeKey;
    this.path = path;
  }

  static of(items: readonly unknown[], length: number, mergeKey: string, path: PatchPath): MergeKeyIndex {
    const index = new MergeKeyIndex(mergeKey, path);
    for (let i = 0; i < length; i++) index.add(items[i]);
    return index;
  }

  add(item: unknown): void {
    const position = this.length++;
    if (!isJsonMap(item)) {
      this.firstNonMap = Math.min(this.firstNonMap, position);
      return;
    }
    if (!hasKey(item, this.mergeKey)) return;
    const value = item[this.mergeKey];
    const kind = goKind(value, this.path);
    if (kind === "map") this.firstMapValue = Math.min(this.firstMapValue, position);
    else if (kind === "slice") this.firstSliceValue = Math.min(this.firstSliceValue, position);
    else if (!this.positions.has(value)) this.positions.set(value, position);
  }

  /** The position of the item whose merge key equals `value`, or -1. */
  find(value: unknown): number {
    const kind = goKind(value, this.path);
    if (isUncomparable(kind)) {
      const sameKind = kind === "map" ? this.firstMapValue : this.firstSliceValue;
      if (this.firstNonMap < sameKind) throw this.notAMap();
      if (sameKind < Number.POSITIVE_INFINITY) throw uncomparable(kind, this.path);
      return -1;
    }
    const position = this.positions.get(value === undefined ? null : value) ?? Number.POSITIVE_INFINITY;
    if (this.firstNonMap < position) throw this.notAMap();
    return position < Number.POSITIVE_INFINITY ? position : -1;
  }

  private notAMap(): Error {
    return smpError(this.path, `item ${this.firstNonMap} of the list is not a JSON object`);
  }
}

/** Splits `merged` into the items `partitionBy` names and the rest, both in `merged`'s order. */
export function partitionByPresence(
  merged: readonly unknown[],
  length: number,
  partitionBy: readonly unknown[],
  mergeKey: string,
  path: PatchPath,
): { named: unknown[]; others: unknown[] } {
  const named: unknown[] = [];
  const others: unknown[] = [];
  if (mergeKey === "") {
    const present = goSet(partitionBy, path);
    for (let i = 0; i < length; i++) {
      const item = merged[i];
      (present.has(hashable(item, path)) ? named : others).push(item);
    }
    return { named, others };
  }
  const index = MergeKeyIndex.of(partitionBy, partitionBy.length, mergeKey, path);
  for (let i = 0; i < length; i++) {
    const item = merged[i];
    if (!isJsonMap(item)) throw notAnObject(item, path);
    if (!hasKey(item, mergeKey)) throw noMergeKey(item, mergeKey, path);
    (index.find(item[mergeKey]) >= 0 ? named : others).push(item);
  }
  return { named, others };
}

/**
 * Go's `normalizeElementOrder`: sorts the patch items by `patchOrder` and the original-only items by
 * `serverOrder`, then interleaves them. `serverOrder` is read through its Go slice (`serverLength`
 * items of `serverItems`), which the merge may have overwritten in place.
 */
export function normalizeElementOrder(
  patchItems: unknown[],
  serverOnly: unknown[],
  patchOrder: readonly unknown[],
  serverItems: readonly unknown[],
  serverLength: number,
  identity: ItemIdentity,
  path: PatchPath,
  context: MergeContext,
): unknown[] {
  const sortedPatch = sortByOrder(patchItems, patchOrder, patchOrder.length, identity, path);
  const sortedServer = sortByOrder(serverOnly, serverItems, serverLength, identity, path);
  return interleave(sortedServer, sortedPatch, serverItems, serverLength, identity, path, context);
}

function sortByOrder(
  toSort: unknown[],
  order: readonly unknown[],
  orderLength: number,
  identity: ItemIdentity,
  path: PatchPath,
): unknown[] {
  const deleted: unknown[] = [];
  if (identity.byKey) {
    requireMergeKeys(toSort, toSort.length, identity.mergeKey, path);
    requireMergeKeys(order, orderLength, identity.mergeKey, path);
    // Items still marked `$patch: delete` go last, unsorted.
    const kept: unknown[] = [];
    for (const item of toSort) {
      if (isJsonMap(item) && item[PATCH] === "delete") deleted.push(item);
      else kept.push(item);
    }
    toSort = kept;
  }
  const index = new OrderIndex(order, orderLength, identity, path);
  // kubectl's comparator calls an item unknown to `order` smaller than anything, both ways round.
  goStableSort(toSort, (left, right) => {
    const leftAt = index.indexOf(left);
    if (leftAt < 0) return true;
    const rightAt = index.indexOf(right);
    return rightAt < 0 || leftAt < rightAt;
  });
  return deleted.length === 0 ? toSort : toSort.concat(deleted);
}

function requireMergeKeys(
  items: readonly unknown[],
  length: number,
  mergeKey: string,
  path: PatchPath,
): void {
  for (let i = 0; i < length; i++) {
    const item = items[i];
    if (!isJsonMap(item)) throw notAnObject(item, path);
    if (!hasKey(item, mergeKey)) throw noMergeKey(item, mergeKey, path);
  }
}

/**
 * Go's `mergeSortedSlice`: walks both runs, taking the original-only item first only when both items
 * have a position in the original and it comes first; an item the original lacks is never "less".
 */
function interleave(
  serverOnly: readonly unknown[],
  patchItems: readonly unknown[],
  serverItems: readonly unknown[],
  serverLength: number,
  identity: ItemIdentity,
  path: PatchPath,
  context: MergeContext,
): unknown[] {
  const index = new OrderIndex(serverItems, serverLength, identity, path);
  const size = serverOnly.length + patchItems.length;
  const result: unknown[] = new Array(size);
  let i = 0;
  let j = 0;
  for (let k = 0; k < size; k++) {
    if (i >= serverOnly.length) result[k] = patchItems[j++];
    else if (j >= patchItems.length) result[k] = serverOnly[i++];
    else {
      const left = index.indexOf(serverOnly[i]);
      const right = index.indexOf(patchItems[j]);
      result[k] = left >= 0 && right >= 0 && left < right ? serverOnly[i++] : patchItems[j++];
    }
  }
  return freshList(context, result, size);
}

/** Go's `sliceElementType`: the one JSON type of all items of both lists, or an error. */
export function elementKind(
  lists: readonly (readonly unknown[] | undefined)[],
  lengths: readonly number[],
  path: PatchPath,
): "map" | "scalar" {
  let first: ReturnType<typeof goKind> | undefined;
  for (let l = 0; l < lists.length; l++) {
    const list = lists[l];
    if (list === undefined) continue;
    for (let i = 0; i < lengths[l]!; i++) {
      const kind = goKind(list[i], path);
      if (first === undefined) {
        // Go reads the kind of a nil item's type and crashes.
        if (kind === "nil") throw smpError(path, "a list item is null (kubectl crashes on it)");
        if (kind === "slice") throw smpError(path, "lists of lists are not supported");
        first = kind;
      } else if (kind !== first) {
        throw smpError(
          path,
          `list items must all have the same JSON type (Go: ${goTypeName(first)}), found a ${goTypeName(kind)}`,
        );
      }
    }
  }
  if (first === undefined) throw smpError(path, "no elements in any of the given lists");
  return first === "map" ? "map" : "scalar";
}
