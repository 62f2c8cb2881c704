import { describe, expect, test } from "vitest";
import { interpose } from "../../src/expand/interposer.ts";
import type { Interposer } from "../../src/params/types.ts";

interface Row {
  readonly command: readonly string[];
  readonly args: readonly string[];
  readonly buildkite: string;
  readonly vector: string;
  readonly legacy: string;
}

/** podspec-expansion.md §3, worked examples, row by row. */
const SPEC_ROWS: readonly Row[] = [
  {
    command: ["one", "two", "three", "four", "five six seven eight"],
    args: ["nine", "ten", "eleven twelve"],
    buildkite: "one\ntwo\nthree\nfour\nfive six seven eight nine ten 'eleven twelve'",
    vector: "one two three four 'five six seven eight' nine ten 'eleven twelve'",
    legacy: "one two three four five six seven eight nine ten eleven twelve",
  },
  {
    command: ["echo 'hello world'", "ls -halt", "touch"],
    args: ["example file.txt"],
    buildkite: "echo 'hello world'\nls -halt\ntouch 'example file.txt'",
    vector: "'echo '\\''hello world'\\' 'ls -halt' touch 'example file.txt'",
    legacy: "echo 'hello world' ls -halt touch example file.txt",
  },
  {
    command: ["echo"],
    args: ["hello world"],
    buildkite: "echo 'hello world'",
    vector: "echo 'hello world'",
    legacy: "echo hello world",
  },
  {
    command: ["sh", "-c"],
    args: ["echo 'some contents' > some-file"],
    buildkite: "sh\n-c 'echo '\\''some contents'\\'' > some-file'",
    vector: "sh -c 'echo '\\''some contents'\\'' > some-file'",
    legacy: "sh -c echo 'some contents' > some-file",
  },
  { command: ["ls"], args: ["-halt"], buildkite: "ls -halt", vector: "ls -halt", legacy: "ls -halt" },
  {
    command: ["echo hello world"],
    args: [],
    buildkite: "echo hello world",
    vector: "'echo hello world'",
    legacy: "echo hello world",
  },
  {
    command: ["this should"],
    args: ["work", "as", "expected"],
    buildkite: "this should work as expected",
    vector: "'this should' work as expected",
    legacy: "this should work as expected",
  },
  { command: [], args: ["echo", "hi"], buildkite: " echo hi", vector: "echo hi", legacy: "echo hi" },
  {
    command: ["echo"],
    args: ["$HOME", "~/x", "a~b", "", "it's", "a*b", "x=y", "[a]", "{b}", "back\\slash"],
    buildkite: "echo \\$HOME \\~/x a~b '' it\\'s a\\*b x=y \\[a] \\{b} back\\\\slash",
    vector: "echo \\$HOME \\~/x a~b '' it\\'s a\\*b x=y \\[a] \\{b} back\\\\slash",
    legacy: "echo $HOME ~/x a~b  it's a*b x=y [a] {b} back\\slash",
  },
];

describe("the §3 worked examples", () => {
  test.each(SPEC_ROWS)("buildkite: $command + $args", (row) => {
    expect(interpose("buildkite", row.command, row.args)).toBe(row.buildkite);
  });

  test.each(SPEC_ROWS)("an empty interposer behaves as buildkite: $command + $args", (row) => {
    expect(interpose("", row.command, row.args)).toBe(row.buildkite);
  });

  test.each(SPEC_ROWS)("vector: $command + $args", (row) => {
    expect(interpose("vector", row.command, row.args)).toBe(row.vector);
  });

  test.each(SPEC_ROWS)("legacy: $command + $args", (row) => {
    expect(interpose("legacy", row.command, row.args)).toBe(row.legacy);
  });
});

describe("the interposer-vector.yaml fixture", () => {
  test("vector quotes the multi-line script argument as one word with real newlines", () => {
    const script = "set -euo pipefail\n\necho Hello World!\necho Goodbye World!";
    expect(interpose("vector", ["ash"], ["-c", script])).toBe(
      "ash -c 'set -euo pipefail\n\necho Hello World!\necho Goodbye World!'",
    );
  });
});

describe("edge cases", () => {
  test("no command and no args give an empty command for every interposer", () => {
    expect(interpose("buildkite", [], [])).toBe("");
    expect(interpose("vector", [], [])).toBe("");
    expect(interpose("legacy", [], [])).toBe("");
  });

  test("buildkite leaves command lines unquoted, even with characters the shell treats specially", () => {
    expect(interpose("buildkite", ["echo $HOME", "ls *.txt"], [])).toBe("echo $HOME\nls *.txt");
  });

  test("buildkite with an empty command and one argument starts with a space", () => {
    expect(interpose("buildkite", [], ["make test"])).toBe(" 'make test'");
  });

  test("an empty argument stays visible as '' for buildkite and vector, and vanishes for legacy", () => {
    expect(interpose("buildkite", ["printf"], [""])).toBe("printf ''");
    expect(interpose("vector", ["printf"], [""])).toBe("printf ''");
    expect(interpose("legacy", ["printf"], [""])).toBe("printf ");
  });

  test("unicode passes through unquoted unless it contains whitespace", () => {
    expect(interpose("vector", ["echo"], ["héllo", "日本 語", "🐳"])).toBe("echo héllo '日本 語' 🐳");
    expect(interpose("buildkite", ["echo"], ["héllo", "日本 語"])).toBe("echo héllo '日本 語'");
    expect(interpose("legacy", ["echo"], ["日本 語"])).toBe("echo 日本 語");
  });

  test("a newline inside an argument stays literal inside single quotes", () => {
    expect(interpose("buildkite", ["sh", "-c"], ["a\nb"])).toBe("sh\n-c 'a\nb'");
    expect(interpose("vector", ["sh", "-c"], ["a\nb"])).toBe("sh -c 'a\nb'");
  });

  test("a newline inside a command item is kept as is by buildkite and legacy", () => {
    expect(interpose("buildkite", ["echo a\necho b"], [])).toBe("echo a\necho b");
    expect(interpose("legacy", ["echo a\necho b"], ["c"])).toBe("echo a\necho b c");
  });

  test("lone quotes are escaped, not left to open a string", () => {
    expect(interpose("vector", ["echo"], ["'"])).toBe("echo \\'");
    expect(interpose("vector", ["echo"], ['"'])).toBe('echo \\"');
    expect(interpose("buildkite", ["echo"], ["it's", 'say "hi"'])).toBe("echo it\\'s 'say \"hi\"'");
    expect(interpose("legacy", ["echo"], ["'"])).toBe("echo '");
  });

  test("the inputs are not modified", () => {
    const command = Object.freeze(["sh", "-c"]);
    const args = Object.freeze(["echo hi"]);
    interpose("vector", command, args);
    expect(command).toEqual(["sh", "-c"]);
    expect(args).toEqual(["echo hi"]);
  });

  test("an interposer that decoding should have refused throws instead of producing a command", () => {
    expect(() => interpose("bogus" as Interposer, ["echo"], [])).toThrow('invalid interposer "bogus"');
  });
});
