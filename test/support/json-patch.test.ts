/** The tests' own JSON Patch applier, against the examples of RFC 6902 Appendix A and RFC 6901 §5. */
import { describe, expect, test } from "vitest";
import { applyJsonPatch, deepEqual, parsePointer } from "./json-patch.ts";

describe("RFC 6902 Appendix A", () => {
  const cases: ReadonlyArray<[string, unknown, unknown[], unknown]> = [
    [
      "A.1 adding an object member",
      { foo: "bar" },
      [{ op: "add", path: "/baz", value: "qux" }],
      { baz: "qux", foo: "bar" },
    ],
    [
      "A.2 adding an array element",
      { foo: ["bar", "baz"] },
      [{ op: "add", path: "/foo/1", value: "qux" }],
      { foo: ["bar", "qux", "baz"] },
    ],
    [
      "A.3 removing an object member",
      { baz: "qux", foo: "bar" },
      [{ op: "remove", path: "/baz" }],
      { foo: "bar" },
    ],
    [
      "A.4 removing an array element",
      { foo: ["bar", "qux", "baz"] },
      [{ op: "remove", path: "/foo/1" }],
      { foo: ["bar", "baz"] },
    ],
    [
      "A.5 replacing a value",
      { baz: "qux", foo: "bar" },
      [{ op: "replace", path: "/baz", value: "boo" }],
      { baz: "boo", foo: "bar" },
    ],
    [
      "A.6 moving a value",
      { foo: { bar: "baz", waldo: "fred" }, qux: { corge: "grault" } },
      [{ op: "move", from: "/foo/waldo", path: "/qux/thud" }],
      { foo: { bar: "baz" }, qux: { corge: "grault", thud: "fred" } },
    ],
    [
      "A.7 moving an array element",
      { foo: ["all", "grass", "cows", "eat"] },
      [{ op: "move", from: "/foo/1", path: "/foo/3" }],
      { foo: ["all", "cows", "eat", "grass"] },
    ],
    [
      "A.8 testing a value: success",
      { baz: "qux", foo: ["a", 2, "c"] },
      [
        { op: "test", path: "/baz", value: "qux" },
        { op: "test", path: "/foo/1", value: 2 },
      ],
      { baz: "qux", foo: ["a", 2, "c"] },
    ],
    [
      "A.10 adding a nested member object",
      { foo: "bar" },
      [{ op: "add", path: "/child", value: { grandchild: {} } }],
      { foo: "bar", child: { grandchild: {} } },
    ],
    [
      "A.11 ignoring unrecognized elements",
      { foo: "bar" },
      [{ op: "add", path: "/baz", value: "qux", xyz: 123 }],
      { foo: "bar", baz: "qux" },
    ],
    [
      "A.14 ~ escape ordering",
      { "/": 9, "~1": 10 },
      [{ op: "test", path: "/~01", value: 10 }],
      { "/": 9, "~1": 10 },
    ],
    [
      "A.16 adding an array value",
      { foo: ["bar"] },
      [{ op: "add", path: "/foo/-", value: ["abc", "def"] }],
      { foo: ["bar", ["abc", "def"]] },
    ],
  ];
  for (const [name, document, patch, expected] of cases) {
    test(name, () => {
      expect(applyJsonPatch(document, patch)).toEqual(expected);
    });
  }

  const failures: ReadonlyArray<[string, unknown, unknown[], RegExp]> = [
    [
      "A.9 testing a value: error",
      { baz: "qux" },
      [{ op: "test", path: "/baz", value: "bar" }],
      /test failed/,
    ],
    [
      "A.12 adding to a nonexistent target",
      { foo: "bar" },
      [{ op: "add", path: "/baz/bat", value: "qux" }],
      /"baz" does not exist/,
    ],
    [
      "A.15 comparing strings and numbers",
      { "/": 9, "~1": 10 },
      [{ op: "test", path: "/~01", value: "10" }],
      /test failed/,
    ],
  ];
  for (const [name, document, patch, message] of failures) {
    test(name, () => {
      expect(() => applyJsonPatch(document, patch)).toThrow(message);
    });
  }
});

describe("operations", () => {
  test("copy duplicates a value without sharing it", () => {
    const result = applyJsonPatch({ a: { b: [1] } }, [
      { op: "copy", from: "/a", path: "/c" },
      { op: "add", path: "/c/b/-", value: 2 },
    ]);
    expect(result).toEqual({ a: { b: [1] }, c: { b: [1, 2] } });
  });

  test("replace needs an existing target", () => {
    expect(() => applyJsonPatch({}, [{ op: "replace", path: "/a", value: 1 }])).toThrow(/"a" does not exist/);
  });

  test("remove of a missing array index fails", () => {
    expect(() => applyJsonPatch({ a: [1] }, [{ op: "remove", path: "/a/1" }])).toThrow(
      /index 1 does not exist/,
    );
  });

  test("add past the end of an array fails, at the end it appends", () => {
    expect(applyJsonPatch([1], [{ op: "add", path: "/1", value: 2 }])).toEqual([1, 2]);
    expect(() => applyJsonPatch([1], [{ op: "add", path: "/3", value: 2 }])).toThrow(/past the end/);
  });

  test("array indexes with leading zeros are refused", () => {
    expect(() => applyJsonPatch([1, 2], [{ op: "remove", path: "/01" }])).toThrow(/not an array index/);
  });

  test("a value cannot move into its own child", () => {
    expect(() => applyJsonPatch({ a: { b: 1 } }, [{ op: "move", from: "/a", path: "/a/c" }])).toThrow(
      /own child/,
    );
  });

  test("the whole document can be replaced", () => {
    expect(applyJsonPatch({ a: 1 }, [{ op: "replace", path: "", value: [1] }])).toEqual([1]);
  });

  test("a failing operation leaves the input untouched", () => {
    const document = { a: 1 };
    expect(() =>
      applyJsonPatch(document, [
        { op: "add", path: "/b", value: 2 },
        { op: "test", path: "/a", value: 2 },
      ]),
    ).toThrow(/operation 1/);
    expect(document).toEqual({ a: 1 });
  });

  test("a __proto__ member is data, not a prototype", () => {
    const result = applyJsonPatch({}, [
      { op: "add", path: "/__proto__", value: { polluted: true } },
    ]) as Record<string, unknown>;
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(Object.keys(result)).toEqual(["__proto__"]);
  });

  test("unknown ops and missing values are errors", () => {
    expect(() => applyJsonPatch({}, [{ op: "merge", path: "/a" }])).toThrow(/unknown op/);
    expect(() => applyJsonPatch({}, [{ op: "add", path: "/a" }])).toThrow(/value is missing/);
  });
});

describe("JSON Pointer (RFC 6901 §5)", () => {
  const document = {
    foo: ["bar", "baz"],
    "": 0,
    "a/b": 1,
    "c%d": 2,
    "e^f": 3,
    "g|h": 4,
    "i\\j": 5,
    'k"l': 6,
    " ": 7,
    "m~n": 8,
  };
  const cases: ReadonlyArray<[string, unknown]> = [
    ["", document],
    ["/foo", ["bar", "baz"]],
    ["/foo/0", "bar"],
    ["/", 0],
    ["/a~1b", 1],
    ["/c%d", 2],
    ["/e^f", 3],
    ["/g|h", 4],
    ["/i\\j", 5],
    ['/k"l', 6],
    ["/ ", 7],
    ["/m~0n", 8],
  ];
  for (const [pointer, value] of cases) {
    test(`${JSON.stringify(pointer)} points at ${JSON.stringify(value)}`, () => {
      expect(applyJsonPatch(document, [{ op: "test", path: pointer, value }])).toEqual(document);
    });
  }

  test("pointers without a leading slash and bad escapes are refused", () => {
    expect(() => parsePointer("foo")).toThrow(/does not start/);
    expect(() => parsePointer("/a~2")).toThrow(/invalid ~ escape/);
    expect(() => parsePointer("/a~")).toThrow(/invalid ~ escape/);
  });
});

test("equality ignores key order but not array order", () => {
  expect(deepEqual({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 })).toBe(true);
  expect(deepEqual([1, 2], [2, 1])).toBe(false);
  expect(deepEqual({ a: undefined }, {})).toBe(false);
});
