/**
 * Typed decoding of JSON values against the generated Kubernetes schema table (plus any extra
 * definitions a caller brings, such as the kubernetes plugin's own structs).
 *
 * It follows Go's `encoding/json` where upstream decodes into Go structs, because users' pipelines
 * were written against that behaviour: field names match case-insensitively, a JSON `null` leaves a
 * field unset, and a value of the wrong JSON type is an error worded as Go words it
 * (`json: cannot unmarshal number into Go struct field EnvVar.podSpec.containers.env.value of type string`).
 * Unlike Go it names the exact place of the problem (`$.podSpec.containers[0].env[0].value`) and
 * reports the unknown fields it drops instead of losing them silently.
 */
import { AgentStackError, type ErrorCode } from "../errors.ts";
import { K8S_SCHEMA } from "../generated/k8s-schema.ts";
import { isQuantity, QUANTITY_RULE, quantityText } from "./quantity.ts";
import type { DefinitionSchema, FieldType, SchemaTable } from "./schema-types.ts";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface DecodeOptions {
  /** The catalog code of the error thrown for a bad value. */
  readonly errorCode: ErrorCode;
  /** What to do with a field the schema does not know: drop it with a warning, or fail. */
  readonly unknownFields: "drop" | "error";
  /** Go's encoding/json matches field names case-insensitively; a config file is stricter. */
  readonly caseInsensitive?: boolean;
  /**
   * The document is a strategic merge patch: keep `$patch`, `$retainKeys`, `$setElementOrder/…`,
   * `$deleteFromPrimitiveList/…` keys and explicit `null`s, which strategic merge patch gives meaning.
   */
  readonly patch?: boolean;
  /**
   * The document is the result of a strategic merge patch: directive keys left in it (kubectl leaves
   * them in values that were new to the original) are dropped with a warning.
   */
  readonly dropDirectives?: boolean;
  /** The path printed for the value itself, e.g. `$` or `pod-spec-patch`. */
  readonly rootPath?: string;
  /** The Go field path of the value itself (for Go-worded messages), e.g. `podSpec`. */
  readonly goPath?: string;
  /** Definitions beyond Kubernetes', looked up first. */
  readonly extraDefinitions?: SchemaTable;
}

export interface DecodeResult<T> {
  readonly value: T;
  /** One line per unknown field dropped. */
  readonly warnings: readonly string[];
}

interface Context {
  readonly options: DecodeOptions;
  readonly warnings: string[];
}

/**
 * Where a value is, for messages. Its strings are built only when read: a decode that succeeds never
 * reads them, and building them for every field and item took a sixth of a decode's time.
 */
class Location {
  /** The innermost struct whose field this is, for Go's wording. */
  readonly struct: string;
  readonly #parent: Location | undefined;
  readonly #step: string;
  readonly #kind: "root" | "field" | "key" | "index";
  #path: string | undefined;
  #goPath: string | undefined;

  private constructor(
    kind: "root" | "field" | "key" | "index",
    parent: Location | undefined,
    step: string,
    struct: string,
  ) {
    this.#kind = kind;
    this.#parent = parent;
    this.#step = step;
    this.struct = struct;
  }

  static root(path: string, goPath: string): Location {
    const root = new Location("root", undefined, "", "");
    root.#path = path;
    root.#goPath = goPath;
    return root;
  }

  field(name: string, struct: string): Location {
    return new Location("field", this, name, struct);
  }

  key(key: string): Location {
    return new Location("key", this, key, this.struct);
  }

  index(index: number): Location {
    return new Location("index", this, String(index), this.struct);
  }

  /** `$.podSpec.containers[0].image` */
  get path(): string {
    if (this.#path === undefined) {
      const parent = (this.#parent as Location).path;
      this.#path = this.#kind === "index" ? `${parent}[${this.#step}]` : childPath(parent, this.#step);
    }
    return this.#path;
  }

  /** `podSpec.containers.image`: Go's field path, without indices. */
  get goPath(): string {
    if (this.#goPath === undefined) {
      const parent = (this.#parent as Location).goPath;
      this.#goPath = this.#kind !== "field" ? parent : parent ? `${parent}.${this.#step}` : this.#step;
    }
    return this.#goPath;
  }
}

/** Decodes `value` as the definition `typeName`; throws `AgentStackError(options.errorCode)`. */
export function decodeDefinition<T = JsonObject>(
  value: unknown,
  typeName: string,
  options: DecodeOptions,
): DecodeResult<T> {
  return decodeField<T>(value, { kind: "object", ref: typeName }, options);
}

/** Decodes `value` as an arbitrary field type (an array of Containers, a map of strings…). */
export function decodeField<T = JsonValue>(
  value: unknown,
  type: FieldType,
  options: DecodeOptions,
): DecodeResult<T> {
  const context: Context = { options, warnings: [] };
  const location = Location.root(options.rootPath ?? "$", options.goPath ?? "");
  const decoded = decodeValue(value, type, location, context);
  return { value: decoded as T, warnings: context.warnings };
}

export function definitionFor(typeName: string, extra?: SchemaTable): DefinitionSchema | undefined {
  return extra?.[typeName] ?? K8S_SCHEMA[typeName];
}

function decodeValue(value: unknown, type: FieldType, at: Location, context: Context): JsonValue {
  if (value === null || value === undefined) return null;
  switch (type.kind) {
    case "string":
      if (typeof value !== "string") throw mismatch(value, "string", at, context);
      return value;
    case "time":
      if (typeof value !== "string") throw mismatch(value, "v1.Time", at, context);
      return value;
    case "boolean":
      if (typeof value !== "boolean") throw mismatch(value, "bool", at, context);
      return value;
    case "integer":
      return decodeInteger(value, type.format, at, context);
    case "number":
      if (typeof value !== "number") throw mismatch(value, "float64", at, context);
      return value;
    case "quantity":
      return decodeQuantity(value, at, context);
    case "intOrString":
      if (typeof value === "string") return value;
      if (typeof value === "number" && Number.isInteger(value)) return value;
      throw mismatch(value, "intstr.IntOrString", at, context);
    case "any":
      return value as JsonValue;
    case "array":
      return decodeArray(value, type.items, at, context);
    case "map":
      return decodeMap(value, type.values, at, context);
    case "object":
      return decodeObject(value, type.ref, at, context);
  }
}

function decodeInteger(value: unknown, format: string | undefined, at: Location, context: Context): number {
  const goType = format === "int32" ? "int32" : "int64";
  if (typeof value !== "number") throw mismatch(value, goType, at, context);
  const inRange =
    goType === "int32" ? value >= -(2 ** 31) && value < 2 ** 31 : Number.isSafeInteger(value) || value === 0;
  if (!Number.isInteger(value) || !inRange) {
    throw failure(
      `json: cannot unmarshal number ${value} into Go struct field ${goField(at)} of type ${goType}`,
      at,
      context,
    );
  }
  return value;
}

function decodeQuantity(value: unknown, at: Location, context: Context): string {
  if (typeof value !== "string" && typeof value !== "number")
    throw mismatch(value, "resource.Quantity", at, context);
  const text = quantityText(value);
  if (!isQuantity(text)) {
    throw failure(
      `quantities must match the regular expression: ${JSON.stringify(text)} is not ${QUANTITY_RULE}`,
      at,
      context,
    );
  }
  return text;
}

function decodeArray(value: unknown, items: FieldType, at: Location, context: Context): JsonValue[] {
  if (!Array.isArray(value)) throw mismatch(value, `[]${goTypeName(items)}`, at, context);
  return value.map((item, index) => {
    // Go decodes a null list item into the element's zero value: `{}` for a struct, `""` for a string.
    if (item === null && !context.options.patch) return zeroValue(items);
    return decodeValue(item, items, at.index(index), context);
  });
}

function zeroValue(type: FieldType): JsonValue {
  switch (type.kind) {
    case "object":
    case "map":
      return {};
    case "string":
      return "";
    case "integer":
    case "number":
      return 0;
    case "boolean":
      return false;
    default:
      return null;
  }
}

function decodeMap(value: unknown, values: FieldType, at: Location, context: Context): JsonObject {
  if (!isPlainObject(value)) throw mismatch(value, `map[string]${goTypeName(values)}`, at, context);
  const result: JsonObject = {};
  for (const [key, item] of Object.entries(value)) {
    // Directives such as `$retainKeys` or `$patch: replace` apply to maps too.
    if (key.startsWith("$") && directive(key, item, at, context, result)) continue;
    if (item === null && !context.options.patch) continue;
    setOwn(result, key, decodeValue(item, values, at.key(key), context));
  }
  return result;
}

function decodeObject(value: unknown, typeName: string, at: Location, context: Context): JsonObject {
  const definition = definitionFor(typeName, context.options.extraDefinitions);
  if (!definition) throw new Error(`no schema for ${typeName}`);
  if (!isPlainObject(value)) throw mismatch(value, goTypeOfDefinition(typeName), at, context);
  const struct = shortName(typeName);
  const result: JsonObject = {};
  const fields = definition.fields;
  for (const key of Object.keys(value)) {
    const item = value[key];
    if (key.charCodeAt(0) === DOLLAR && directive(key, item, at, context, result)) continue;
    // The exact name first (own fields only: `constructor` must not resolve to Object.prototype's).
    let name = key;
    let type = Object.hasOwn(fields, key) ? fields[key] : undefined;
    if (type === undefined && context.options.caseInsensitive) {
      const field = caseInsensitiveField(definition, key);
      if (field) ({ name, type } = field);
    }
    if (type === undefined) {
      unknownField(key, at, typeName, context);
      continue;
    }
    if (item === null && !context.options.patch) continue;
    setOwn(result, name, decodeValue(item, type, at.field(name, struct), context));
  }
  return result;
}

const DOLLAR = "$".charCodeAt(0);

/**
 * Plain assignment would treat a map key `__proto__` (a label, say) as the object's prototype and drop
 * it; decoded documents keep every key as data.
 */
function setOwn(target: JsonObject, key: string, value: JsonValue): void {
  // defineProperty only where needed: on every key it costs a tenth of an admission.
  if (key === "__proto__") {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

/** Keeps or drops a strategic-merge directive key; `false` when the key is to be read as a field. */
function directive(key: string, item: unknown, at: Location, context: Context, result: JsonObject): boolean {
  if (context.options.patch) {
    setOwn(result, key, item as JsonValue);
    return true;
  }
  if (!context.options.dropDirectives) return false;
  context.warnings.push(
    `${JSON.stringify(key)} at ${at.path} had no effect (it is inside a value that was new); it was ignored`,
  );
  return true;
}

function caseInsensitiveField(
  definition: DefinitionSchema,
  key: string,
): { name: string; type: FieldType } | undefined {
  const lower = key.toLowerCase();
  for (const [name, type] of Object.entries(definition.fields)) {
    if (name.toLowerCase() === lower) return { name, type };
  }
  return undefined;
}

function unknownField(key: string, at: Location, typeName: string, context: Context): void {
  const message = `unknown field ${JSON.stringify(key)} at ${at.path} (${shortName(typeName)} has no such field)`;
  if (context.options.unknownFields === "error") throw failure(message, at.key(key), context);
  context.warnings.push(`${message}; it was ignored`);
}

function mismatch(value: unknown, goType: string, at: Location, context: Context): AgentStackError {
  return failure(
    `json: cannot unmarshal ${jsonKind(value)} into Go struct field ${goField(at)} of type ${goType}`,
    at,
    context,
  );
}

function failure(message: string, at: Location, context: Context): AgentStackError {
  const located = message.includes(` at ${at.path}`) ? message : `${message} (at ${at.path})`;
  return new AgentStackError(context.options.errorCode, located, { path: at.path });
}

function goField(at: Location): string {
  return at.struct ? `${at.struct}.${at.goPath}` : at.goPath || "value";
}

function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return "array";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "object") return "object";
  return typeof value;
}

function goTypeName(type: FieldType): string {
  switch (type.kind) {
    case "array":
      return `[]${goTypeName(type.items)}`;
    case "map":
      return `map[string]${goTypeName(type.values)}`;
    case "object":
      return goTypeOfDefinition(type.ref);
    case "integer":
      return type.format === "int32" ? "int32" : "int64";
    case "number":
      return "float64";
    case "boolean":
      return "bool";
    case "quantity":
      return "resource.Quantity";
    case "intOrString":
      return "intstr.IntOrString";
    case "time":
      return "v1.Time";
    case "any":
      return "interface {}";
    case "string":
      return "string";
  }
}

function goTypeOfDefinition(typeName: string): string {
  const parts = typeName.split(".");
  return parts.length > 1 ? `${parts.at(-2)}.${parts.at(-1)}` : typeName;
}

const SHORT_NAMES = new Map<string, string>();

function shortName(typeName: string): string {
  let name = SHORT_NAMES.get(typeName);
  if (name === undefined) {
    name = typeName.split(".").at(-1) ?? typeName;
    SHORT_NAMES.set(typeName, name);
  }
  return name;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `$.a.b`, or `$.labels["app.kubernetes.io/name"]` where the key is not an identifier. */
export function childPath(parent: string, key: string): string {
  return IDENTIFIER.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
