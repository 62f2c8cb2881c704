/**
 * `JSON.parse` of text that may hold secrets: a Buildkite job (its env), `BUILDKITE_PLUGINS`, a whole
 * AdmissionReview. V8 words an unexpected token as `Unexpected token 'S', "SECRET_TOK"... is not valid
 * JSON`, quoting the text around it; that quote must reach neither a log nor a message, so it is cut.
 * Every other V8 message says only what and where (`Unterminated string in JSON at position 12`).
 */
export type ParsedJson =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly problem: string };

const QUOTED_TEXT = /, (?:\.\.\.)?"[\s\S]*$/;

export function parseJsonText(text: string): ParsedJson {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, problem: jsonSyntaxProblem(error) };
  }
}

/** A `JSON.parse` error's message without the text it quotes. */
export function jsonSyntaxProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(QUOTED_TEXT, "");
}

/**
 * Whether a parsed JSON value nests objects and lists more than `limit` deep, found without recursion
 * (`JSON.parse` accepts any depth; code that walks the value recursively would overflow the stack).
 */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  const pending: Array<[node: unknown, depth: number]> = [[value, 0]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [node, depth] = next;
    if (typeof node !== "object" || node === null) continue;
    if (depth >= limit) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) pending.push([child, depth + 1]);
  }
  return false;
}
