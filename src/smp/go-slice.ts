/**
 * Go slices, because kubectl's result depends on them: strategicpatch appends to and deletes from
 * the original list in place, and later reads the original again to order the result. When the list
 * has spare capacity, those writes land in memory the original still sees, and the order changes
 * (`finalizers: [a, b, a]` patched with `[c]` gives `[a, b, c]`, while `[a, b, a, d]` gives
 * `[c, a, b, d]`). So a list here is a backing array with a length and Go's capacity.
 */

export interface GoSlice {
  /** The backing array; other slices may share it. Entries at and past `len` may be stale. */
  readonly buf: unknown[];
  readonly len: number;
  readonly cap: number;
}

/** Go 1.23 runtime size classes (bytes), used by `append` to round its allocations up. */
const SIZE_CLASSES = [
  8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320, 352, 384, 416,
  448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792, 2048, 2304, 2688, 3072, 3200,
  3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728, 10240, 10880, 12288, 13568, 14336, 16384,
  18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768,
];
/** An `interface{}` is two words. */
const ELEMENT_BYTES = 16;
const MALLOC_HEADER_BYTES = 8;
/** Objects with pointers above this size carry a malloc header (Go ≥ 1.22). */
const MIN_SIZE_FOR_MALLOC_HEADER = 512;
const MAX_SMALL_SIZE = 32768;
const PAGE_SIZE = 8192;
const GROWTH_THRESHOLD = 256;

function roundUpSize(size: number): number {
  if (size > MAX_SMALL_SIZE - MALLOC_HEADER_BYTES) return Math.ceil(size / PAGE_SIZE) * PAGE_SIZE;
  const request = size > MIN_SIZE_FOR_MALLOC_HEADER ? size + MALLOC_HEADER_BYTES : size;
  const sizeClass = SIZE_CLASSES.find((candidate) => candidate >= request)!;
  return sizeClass - (request - size);
}

function nextCapacity(newLen: number, oldCap: number): number {
  const doubled = oldCap * 2;
  if (newLen > doubled) return newLen;
  if (oldCap < GROWTH_THRESHOLD) return doubled;
  let capacity = oldCap;
  do capacity += (capacity + 3 * GROWTH_THRESHOLD) >> 2;
  while (capacity < newLen);
  return capacity;
}

/** The capacity `append` gives a slice of capacity `oldCap` that must hold `newLen` items. */
export function grownCapacity(oldCap: number, newLen: number): number {
  return Math.floor(roundUpSize(nextCapacity(newLen, oldCap) * ELEMENT_BYTES) / ELEMENT_BYTES);
}

const decodedCapacities: number[] = [0];

/**
 * The capacity of a JSON list of `length` items after `encoding/json` decoded it into `[]interface{}`
 * by appending one item at a time: 1, 2, 4, 8, 16, 32, 71, 143, 303, 591… (checked against kubectl).
 */
export function decodedCapacity(length: number): number {
  while (decodedCapacities[decodedCapacities.length - 1]! < length) {
    const last = decodedCapacities[decodedCapacities.length - 1]!;
    decodedCapacities.push(grownCapacity(last, last + 1));
  }
  return decodedCapacities.find((capacity) => capacity >= length)!;
}

/** A slice over a private copy of `items` (the copy stands for the memory Go decoded them into). */
export function sliceOf(items: readonly unknown[], cap: number): GoSlice {
  return { buf: items.slice(), len: items.length, cap };
}

/** Go's `append(s, items...)`: in place when the capacity allows, so other views of `buf` see it. */
export function goAppend(slice: GoSlice, items: readonly unknown[]): GoSlice {
  const len = slice.len + items.length;
  if (len <= slice.cap) {
    for (let i = 0; i < items.length; i++) slice.buf[slice.len + i] = items[i];
    return { buf: slice.buf, len, cap: slice.cap };
  }
  const buf = slice.buf.slice(0, slice.len);
  for (const item of items) buf.push(item);
  return { buf, len, cap: grownCapacity(slice.cap, len) };
}

/** Go's `append(s[:i], s[i+1:]...)`: shifts the tail left in place and leaves the last slot stale. */
export function goRemoveAt(slice: GoSlice, index: number): GoSlice {
  for (let i = index; i < slice.len - 1; i++) slice.buf[i] = slice.buf[i + 1];
  return { buf: slice.buf, len: slice.len - 1, cap: slice.cap };
}
