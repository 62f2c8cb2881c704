/**
 * Reading a parsed pipeline document: paths for messages (`steps[2].plugins[0]`), the one error every
 * bad input gets (`ASK_INPUT_INVALID`), and the narrowing of YAML values.
 *
 * A document may come from `yaml` with `mapAsMap` (mappings are `Map`s in document order, keys of any
 * scalar type) or from `JSON.parse` (plain objects). Both are accepted; only the `Map` form keeps the
 * order of keys such as `1:` that a plain object would move to the front.
 */
import { AgentStackError } from "../errors.ts";

export function inputError(path: string, message: string, cause?: unknown): AgentStackError {
  return new AgentStackError("ASK_INPUT_INVALID", path === "" ? message : `${path}: ${message}`, {
    path,
    cause,
  });
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `steps[2].env.FOO`, or `env["a.b"]` when the key is not an identifier. */
export function keyPath(parent: string, key: string): string {
  if (!IDENTIFIER.test(key)) return `${parent}[${JSON.stringify(key)}]`;
  return parent === "" ? key : `${parent}.${key}`;
}

export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

export type Entries = ReadonlyArray<readonly [string, unknown]>;

export function isMapping(value: unknown): value is Map<unknown, unknown> | Record<string, unknown> {
  return (
    value instanceof Map ||
    (typeof value === "object" && value !== null && !Array.isArray(value) && isPlain(value))
  );
}

function isPlain(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * The entries of a mapping in document order, keys as text. A scalar key is written as YAML would print
 * it (`1`, `true`); a mapping or list used as a key is refused.
 */
export function mappingEntries(value: unknown, path: string): Entries | undefined {
  if (value instanceof Map) {
    return [...value.entries()].map(([key, entry]) => [keyText(key, path), entry] as const);
  }
  if (isMapping(value)) return Object.entries(value);
  return undefined;
}

function keyText(key: unknown, path: string): string {
  if (typeof key === "string") return key;
  if (typeof key === "number" || typeof key === "boolean") return String(key);
  if (key === null) return "";
  throw inputError(path, `expected mapping keys to be strings, got ${describe(key)} as a key`);
}

export function requireMapping(value: unknown, path: string, what: string): Entries {
  const entries = mappingEntries(value, path);
  if (entries === undefined) throw inputError(path, `expected ${what}, got ${describe(value)}`);
  return entries;
}

export function requireList(value: unknown, path: string, what: string): readonly unknown[] {
  if (!Array.isArray(value)) throw inputError(path, `expected ${what}, got ${describe(value)}`);
  return value;
}

/** Looks a key up in entries (the last one wins, though the YAML parser already refuses duplicates). */
export function lookup(entries: Entries, key: string): unknown {
  return entries.findLast(([name]) => name === key)?.[1];
}

export function has(entries: Entries, key: string): boolean {
  return entries.some(([name]) => name === key);
}

/**
 * A scalar as text, the way Buildkite's pipeline parser turns a YAML scalar into a string field (Go's
 * `fmt.Sprint`: `1` → "1", `true` → "true", `1.5` → "1.5"). `null` or absent is `undefined`.
 */
export function optionalScalarText(value: unknown, path: string, what = "a string"): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return String(value);
  if (typeof value === "number") return numberText(value, path);
  throw inputError(path, `expected ${what}, got ${describe(value)}`);
}

export function numberText(value: number, path: string): string {
  if (!Number.isFinite(value)) throw inputError(path, `expected a finite number, got ${String(value)}`);
  return String(value);
}

/** A string field that must be a string in the document (a command, a plugin name). */
export function optionalString(value: unknown, path: string, what = "a string"): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw inputError(path, `expected ${what}, got ${describe(value)}`);
  return value;
}

export function optionalInteger(value: unknown, path: string, what: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw inputError(path, `expected ${what}, got ${describe(value)}`);
  }
  return value;
}

/** How a YAML value is named in messages. */
export function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (isMapping(value)) return "a mapping";
  if (typeof value === "string") {
    return `the string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)}`;
  }
  if (typeof value === "number") return `the number ${String(value)}`;
  if (typeof value === "boolean") return `the boolean ${String(value)}`;
  return `a value of type ${typeof value}`;
}
