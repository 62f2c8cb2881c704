/**
 * Shell quoting exactly as go-shellquote's `Join` does it (podspec-expansion.md §3). Upstream builds
 * `BUILDKITE_COMMAND` with it, and users' steps depend on the precise text, so this reproduces its
 * choices rather than the shortest or safest quoting.
 */

/** Characters a backslash makes literal to the shell. Everything else stays as it is. */
const BACKSLASH_ESCAPED = "\\'\"`${[|&;<>()*?!";

/** A backslash cannot make these readable (a backslash-newline is a line continuation): quote the word. */
const NEEDS_QUOTES = /[ \t\n]/;

/** Tilde expansion only happens at the start of a word, so only a leading `~` is escaped. */
const ESCAPED_WHEN_FIRST = "~";

/** One word as shell text that the shell reads back as exactly that word. */
export function quoteWord(word: string): string {
  if (word === "") return "''";
  return NEEDS_QUOTES.test(word) ? singleQuoted(word) : backslashEscaped(word);
}

/** The words quoted one by one and joined with single spaces. */
export function quoteJoin(words: readonly string[]): string {
  return words.map(quoteWord).join(" ");
}

function backslashEscaped(word: string): string {
  let text = "";
  let first = true;
  for (const character of word) {
    const escaped = BACKSLASH_ESCAPED.includes(character) || (first && character === ESCAPED_WHEN_FIRST);
    text += escaped ? `\\${character}` : character;
    first = false;
  }
  return text;
}

/**
 * Single quotes keep everything literal except `'` itself, which closes the quotes, is written as
 * `\'`, and the quotes reopen only if more text follows (so `it's a` becomes `'it'\''s a'`).
 */
function singleQuoted(word: string): string {
  const segments = word.split("'");
  const last = segments.pop() ?? "";
  const quotedSegments = segments.map((segment) => `${quotedUnlessEmpty(segment)}\\'`);
  return quotedSegments.join("") + quotedUnlessEmpty(last);
}

function quotedUnlessEmpty(segment: string): string {
  return segment === "" ? "" : `'${segment}'`;
}
