// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are pipeline text to interpolate, not templates.
/** `$VAR` interpolation with the grammar of `buildkite-agent pipeline upload`. */
import { describe, expect, test } from "vitest";
import { InterpolationError, interpolate } from "../../src/buildkite/interpolate.ts";

const env = new Map([
  ["TEST1", "A test"],
  ["TEST3", "Llamas"],
  ["EMPTY", ""],
  ["COMMIT", "1adf998e39f647b4b25842f107c6ed9d30a3a7c7"],
  ["VERSION", "123.55.66"],
  ["NESTED", "Only one level of $TEST3 interpolation"],
]);

describe("expands", () => {
  test.each([
    ["no $ at all", "plain text", "plain text"],
    ["$VAR", "$TEST1", "A test"],
    ["${VAR}", "my${TEST1}!", "myA test!"],
    ["an unset variable as nothing", "[$UNSET] [${UNSET}]", "[] []"],
    ["names case-sensitively", "$Test1", ""],
    ["once, not the value again", "$NESTED", "Only one level of $TEST3 interpolation"],
    ["an identifier as long as it goes", "$TEST1_$TEST3", "Llamas"],
    ["${VAR:-default} when unset", "${UNSET:-fallback}", "fallback"],
    ["${VAR:-default} when empty", "${EMPTY:-fallback}", "fallback"],
    ["${VAR-default} only when unset", "[${EMPTY-x}] [${UNSET-y}]", "[] [y]"],
    ["a default that is interpolated too", "${UNSET:-${ALSO_UNSET:-$TEST1}}", "A test"],
    ["${VAR:offset}", "${COMMIT:7}", "e39f647b4b25842f107c6ed9d30a3a7c7"],
    ["${VAR:offset:length}", "${COMMIT:0:7}", "1adf998"],
    ["${VAR: -offset} from the end", "${COMMIT: -7}", "0a3a7c7"],
    ["${VAR:-7} as a negative offset", "${COMMIT:-7}", "0a3a7c7"],
    ["a negative length", "${COMMIT:7:-7}", "e39f647b4b25842f107c6ed9d3"],
    ["offsets out of range", "[${COMMIT:128}] [${COMMIT: -128:7}]", "[] [1adf998]"],
    ["${VAR%pattern}", "${VERSION%.*}", "123.55"],
    ["${VAR%%pattern}", "${VERSION%%.*}", "123"],
    ["${VAR#pattern}", "${VERSION#*.}", "55.66"],
    ["${VAR##pattern}", "${VERSION##*.}", "66"],
    ["$$ as a literal $", "echo $$HOME $${BRACED}", "echo $HOME ${BRACED}"],
    ["\\$ as a literal $", "echo \\$HOME", "echo $HOME"],
    ["\\\\ left as written", "a\\\\b", "a\\\\b"],
    ["$( left to the shell", "echo $(date) $(", "echo $(date) $("],
    ["a $ at the very end", "costs 5$", "costs 5$"],
  ])("%s", (_name, text, expected) => {
    expect(interpolate(text, env)).toBe(expected);
  });
});

describe("fails as pipeline upload fails", () => {
  test.each([
    [
      "a $ before a digit",
      "echo $1",
      "Expected identifier to start with a letter, got 1 (write $$ for a literal $)",
    ],
    [
      "a $ before a /",
      "build.tag =~ /^v$/",
      "Expected identifier to start with a letter, got / (write $$ for a literal $)",
    ],
    ["an unset required variable", "${NEEDED?}", "$NEEDED: not set"],
    [
      "an unset required variable, with its message",
      "${NEEDED?set NEEDED to deploy}",
      "$NEEDED: set NEEDED to deploy",
    ],
    ["an unknown operator", "${TEST1=x}", "Expected an operator, got ="],
    ["an unclosed brace", "${TEST1:-x", "Expected brace expansion to end with }, got end of text"],
    ["a substring that is no number", "${TEST1:x}", 'Unable to parse offset: "x" is not an integer'],
  ])("%s", (_name, text, message) => {
    expect(() => interpolate(text, env)).toThrow(new InterpolationError(message));
  });

  test("a required variable that is set but empty is fine", () => {
    expect(interpolate("[${EMPTY?}]", env)).toBe("[]");
  });
});
