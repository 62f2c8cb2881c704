import { describe, expect, test } from "vitest";
import { decodedCapacity, goAppend, goRemoveAt, grownCapacity, sliceOf } from "../../src/smp/go-slice.ts";
import { goStableSort } from "../../src/smp/go-sort.ts";

describe("Go slice emulation", () => {
  test("decoded JSON lists have the capacities kubectl 1.32 shows", () => {
    // Measured with kubectl: the lengths n whose decoded list has no spare capacity (cap == n), up to 620.
    const full = [];
    for (let n = 1; n <= 620; n++) if (decodedCapacity(n) === n) full.push(n);
    expect(full).toStrictEqual([1, 2, 4, 8, 16, 32, 71, 143, 303, 591]);
    expect(decodedCapacity(0)).toBe(0);
    expect(decodedCapacity(3)).toBe(4);
    expect(decodedCapacity(33)).toBe(71);
  });

  test("append grows to Go's size classes", () => {
    expect(grownCapacity(4, 5)).toBe(8);
    expect(grownCapacity(32, 33)).toBe(71);
    expect(grownCapacity(4, 20)).toBe(20);
    expect(grownCapacity(0, 3)).toBe(3);
  });

  test("append writes into shared memory while the capacity lasts", () => {
    const original = sliceOf(["a", "b", "c"], 4);
    const appended = goAppend(original, ["d"]);
    expect(appended.buf).toBe(original.buf);
    expect(original.buf.slice(0, 4)).toStrictEqual(["a", "b", "c", "d"]);
    const grown = goAppend(appended, ["e"]);
    expect(grown.buf).not.toBe(original.buf);
    expect(grown.cap).toBe(8);
  });

  test("removing an item shifts the rest left and leaves the last slot stale", () => {
    const slice = sliceOf(["a", "b", "c"], 4);
    const removed = goRemoveAt(slice, 0);
    expect(removed.len).toBe(2);
    expect(slice.buf.slice(0, 3)).toStrictEqual(["b", "c", "c"]);
  });
});

describe("Go's stable sort", () => {
  function random(seed: number): () => number {
    let state = seed;
    return () => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state / 2 ** 31;
    };
  }

  test("sorts stably with a consistent comparator, in and beyond insertion-sort blocks", () => {
    const next = random(7);
    for (const size of [0, 1, 5, 19, 20, 21, 40, 41, 100, 333]) {
      const items = Array.from({ length: size }, (_, id) => ({ key: Math.floor(next() * 10), id }));
      const expected = [...items].sort((a, b) => a.key - b.key);
      const actual = [...items];
      goStableSort(actual, (a, b) => a.key < b.key);
      expect(actual).toStrictEqual(expected);
    }
  });

  test("keeps Go's result for kubectl's comparator that calls unknown items smaller both ways", () => {
    // Items missing from the order (-1) compare as less than anything; insertion sort then moves
    // each of them to the front of the run it has seen so far.
    const order = new Map([
      ["b", 0],
      ["c", 1],
    ]);
    const data = ["c", "x", "b", "y"];
    goStableSort(data, (left, right) => {
      const l = order.get(left) ?? -1;
      if (l < 0) return true;
      const r = order.get(right) ?? -1;
      return r < 0 || l < r;
    });
    expect(data).toStrictEqual(["y", "b", "x", "c"]);
  });
});
