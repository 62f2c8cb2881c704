/**
 * Structural validation of a JSON value against the Kubernetes OpenAPI document, as kube-apiserver
 * does it with strict field validation: no unknown fields, the right JSON type for every field
 * (integer vs number, int32/int64 ranges, int-or-string, quantities, RFC 3339 times, base64),
 * `required` fields present, and unique keys in `x-kubernetes-list-type: map` and `set` lists.
 *
 * Two deliberate differences from the API server, both stricter: a `null` list item or map value is
 * an error (Go would silently turn it into a zero value; in a Job we produce it is always a bug), and
 * list-map keys are compared even for lists the API server only checks under server-side apply.
 */
import { definitionNamed, referencedName, type SchemaNode } from "./k8s-openapi.ts";
import {
  duplicate,
  fieldPath,
  invalid,
  isRecord,
  isUnset,
  itemPath,
  keyPath,
  problem,
  required,
} from "./k8s-problems.ts";

/** Quantities are strings in the schema but have their own grammar, and JSON numbers are accepted too. */
const QUANTITY_DEFINITION = "io.k8s.apimachinery.pkg.api.resource.Quantity";

/**
 * apimachinery's `ParseQuantity`: a signed decimal number, then a binary suffix (Ki…Ei), a decimal
 * one (n, u, m, k…E) or an integer exponent. (The parser also lets through oddities such as `.` or
 * a bare `Ki`, which the documented grammar excludes; so does this check.)
 */
const QUANTITY = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?$/;

/** Go's `time.RFC3339` as `metav1.Time` parses it; fractional seconds are accepted. */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/** Go's `encoding/json` decodes `[]byte` from standard, padded base64 and skips line breaks. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1, name: "a 32-bit integer" } as const;
const INT64 = { min: -(2 ** 63), max: 2 ** 63 - 1, name: "a 64-bit integer" } as const;

/**
 * List-map keys that the API server defaults before it compares items (OpenAPI v2 carries no
 * defaults): a port without a protocol is a TCP port, so it collides with the same port written as TCP.
 */
const LIST_MAP_KEY_DEFAULTS: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  "io.k8s.api.core.v1.ContainerPort": { protocol: "TCP" },
};

export function structuralProblems(value: unknown, definitionName: string): string[] {
  return [...definitionProblems(value, definitionName, ""), ...typeMetaProblems(value, definitionName)];
}

function definitionProblems(value: unknown, name: string, path: string): string[] {
  if (name === QUANTITY_DEFINITION) return quantityProblems(value, path);
  return valueProblems(value, definitionNamed(name), path);
}

function valueProblems(value: unknown, schema: SchemaNode, path: string): string[] {
  if (schema.$ref !== undefined) return definitionProblems(value, referencedName(schema.$ref), path);
  if (schema.format === "int-or-string") return intOrStringProblems(value, path);
  switch (schema.type) {
    case "string":
      return stringProblems(value, schema.format, path);
    case "integer":
      return integerProblems(value, schema.format, path);
    case "number":
      return typeof value === "number" && Number.isFinite(value)
        ? []
        : [invalid(path, value, "must be a number")];
    case "boolean":
      return typeof value === "boolean" ? [] : [invalid(path, value, "must be a boolean")];
    case "array":
      return arrayProblems(value, schema, path);
    case "object":
      return objectProblems(value, schema, path);
    default:
      // Untyped definitions (apiextensions' free-form JSON) accept any value.
      return [];
  }
}

function stringProblems(value: unknown, format: string | undefined, path: string): string[] {
  if (typeof value !== "string") return [invalid(path, value, "must be a string")];
  if (format === "date-time" && !isRfc3339(value)) {
    return [invalid(path, value, "must be an RFC 3339 date-time such as 2006-01-02T15:04:05Z")];
  }
  if (format === "byte" && !BASE64.test(value.replace(/[\r\n]/g, ""))) {
    return [invalid(path, value, "must be base64-encoded")];
  }
  return [];
}

function isRfc3339(value: string): boolean {
  const match = RFC3339.exec(value);
  if (match === null) return false;
  const [, , month, day, hour, minute, second, offsetHours, offsetMinutes] = match.map(Number);
  return (
    within(month, 1, 12) &&
    within(day, 1, 31) &&
    within(hour, 0, 23) &&
    within(minute, 0, 59) &&
    within(second, 0, 59) &&
    (offsetHours === undefined || Number.isNaN(offsetHours) || within(offsetHours, 0, 23)) &&
    (offsetMinutes === undefined || Number.isNaN(offsetMinutes) || within(offsetMinutes, 0, 59))
  );
}

function within(value: number | undefined, min: number, max: number): boolean {
  return value !== undefined && value >= min && value <= max;
}

function integerProblems(value: unknown, format: string | undefined, path: string): string[] {
  if (typeof value !== "number" || !Number.isInteger(value))
    return [invalid(path, value, "must be an integer")];
  const range = format === "int32" ? INT32 : INT64;
  return value >= range.min && value <= range.max ? [] : [invalid(path, value, `must fit in ${range.name}`)];
}

function intOrStringProblems(value: unknown, path: string): string[] {
  if (typeof value === "string") return [];
  if (typeof value === "number" && Number.isInteger(value) && value >= INT32.min && value <= INT32.max)
    return [];
  return [invalid(path, value, "must be a string or a 32-bit integer")];
}

function quantityProblems(value: unknown, path: string): string[] {
  if (typeof value === "number" && Number.isFinite(value)) return [];
  if (typeof value === "string" && QUANTITY.test(value)) return [];
  return [invalid(path, value, "must be a quantity such as 100m, 0.5, 128Mi or 1e3")];
}

function objectProblems(value: unknown, schema: SchemaNode, path: string): string[] {
  if (!isRecord(value)) return [invalid(path, value, "must be an object")];
  if (schema.properties !== undefined) return structProblems(value, schema, schema.properties, path);
  const values = schema.additionalProperties;
  if (typeof values === "object") return mapProblems(value, values, path);
  // An object without properties (FieldsV1, RawExtension) holds arbitrary JSON.
  return [];
}

function structProblems(
  value: Record<string, unknown>,
  schema: SchemaNode,
  properties: Readonly<Record<string, SchemaNode>>,
  path: string,
): string[] {
  const problems: string[] = [];
  for (const [field, fieldValue] of Object.entries(value)) {
    const fieldSchema = Object.hasOwn(properties, field) ? properties[field] : undefined;
    if (fieldSchema === undefined) problems.push(problem(fieldPath(path, field), "unknown field"));
    else if (!isUnset(fieldValue))
      problems.push(...valueProblems(fieldValue, fieldSchema, fieldPath(path, field)));
  }
  for (const field of schema.required ?? []) {
    if (isUnset(value[field])) problems.push(required(fieldPath(path, field)));
  }
  return problems;
}

function mapProblems(value: Record<string, unknown>, values: SchemaNode, path: string): string[] {
  return Object.entries(value).flatMap(([key, entry]) =>
    entry === null
      ? [invalid(keyPath(path, key), null, "map values must not be null")]
      : valueProblems(entry, values, keyPath(path, key)),
  );
}

function arrayProblems(value: unknown, schema: SchemaNode, path: string): string[] {
  if (!Array.isArray(value)) return [invalid(path, value, "must be a list")];
  const items = schema.items ?? {};
  const problems = value.flatMap((item: unknown, index) =>
    item === null
      ? [invalid(itemPath(path, index), null, "list items must not be null")]
      : valueProblems(item, items, itemPath(path, index)),
  );
  switch (schema["x-kubernetes-list-type"]) {
    case "map":
      return [...problems, ...listMapProblems(value, schema, path)];
    case "set":
      return [...problems, ...setProblems(value, path)];
    default:
      return problems;
  }
}

function listMapProblems(list: readonly unknown[], schema: SchemaNode, path: string): string[] {
  const keys = schema["x-kubernetes-list-map-keys"] ?? [];
  const itemRef = schema.items?.$ref;
  const defaults = itemRef === undefined ? {} : (LIST_MAP_KEY_DEFAULTS[referencedName(itemRef)] ?? {});
  const seen = new Set<string>();
  const problems: string[] = [];
  list.forEach((item, index) => {
    if (!isRecord(item)) return;
    const identity = Object.fromEntries(keys.map((key) => [key, item[key] ?? defaults[key] ?? null]));
    const fingerprint = JSON.stringify(identity);
    if (seen.has(fingerprint)) problems.push(duplicate(itemPath(path, index), identity));
    seen.add(fingerprint);
  });
  return problems;
}

function setProblems(list: readonly unknown[], path: string): string[] {
  const seen = new Set<string>();
  const problems: string[] = [];
  list.forEach((item, index) => {
    const fingerprint = JSON.stringify(item);
    if (seen.has(fingerprint)) problems.push(duplicate(itemPath(path, index), item));
    seen.add(fingerprint);
  });
  return problems;
}

/** A top-level object of a kind (Job, Pod) must say which kind and API version it is. */
function typeMetaProblems(value: unknown, definitionName: string): string[] {
  const kinds = definitionNamed(definitionName)["x-kubernetes-group-version-kind"];
  const [expected] = kinds ?? [];
  if (expected === undefined || !isRecord(value)) return [];
  const apiVersion = expected.group === "" ? expected.version : `${expected.group}/${expected.version}`;
  return [
    ...typeMetaFieldProblems(value, "apiVersion", apiVersion),
    ...typeMetaFieldProblems(value, "kind", expected.kind),
  ];
}

function typeMetaFieldProblems(value: Record<string, unknown>, field: string, expected: string): string[] {
  const actual = value[field];
  if (isUnset(actual)) return [required(field, `must be ${JSON.stringify(expected)}`)];
  return actual === expected ? [] : [invalid(field, actual, `must be ${JSON.stringify(expected)}`)];
}
