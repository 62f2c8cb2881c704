/**
 * Patch metadata lookups over the generated schema table, mirroring how kubectl looks them up in the
 * compiled Go structs (`PatchMetaFromStruct`). Only `x-kubernetes-patch-strategy` and
 * `x-kubernetes-patch-merge-key` matter: strategicpatch never reads `x-kubernetes-list-type` or
 * `x-kubernetes-map-type`, so a `listType: map` list without a patch strategy (`tolerations`,
 * `resources.claims`) is replaced whole, and an atomic map type is merged key by key.
 */
import { K8S_SCHEMA } from "../generated/k8s-schema.ts";
import type { DefinitionSchema, FieldType } from "../k8s/schema-types.ts";
import type { PatchPath } from "./path.ts";
import { smpError } from "./smp-error.ts";

export interface FieldLookup {
  /** The field's type (for a list lookup: the type of its items). */
  readonly type: FieldType;
  /** The effective strategy once `retainKeys` is taken out: `merge`, `replace` or empty. */
  readonly patchStrategy: string;
  readonly mergeKey: string;
}

export function definitionOf(typeName: string): DefinitionSchema | undefined {
  return Object.hasOwn(K8S_SCHEMA, typeName) ? K8S_SCHEMA[typeName] : undefined;
}

/**
 * The field `key` of the struct `node`, looked up when both the original and the patch hold a JSON
 * object there. Like Go, only a struct has fields: a map, a scalar or a list type fails, as does a
 * field the struct does not have.
 */
export function lookupStructField(node: FieldType, key: string, path: PatchPath): FieldLookup {
  if (node.kind !== "object") {
    throw smpError(path, `cannot merge "${key}": its parent is ${typeLabel(node)}, not a struct`);
  }
  const definition = definitionOf(node.ref);
  const field = definition && Object.hasOwn(definition.fields, key) ? definition.fields[key] : undefined;
  if (field === undefined) {
    throw smpError(
      path,
      `unable to find api field in struct ${shortName(node.ref)} for the json field "${key}"`,
    );
  }
  return {
    type: field,
    patchStrategy: effectiveStrategy(field.patchStrategy, path),
    mergeKey: field.patchMergeKey ?? "",
  };
}

/** The field `key` of the struct `node` when both sides hold a JSON list there; its type is the item type. */
export function lookupListField(node: FieldType, key: string, path: PatchPath): FieldLookup {
  const field = lookupStructField(node, key, path);
  // Go accepts a list for a pointer-typed field here and lets the patch replace it; the OpenAPI
  // schema cannot tell pointers apart, so a list where the schema has no list is always an error.
  if (field.type.kind !== "array") {
    throw smpError(
      path,
      `expected a list field, but ${shortName(refOf(node))}.${key} is ${typeLabel(field.type)}`,
    );
  }
  if (field.type.items.kind === "array") throw smpError(path, "lists of lists cannot be merged");
  return { ...field, type: field.type.items };
}

/**
 * strategicpatch splits `merge,retainKeys` and drops `retainKeys`: when applying a patch only the
 * `$retainKeys` directive in the patch clears fields, whatever the schema says.
 */
function effectiveStrategy(strategy: string | undefined, path: PatchPath): string {
  if (strategy === undefined || strategy === "") return "";
  const parts = strategy.split(",");
  if (parts.length === 1) return parts[0] === "retainKeys" ? "" : parts[0]!;
  if (parts.length === 2) {
    if (parts[0] === "retainKeys") return parts[1]!;
    if (parts[1] === "retainKeys") return parts[0]!;
  }
  throw smpError(path, `unexpected patch strategy ${JSON.stringify(strategy)}`);
}

function refOf(node: FieldType): string {
  return node.kind === "object" ? node.ref : node.kind;
}

function typeLabel(type: FieldType): string {
  switch (type.kind) {
    case "object":
      return `struct ${shortName(type.ref)}`;
    case "array":
      return "a list";
    case "map":
      return "a map";
    default:
      return `a ${type.kind}`;
  }
}

/** `io.k8s.api.core.v1.PodSpec` → `PodSpec`, as Go names the struct. */
export function shortName(typeName: string): string {
  return typeName.slice(typeName.lastIndexOf(".") + 1);
}
