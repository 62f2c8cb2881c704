/**
 * Environment interpolation of pipeline text, as `buildkite-agent pipeline upload` does it (the agent's
 * `github.com/buildkite/interpolate` grammar):
 *
 * | written              | becomes                                                            |
 * | -------------------- | ------------------------------------------------------------------ |
 * | `$VAR`, `${VAR}`     | the value, or nothing when unset                                   |
 * | `${VAR:-word}`       | `word` when VAR is unset or empty (`word` is interpolated too)     |
 * | `${VAR-word}`        | `word` when VAR is unset                                           |
 * | `${VAR?message}`     | an error when VAR is unset: `$VAR: message` (`not set` by default) |
 * | `${VAR:2}`, `${VAR:2:5}`, `${VAR: -3}` | a substring (negative offsets count from the end) |
 * | `${VAR#pat}`, `${VAR##pat}`, `${VAR%pat}`, `${VAR%%pat}` | VAR without a matching prefix/suffix |
 * | `$$`, `\$`           | a literal `$`                                                      |
 * | `$(`                 | left alone: a shell command substitution                           |
 * | `\\`                 | left alone (two backslashes)                                       |
 *
 * A `$` that starts none of these (`$1`, `$/`) is an error, as it is for the agent; write `$$`. A `$`
 * that ends the text is literal.
 */

export class InterpolationError extends Error {
  override readonly name = "InterpolationError";
}

export type InterpolationEnv = ReadonlyMap<string, string>;

type Item = { readonly text: string } | { readonly expansion: Expansion };

type Expansion =
  | { readonly kind: "value"; readonly name: string }
  | {
      readonly kind: "emptyDefault" | "unsetDefault" | "required";
      readonly name: string;
      readonly word: Item[];
    }
  | { readonly kind: "substring"; readonly name: string; readonly offset: number; readonly length?: number }
  | { readonly kind: "remove"; readonly name: string; readonly operator: string; readonly pattern: string };

/** Throws `InterpolationError` with the agent's message when the text cannot be interpolated. */
export function interpolate(text: string, env: InterpolationEnv): string {
  if (!text.includes("$")) return text;
  return expand(new Parser(text).expression(""), env);
}

function expand(items: readonly Item[], env: InterpolationEnv): string {
  return items.map((item) => ("text" in item ? item.text : expandOne(item.expansion, env))).join("");
}

function expandOne(expansion: Expansion, env: InterpolationEnv): string {
  const value = env.get(expansion.name);
  switch (expansion.kind) {
    case "value":
      return value ?? "";
    case "emptyDefault":
      return value ? value : expand(expansion.word, env);
    case "unsetDefault":
      return value ?? expand(expansion.word, env);
    case "required": {
      if (value !== undefined) return value;
      const message = expand(expansion.word, env);
      throw new InterpolationError(`$${expansion.name}: ${message === "" ? "not set" : message}`);
    }
    case "substring":
      return substring(value ?? "", expansion.offset, expansion.length);
    case "remove":
      return removeAffix(value ?? "", expansion.operator, expansion.pattern);
  }
}

/** Offsets and lengths count UTF-8 bytes in the agent; code units here, the same for ASCII values. */
function substring(value: string, offset: number, length: number | undefined): string {
  let from = offset < 0 ? offset + value.length : offset;
  from = Math.min(Math.max(from, 0), value.length);
  if (length === undefined) return value.slice(from);
  let to = length >= 0 ? from + length : Math.max(length + value.length, from);
  to = Math.min(to, value.length);
  return value.slice(from, to);
}

function removeAffix(value: string, operator: string, pattern: string): string {
  const matcher = globMatcher(pattern);
  const lengths = Array.from({ length: value.length }, (_, index) => value.length - index);
  if (operator === "#" || operator === "##") {
    // Prefixes from the longest: `##` takes the first match, `#` the last (shortest) one.
    const matching = lengths.filter((length) => matcher(value.slice(0, length)));
    const length = operator === "##" ? matching[0] : matching.at(-1);
    return length === undefined ? value : value.slice(length);
  }
  const matching = lengths.filter((length) => matcher(value.slice(value.length - length)));
  const length = operator === "%%" ? matching[0] : matching.at(-1);
  return length === undefined ? value : value.slice(0, value.length - length);
}

/** Go's `path.Match`: `*` and `?` within a path segment, `[...]` classes, `\` escapes. */
function globMatcher(pattern: string): (text: string) => boolean {
  let source = "";
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern[index]!;
    if (char === "*") source += "[^/]*";
    else if (char === "?") source += "[^/]";
    else if (char === "\\" && index + 1 < pattern.length) source += escapeRegExp(pattern[++index]!);
    else if (char === "[") {
      const end = pattern.indexOf("]", index + 2);
      if (end < 0) return () => false;
      const body = pattern.slice(index + 1, end).replace(/^\^/, "!");
      source += `[${body.startsWith("!") ? `^${body.slice(1)}` : body}]`;
      index = end;
    } else source += escapeRegExp(char);
  }
  const regexp = new RegExp(`^${source}$`, "s");
  return (text) => regexp.test(text);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

const IDENTIFIER_START = /\p{L}/u;
const IDENTIFIER_PART = /[\p{L}\p{N}_]/u;

class Parser {
  #position = 0;
  readonly #input: string;

  constructor(input: string) {
    this.#input = input;
  }

  expression(stop: string): Item[] {
    const items: Item[] = [];
    for (;;) {
      const char = this.#peek();
      if (char === undefined || stop.includes(char)) return items;
      const rest = this.#input.slice(this.#position);
      if (rest.startsWith("\\\\")) {
        this.#position += 2;
        items.push({ text: "\\\\" });
      } else if (rest.startsWith("\\$") || rest.startsWith("$$")) {
        this.#position += 2;
        items.push({ text: "$" });
      } else if (rest.startsWith("$(")) {
        this.#position += 2;
        items.push({ text: "$(" });
      } else if (char === "$" && this.#position < this.#input.length - 1) {
        items.push({ expansion: this.#expansion() });
      } else {
        this.#position += char.length;
        items.push({
          text: char + this.#scanUntil((next) => next === "$" || next === "\\" || stop.includes(next)),
        });
      }
    }
  }

  #expansion(): Expansion {
    this.#position += 1; // `$`
    if (this.#peek() !== "{") return { kind: "value", name: this.#identifier() };
    this.#position += 1;
    const name = this.#identifier();
    const operator = this.#next();
    if (operator === "}") return { kind: "value", name };
    let expansion: Expansion;
    if (operator === ":" && this.#peek() === "-") {
      this.#position += 1;
      // `${VAR:-3}` is a negative substring offset, not a default.
      expansion = isDigit(this.#peek())
        ? negated(this.#substring(name))
        : { kind: "emptyDefault", name, word: this.expression("}") };
    } else if (operator === ":") {
      expansion = this.#substring(name);
    } else if (operator === "-") {
      expansion = { kind: "unsetDefault", name, word: this.expression("}") };
    } else if (operator === "?") {
      expansion = { kind: "required", name, word: this.expression("}") };
    } else if (operator === "%" || operator === "#") {
      const doubled = this.#peek() === operator;
      if (doubled) this.#position += 1;
      const pattern = this.#scanUntil((next) => next === "}");
      expansion = { kind: "remove", name, operator: doubled ? operator + operator : operator, pattern };
    } else {
      throw new InterpolationError(`Expected an operator, got ${operator ?? "end of text"}`);
    }
    const close = this.#next();
    if (close !== "}") {
      throw new InterpolationError(`Expected brace expansion to end with }, got ${close ?? "end of text"}`);
    }
    return expansion;
  }

  #substring(name: string): Expansion {
    const offset = goAtoi(
      this.#scanUntil((next) => next === ":" || next === "}"),
      "offset",
    );
    if (this.#peek() !== ":") return { kind: "substring", name, offset };
    this.#position += 1;
    const length = goAtoi(
      this.#scanUntil((next) => next === "}"),
      "length",
    );
    return { kind: "substring", name, offset, length };
  }

  #identifier(): string {
    const first = this.#peek();
    if (first === undefined || !IDENTIFIER_START.test(first)) {
      throw new InterpolationError(
        `Expected identifier to start with a letter, got ${first ?? "end of text"} (write $$ for a literal $)`,
      );
    }
    return this.#scanUntil((next) => !IDENTIFIER_PART.test(next));
  }

  #scanUntil(stop: (char: string) => boolean): string {
    const start = this.#position;
    for (;;) {
      const char = this.#peek();
      if (char === undefined || stop(char)) break;
      this.#position += char.length;
    }
    return this.#input.slice(start, this.#position);
  }

  #peek(): string | undefined {
    const code = this.#input.codePointAt(this.#position);
    return code === undefined ? undefined : String.fromCodePoint(code);
  }

  #next(): string | undefined {
    const char = this.#peek();
    if (char !== undefined) this.#position += char.length;
    return char;
  }
}

function negated(expansion: Expansion): Expansion {
  return expansion.kind === "substring" ? { ...expansion, offset: -expansion.offset } : expansion;
}

function isDigit(char: string | undefined): boolean {
  return char !== undefined && /\p{N}/u.test(char);
}

/** Go's `strconv.Atoi` after trimming spaces. */
function goAtoi(text: string, what: string): number {
  const trimmed = text.trim();
  if (!/^[+-]?[0-9]+$/.test(trimmed)) {
    throw new InterpolationError(`Unable to parse ${what}: ${JSON.stringify(trimmed)} is not an integer`);
  }
  return Number(trimmed);
}
