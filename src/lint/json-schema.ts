/**
 * A JSON Schema (draft-07) validator for the keywords the generated pipeline schema uses, written to
 * explain rather than to reject: every problem names its place, unknown fields come with a "did you
 * mean", and when no branch of an `anyOf`/`oneOf` fits, the branch the value was most likely meant
 * for is the one reported (a wrong type is one sentence, not one error per branch).
 *
 * Supported: `$ref` (local), `type`, `enum`, `const`, `anyOf`, `oneOf`, `not`, `properties`,
 * `patternProperties`, `additionalProperties`, `required`, `propertyNames`, `maxProperties`, `items`
 * (a schema), `minItems`, `maxItems`, `pattern`, `minLength`, `maxLength`, `minimum`, `maximum`.
 * Annotations (`description`, `examples`, `default`, `format`…) are ignored. A test checks that it
 * agrees with ajv on every fixture.
 */
import type { PathSegment } from "../buildkite/pipeline-source.ts";
import { closest } from "../config/suggest.ts";

export type SchemaNode = boolean | { readonly [keyword: string]: unknown };

export type SchemaProblemKind = "unknown-field" | "field-case" | "type" | "enum" | "required" | "constraint";

export interface SchemaProblem {
  readonly kind: SchemaProblemKind;
  /** Where the value is; for `unknown-field` and `field-case`, the path of the key. */
  readonly path: readonly PathSegment[];
  /** Whether the problem is the key at `path` (an unknown field) or its value. */
  readonly at: "key" | "value";
  readonly message: string;
  /** The innermost `#/definitions/<name>` the value was checked against. */
  readonly definition: string | undefined;
  /** For `type` problems: what would have fitted (`a string`, `a list`). */
  readonly expected?: readonly string[];
}

export interface ValidationOptions {
  /** The document `$ref`s are resolved in. */
  readonly root: { readonly [keyword: string]: unknown };
  /** Field names of these definitions also match in another case (Go's encoding/json does). */
  readonly caseInsensitive?: (definition: string | undefined) => boolean;
  /** How a definition is named in messages: `a command step`, `Container`. */
  readonly describe?: (definition: string | undefined) => string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface Context {
  readonly options: ValidationOptions;
  readonly definition: string | undefined;
}

/** `definition` names what `schema` is, when it is not a `$ref` (an edited copy of a definition). */
export function validateJson(
  value: unknown,
  schema: SchemaNode,
  path: readonly PathSegment[],
  options: ValidationOptions,
  definition?: string,
): SchemaProblem[] {
  return check(schema, value as Json, path, { options, definition });
}

function check(
  schema: SchemaNode,
  value: Json,
  path: readonly PathSegment[],
  context: Context,
): SchemaProblem[] {
  if (schema === true) return [];
  if (schema === false) return [problem("constraint", path, "is not allowed here", context)];
  const ref = schema.$ref;
  if (typeof ref === "string") {
    const { target, definition } = resolve(ref, context.options.root);
    return check(target, value, path, { ...context, definition: definition ?? context.definition });
  }
  const typeProblem = checkType(schema, value, path, context);
  if (typeProblem !== undefined) return [typeProblem];
  const enumProblem = checkEnum(schema, value, path, context);
  if (enumProblem !== undefined) return [enumProblem];
  return [
    ...checkBranches(schema, value, path, context),
    ...checkString(schema, value, path, context),
    ...checkNumber(schema, value, path, context),
    ...checkArray(schema, value, path, context),
    ...checkObject(schema, value, path, context),
  ];
}

function resolve(ref: string, root: ValidationOptions["root"]): { target: SchemaNode; definition?: string } {
  if (!ref.startsWith("#/")) throw new Error(`only local $refs are supported, got ${ref}`);
  const parts = ref
    .slice(2)
    .split("/")
    .map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"));
  let target: unknown = root;
  for (const part of parts) {
    target = isObject(target) && Object.hasOwn(target, part) ? target[part] : undefined;
  }
  if (target === undefined) throw new Error(`the schema has no ${ref}`);
  const definition = parts[0] === "definitions" && parts.length === 2 ? parts[1] : undefined;
  return { target: target as SchemaNode, ...(definition === undefined ? {} : { definition }) };
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  object: "a mapping",
  array: "a list",
  string: "a string",
  number: "a number",
  integer: "an integer",
  boolean: "true or false",
  null: "nothing (null)",
};

function checkType(
  schema: { readonly [keyword: string]: unknown },
  value: Json,
  path: readonly PathSegment[],
  context: Context,
): SchemaProblem | undefined {
  const types = typesOf(schema);
  if (types === undefined || types.some((type) => hasType(value, type))) return undefined;
  return typeProblem(
    types.map((type) => TYPE_NAMES[type] ?? type),
    value,
    path,
    context,
  );
}

function typeProblem(
  expected: readonly string[],
  value: Json,
  path: readonly PathSegment[],
  context: Context,
): SchemaProblem {
  const message = `expected ${orList(expected)}, got ${describeValue(value)}`;
  return { ...problem("type", path, message, context), expected };
}

function typesOf(schema: { readonly [keyword: string]: unknown }): string[] | undefined {
  const type = schema.type;
  if (typeof type === "string") return [type];
  return Array.isArray(type) ? (type as string[]) : undefined;
}

function hasType(value: Json, type: string): boolean {
  switch (type) {
    case "object":
      return isObject(value);
    case "array":
      return Array.isArray(value);
    case "string":
      return typeof value === "string";
    case "number":
      return typeof value === "number";
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "boolean":
      return typeof value === "boolean";
    case "null":
      return value === null;
    default:
      return false;
  }
}

function checkEnum(
  schema: { readonly [keyword: string]: unknown },
  value: Json,
  path: readonly PathSegment[],
  context: Context,
): SchemaProblem | undefined {
  const allowed = Array.isArray(schema.enum)
    ? (schema.enum as Json[])
    : "const" in schema
      ? [schema.const as Json]
      : undefined;
  if (allowed === undefined || allowed.some((candidate) => deepEqual(candidate, value))) return undefined;
  const shown = allowed
    .filter((candidate) => candidate !== null)
    .map((candidate) => JSON.stringify(candidate));
  const suggestion =
    typeof value === "string"
      ? closest(
          value,
          allowed.filter(
            (candidate): candidate is string => typeof candidate === "string" && candidate !== "",
          ),
        )
      : undefined;
  const hint = suggestion === undefined ? "" : `; did you mean ${JSON.stringify(suggestion)}?`;
  return problem(
    "enum",
    path,
    `expected one of ${shown.join(", ")}, got ${describeValue(value)}${hint}`,
    context,
  );
}

/** `anyOf`, `oneOf` and `not`. */
function checkBranches(
  schema: { readonly [keyword: string]: unknown },
  value: Json,
  path: readonly PathSegment[],
  context: Context,
): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  if (Array.isArray(schema.anyOf)) {
    const results = (schema.anyOf as SchemaNode[]).map((branch) => check(branch, value, path, context));
    if (!results.some((result) => result.length === 0))
      problems.push(...likeliestBranch(results, value, path, context));
  }
  if (Array.isArray(schema.oneOf)) {
    const results = (schema.oneOf as SchemaNode[]).map((branch) => check(branch, value, path, context));
    const valid = results.filter((result) => result.length === 0).length;
    if (valid === 0) problems.push(...likeliestBranch(results, value, path, context));
    else if (valid > 1) {
      problems.push(problem("constraint", path, "matches more than one of the forms allowed here", context));
    }
  }
  if (schema.not !== undefined && check(schema.not as SchemaNode, value, path, context).length === 0) {
    const pattern = isObject(schema.not as Json) ? (schema.not as { pattern?: unknown }).pattern : undefined;
    const what =
      typeof pattern === "string" ? `must not match ${pattern}` : "is a form that is not allowed here";
    problems.push(problem("constraint", path, `${describeValue(value)} ${what}`, context));
  }
  return problems;
}

/**
 * The problems of the branch the value was meant for: branches whose type does not even fit are
 * dropped; of the others, the one with the fewest problems. When no type fits, one sentence says
 * which types would.
 */
function likeliestBranch(
  results: readonly SchemaProblem[][],
  value: Json,
  path: readonly PathSegment[],
  context: Context,
): SchemaProblem[] {
  const typeMismatch = (result: readonly SchemaProblem[]): boolean =>
    result.length === 1 && result[0]!.kind === "type" && samePath(result[0]!.path, path);
  const fitting = results.filter((result) => !typeMismatch(result));
  if (fitting.length === 0) {
    const expected = [...new Set(results.flatMap((result) => result[0]!.expected ?? []))];
    return [typeProblem(expected, value, path, context)];
  }
  return fitting.reduce((best, result) => (result.length < best.length ? result : best));
}

function checkString(
  schema: { readonly [keyword: string]: unknown },
  value: Json,
  path: readonly PathSegment[],
  context: Context,
): SchemaProblem[] {
  if (typeof value !== "string") return [];
  const problems: SchemaProblem[] = [];
  if (typeof schema.pattern === "string" && !new RegExp(schema.pattern, "u").test(value)) {
    problems.push(
      problem("constraint", path, `${describeValue(value)} does not match ${schema.pattern}`, context),
    );
  }
  const length = [...value].length;
  if (typeof schema.maxLength === "number" && length > schema.maxLength) {
    problems.push(
      problem(
        "constraint",
        path,
        `is ${length} characters long, at most ${schema.maxLength} allowed`,
        context,
      ),
    );
  }
  if (typeof schema.minLength === "number" && length < schema.minLength) {
    problems.push(
      problem(
        "constraint",
        path,
        `is ${length} characters long, at least ${schema.minLength} needed`,
        context,
      ),
    );
  }
  return problems;
}

function checkNumber(
  schema: { readonly [keyword: string]: unknown },
  value: Json,
  path: readonly PathSegment[],
  context: Context,
): SchemaProblem[] {
  if (typeof value !== "number") return [];
  const problems: SchemaProblem[] = [];
  if (typeof schema.minimum === "number" && value < schema.minimum) {
    problems.push(
      problem("constraint", path, `${value} is less than the minimum, ${schema.minimum}`, context),
    );
  }
  if (typeof schema.maximum === "number" && value > schema.maximum) {
    problems.push(
      problem("constraint", path, `${value} is more than the maximum, ${schema.maximum}`, context),
    );
  }
  return problems;
}

function checkArray(
  schema: { readonly [keyword: string]: unknown },
  value: Json,
  path: readonly PathSegment[],
  context: Context,
): SchemaProblem[] {
  if (!Array.isArray(value)) return [];
  const problems: SchemaProblem[] = [];
  if (typeof schema.minItems === "number" && value.length < schema.minItems) {
    problems.push(
      problem("constraint", path, `has ${value.length} items, at least ${schema.minItems} needed`, context),
    );
  }
  if (typeof schema.maxItems === "number" && value.length > schema.maxItems) {
    problems.push(
      problem("constraint", path, `has ${value.length} items, at most ${schema.maxItems} allowed`, context),
    );
  }
  const items = schema.items;
  if (items !== undefined && !Array.isArray(items)) {
    value.forEach((item, index) => {
      problems.push(...check(items as SchemaNode, item, [...path, index], context));
    });
  }
  return problems;
}

function checkObject(
  schema: { readonly [keyword: string]: unknown },
  value: Json,
  path: readonly PathSegment[],
  context: Context,
): SchemaProblem[] {
  if (!isObject(value)) return [];
  const problems: SchemaProblem[] = [];
  const properties = isObject(schema.properties as Json)
    ? (schema.properties as Record<string, SchemaNode>)
    : {};
  const patterns = isObject(schema.patternProperties as Json)
    ? Object.entries(schema.patternProperties as Record<string, SchemaNode>).map(
        ([pattern, node]) => [new RegExp(pattern, "u"), node] as const,
      )
    : [];
  const additional = schema.additionalProperties as SchemaNode | undefined;
  const caseInsensitive = context.options.caseInsensitive?.(context.definition) ?? false;
  const keys = Object.keys(value);

  if (Array.isArray(schema.required)) {
    for (const field of schema.required as string[]) {
      if (Object.hasOwn(value, field)) continue;
      if (caseInsensitive && keys.some((key) => key.toLowerCase() === field.toLowerCase())) continue;
      problems.push(
        problem("required", path, `${JSON.stringify(field)} is required in ${nameOf(context)}`, context),
      );
    }
  }
  if (typeof schema.maxProperties === "number" && keys.length > schema.maxProperties) {
    problems.push(
      problem(
        "constraint",
        path,
        `has ${keys.length} keys, at most ${schema.maxProperties} allowed`,
        context,
      ),
    );
  }
  for (const key of keys) {
    const item = value[key] as Json;
    const at = [...path, key];
    if (schema.propertyNames !== undefined) {
      for (const found of check(schema.propertyNames as SchemaNode, key, at, context)) {
        problems.push({ ...found, at: "key", message: `the key ${found.message}` });
      }
    }
    if (Object.hasOwn(properties, key)) {
      problems.push(...check(properties[key]!, item, at, context));
      continue;
    }
    const matching = patterns.filter(([pattern]) => pattern.test(key));
    if (matching.length > 0) {
      for (const [, node] of matching) problems.push(...check(node, item, at, context));
      continue;
    }
    if (additional === false) {
      problems.push(
        ...unknownField(key, item, at, Object.keys(properties), properties, caseInsensitive, context),
      );
    } else if (additional !== undefined && additional !== true) {
      problems.push(...check(additional, item, at, context));
    }
  }
  return problems;
}

function unknownField(
  key: string,
  item: Json,
  at: readonly PathSegment[],
  known: readonly string[],
  properties: Record<string, SchemaNode>,
  caseInsensitive: boolean,
  context: Context,
): SchemaProblem[] {
  const sameName = caseInsensitive
    ? known.find((name) => name.toLowerCase() === key.toLowerCase())
    : undefined;
  if (sameName !== undefined) {
    return [
      {
        ...problem(
          "field-case",
          at,
          `${JSON.stringify(key)} is spelt ${JSON.stringify(sameName)}; it works because field names match in any case, but write ${JSON.stringify(sameName)}`,
          context,
        ),
        at: "key",
      },
      ...check(properties[sameName]!, item, at, context),
    ];
  }
  const suggestion = closest(key, known);
  const hint = suggestion === undefined ? "" : `; did you mean ${JSON.stringify(suggestion)}?`;
  return [
    {
      ...problem(
        "unknown-field",
        at,
        `unknown field ${JSON.stringify(key)} in ${nameOf(context)}${hint}`,
        context,
      ),
      at: "key",
    },
  ];
}

function nameOf(context: Context): string {
  return context.options.describe?.(context.definition) ?? context.definition ?? "this mapping";
}

function problem(
  kind: SchemaProblemKind,
  path: readonly PathSegment[],
  message: string,
  context: Context,
): SchemaProblem {
  return { kind, path, at: "value", message, definition: context.definition };
}

function samePath(a: readonly PathSegment[], b: readonly PathSegment[]): boolean {
  return a.length === b.length && a.every((segment, index) => segment === b[index]);
}

function orList(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? "nothing";
  return `${items.slice(0, -1).join(", ")} or ${items.at(-1)}`;
}

/** How a value is named in messages. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return "nothing (null)";
  if (Array.isArray(value)) return "a list";
  if (isObject(value as Json)) return "a mapping";
  if (typeof value === "string") {
    return `the string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)}`;
  }
  if (typeof value === "number") return `the number ${String(value)}`;
  if (typeof value === "boolean") return `the boolean ${String(value)}`;
  return `a ${typeof value}`;
}

function isObject(value: Json | unknown): value is { [key: string]: Json } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function deepEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, index) => deepEqual(item, b[index]!));
  }
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length &&
      keys.every((key) => Object.hasOwn(b, key) && deepEqual(a[key]!, b[key]!))
    );
  }
  return false;
}
