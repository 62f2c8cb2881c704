/**
 * Go's `sort.SliceStable`: insertion sort on blocks of 20, then in-place SymMerge rounds. strategicpatch
 * sorts with a "less" that answers true whenever an item is missing from the reference order, which
 * is not a strict weak order; with such a comparator only the same algorithm gives the same result.
 */
export type Less<T> = (left: T, right: T) => boolean;

const BLOCK_SIZE = 20;

export function goStableSort<T>(data: T[], less: Less<T>): void {
  const n = data.length;
  let blockSize = BLOCK_SIZE;
  let a = 0;
  let b = blockSize;
  while (b <= n) {
    insertionSort(data, a, b, less);
    a = b;
    b += blockSize;
  }
  insertionSort(data, a, n, less);
  while (blockSize < n) {
    a = 0;
    b = 2 * blockSize;
    while (b <= n) {
      symMerge(data, a, a + blockSize, b, less);
      a = b;
      b += 2 * blockSize;
    }
    const m = a + blockSize;
    if (m < n) symMerge(data, a, m, n, less);
    blockSize *= 2;
  }
}

function swap<T>(data: T[], i: number, j: number): void {
  const item = data[i]!;
  data[i] = data[j]!;
  data[j] = item;
}

function insertionSort<T>(data: T[], a: number, b: number, less: Less<T>): void {
  for (let i = a + 1; i < b; i++) {
    for (let j = i; j > a && less(data[j]!, data[j - 1]!); j--) swap(data, j, j - 1);
  }
}

/** Merges the sorted runs data[a:m] and data[m:b] in place (Kim & Kutzner's SymMerge, as Go has it). */
function symMerge<T>(data: T[], a: number, m: number, b: number, less: Less<T>): void {
  if (m - a === 1) {
    insertFirst(data, a, m, b, less);
    return;
  }
  if (b - m === 1) {
    insertLast(data, a, m, less);
    return;
  }
  const mid = (a + b) >>> 1;
  const n = mid + m;
  let start: number;
  let r: number;
  if (m > mid) {
    start = n - b;
    r = mid;
  } else {
    start = a;
    r = m;
  }
  const p = n - 1;
  while (start < r) {
    const c = (start + r) >>> 1;
    if (!less(data[p - c]!, data[c]!)) start = c + 1;
    else r = c;
  }
  const end = n - start;
  if (start < m && m < end) rotate(data, start, m, end);
  if (a < start && start < mid) symMerge(data, a, start, mid, less);
  if (mid < end && end < b) symMerge(data, mid, end, b, less);
}

/** data[a] moves into the sorted run data[m:b]. */
function insertFirst<T>(data: T[], a: number, m: number, b: number, less: Less<T>): void {
  let i = m;
  let j = b;
  while (i < j) {
    const h = (i + j) >>> 1;
    if (less(data[h]!, data[a]!)) i = h + 1;
    else j = h;
  }
  for (let k = a; k < i - 1; k++) swap(data, k, k + 1);
}

/** data[m] moves into the sorted run data[a:m]. */
function insertLast<T>(data: T[], a: number, m: number, less: Less<T>): void {
  let i = a;
  let j = m;
  while (i < j) {
    const h = (i + j) >>> 1;
    if (!less(data[m]!, data[h]!)) i = h + 1;
    else j = h;
  }
  for (let k = m; k > i; k--) swap(data, k, k - 1);
}

function rotate<T>(data: T[], a: number, m: number, b: number): void {
  let i = m - a;
  let j = b - m;
  while (i !== j) {
    if (i > j) {
      swapRange(data, m - i, m, j);
      i -= j;
    } else {
      swapRange(data, m - i, m + j - i, i);
      j -= i;
    }
  }
  swapRange(data, m - i, m, i);
}

function swapRange<T>(data: T[], a: number, b: number, n: number): void {
  for (let i = 0; i < n; i++) swap(data, a + i, b + i);
}
