import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { quoteJoin, quoteWord } from "../../src/expand/shell-quote.ts";

describe("quoting one word", () => {
  test("an empty word becomes a pair of single quotes", () => {
    expect(quoteWord("")).toBe("''");
  });

  test("a word without special characters is left as it is", () => {
    expect(quoteWord("hello")).toBe("hello");
    expect(quoteWord("-halt")).toBe("-halt");
  });

  test.each([
    ["\\", "\\\\"],
    ["'", "\\'"],
    ['"', '\\"'],
    ["`", "\\`"],
    ["$", "\\$"],
    ["{", "\\{"],
    ["[", "\\["],
    ["|", "\\|"],
    ["&", "\\&"],
    [";", "\\;"],
    ["<", "\\<"],
    [">", "\\>"],
    ["(", "\\("],
    [")", "\\)"],
    ["*", "\\*"],
    ["?", "\\?"],
    ["!", "\\!"],
  ])("%s is escaped with a backslash", (character, quoted) => {
    expect(quoteWord(character)).toBe(quoted);
    expect(quoteWord(`a${character}b`)).toBe(`a${quoted}b`);
  });

  test.each([
    "]",
    "}",
    "#",
    "=",
    "%",
    "^",
    ",",
    "-",
    "+",
    "/",
    ":",
    "@",
    ".",
    "_",
    "é",
    "日本",
    "🐳",
    "\r",
    "\u00a0",
  ])("%j is left literal", (character) => {
    expect(quoteWord(`a${character}b`)).toBe(`a${character}b`);
  });

  test("a tilde is escaped only as the first character", () => {
    expect(quoteWord("~")).toBe("\\~");
    expect(quoteWord("~/x")).toBe("\\~/x");
    expect(quoteWord("a~b")).toBe("a~b");
    expect(quoteWord("~~")).toBe("\\~~");
    expect(quoteWord("$~")).toBe("\\$~");
  });

  test("a word with a space, tab or newline is single-quoted instead, with nothing escaped inside", () => {
    expect(quoteWord("hello world")).toBe("'hello world'");
    expect(quoteWord("a\tb")).toBe("'a\tb'");
    expect(quoteWord("line one\nline two")).toBe("'line one\nline two'");
    expect(quoteWord("$HOME *.txt")).toBe("'$HOME *.txt'");
    expect(quoteWord("~ x")).toBe("'~ x'");
    expect(quoteWord("back\\slash here")).toBe("'back\\slash here'");
  });

  test("a single quote in a quoted word closes the quotes and is written as \\'", () => {
    expect(quoteWord("it's here")).toBe("'it'\\''s here'");
    expect(quoteWord("echo 'hello world'")).toBe("'echo '\\''hello world'\\'");
  });

  test("quotes reopen only when text follows a single quote", () => {
    expect(quoteWord("' x")).toBe("\\'' x'");
    expect(quoteWord("x '")).toBe("'x '\\'");
    expect(quoteWord("a '' b")).toBe("'a '\\'\\'' b'");
    expect(quoteWord("' '")).toBe("\\'' '\\'");
  });

  test("a lone single quote or a run of them is backslash-escaped", () => {
    expect(quoteWord("'")).toBe("\\'");
    expect(quoteWord("'''")).toBe("\\'\\'\\'");
    expect(quoteWord("it's")).toBe("it\\'s");
  });
});

describe("joining words", () => {
  test("no words join to nothing", () => {
    expect(quoteJoin([])).toBe("");
  });

  test("words are quoted one by one and joined with single spaces", () => {
    expect(quoteJoin(["one", "two three", ""])).toBe("one 'two three' ''");
  });

  test("the §3 argument row quotes every kind of word as go-shellquote does", () => {
    expect(
      quoteJoin(["echo", "$HOME", "~/x", "a~b", "", "it's", "a*b", "x=y", "[a]", "{b}", "back\\slash"]),
    ).toBe("echo \\$HOME \\~/x a~b '' it\\'s a\\*b x=y \\[a] \\{b} back\\\\slash");
  });

  test("a leading # is left unescaped, as upstream does, although a shell would read a comment", () => {
    expect(quoteJoin(["echo", "#not-a-comment"])).toBe("echo #not-a-comment");
  });
});

describe.skipIf(!existsSync("/bin/sh"))("the shell reads quoted words back unchanged", () => {
  const words = [
    "plain",
    "",
    "two words",
    "tab\tseparated",
    "multi\nline\n\nscript",
    "it's",
    "it's quoted",
    "'",
    "''",
    "' leading",
    "trailing '",
    "~",
    "~/home",
    "a~b",
    "$HOME",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal text is what the shell must not expand
    "${HOME}",
    "$(whoami)",
    "`whoami`",
    "a*b?c[d]",
    "{a,b}",
    "x=y",
    "back\\slash",
    "back\\slash and space",
    'double "quotes"',
    "semi;colon&amp|pipe<in>out",
    "bang!",
    "unicode é 日本 🐳",
    "carriage\rreturn",
    "set -euo pipefail\n\necho Hello World!\necho Goodbye World!",
  ];

  test("every word survives sh word splitting and expansion", () => {
    const printed = execFileSync("/bin/sh", ["-c", `printf '%s\\0' ${quoteJoin(words)}`], {
      encoding: "utf8",
    });
    expect(printed.split("\0").slice(0, -1)).toEqual(words);
  });
});
