/**
 * What a log line may carry of a value, decided in one place for every logger (`logger.ts`) and any
 * other writer of log lines: logged values often come from outside (an AdmissionReview's uid, a Job's
 * name, an error's message), so each is
 *
 * - bounded: a string is cut after `MAX_TEXT` characters (an error's stack after `MAX_STACK`), and an
 *   object or list after `MAX_FIELD` characters of strings and keys in all, so one request can never
 *   write more than a few kilobytes of log;
 * - escaped: characters a terminal or a log viewer would act on instead of showing, and that JSON
 *   leaves as they are (DEL, the C1 controls, line and paragraph separators, bidirectional overrides),
 *   become `\uXXXX`. The C0 controls (ESC, BEL, newline…) are escaped by the JSON and logfmt encoders.
 */
import pino from "pino";

export const MAX_TEXT = 1_024;
export const MAX_STACK = 4_096;
export const MAX_FIELD = 8_192;
const MAX_DEPTH = 12;

/** Not escaped by JSON.stringify, yet acted on by terminals and viewers. */
const UNSAFE = /[\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** The fields of one log line, each bounded and escaped. */
export function loggableFields(fields: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(fields)) out[key] = loggableValue(fields[key]);
  return out;
}

/** One value of a log line: a string, a number, an error, an object or a list, bounded and escaped. */
export function loggableValue(value: unknown): unknown {
  return bounded(value, { left: MAX_FIELD }, 0);
}

/** A string for a log line: at most `limit` characters of it, escaped, with what was cut said. */
export function loggableText(text: string, limit = MAX_TEXT): string {
  const cut = text.length > limit ? `${text.slice(0, limit)}…[${text.length - limit} more characters]` : text;
  return cut.replace(UNSAFE, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

interface Budget {
  left: number;
}

function bounded(value: unknown, budget: Budget, depth: number): unknown {
  switch (typeof value) {
    case "string":
      return boundedText(value, budget, MAX_TEXT);
    case "number":
    case "boolean":
    case "undefined":
      return value;
    case "bigint":
      return String(value);
    case "symbol":
    case "function":
      return undefined;
  }
  if (value === null) return null;
  if (value instanceof Error) return boundedError(value, budget, depth);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (depth >= MAX_DEPTH) return "[nested too deeply]";
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const item of value) {
      if (budget.left <= 0) {
        out.push(`…[${value.length - out.length} more items]`);
        break;
      }
      out.push(bounded(item, budget, depth + 1));
    }
    return out;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  const out: Record<string, unknown> = {};
  for (const [index, [key, item]] of entries.entries()) {
    if (budget.left <= 0) {
      out["…"] = `${entries.length - index} more fields`;
      break;
    }
    out[boundedText(key, budget, MAX_TEXT)] = bounded(item, budget, depth + 1);
  }
  return out;
}

function boundedText(text: string, budget: Budget, limit: number): string {
  const allowed = Math.max(0, Math.min(limit, budget.left));
  budget.left -= Math.min(text.length, allowed) + 1;
  return loggableText(text, allowed);
}

/** pino's own rendering of an error (type, message and stack with their causes), bounded. */
function boundedError(error: Error, budget: Budget, depth: number): unknown {
  const { stack, ...rest } = pino.stdSerializers.err(error) as unknown as Record<string, unknown>;
  const out = bounded(rest, budget, depth) as Record<string, unknown>;
  if (typeof stack === "string") out.stack = boundedText(stack, { left: MAX_STACK }, MAX_STACK);
  return out;
}
