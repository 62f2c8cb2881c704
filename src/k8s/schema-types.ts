/**
 * The shape of the compact Kubernetes schema table generated from the OpenAPI document
 * (`scripts/generate-k8s-schema.ts` → `src/generated/k8s-schema.ts`). It keeps exactly what strategic
 * merge patch and typed decoding need: field types, references and the patch/list/map extensions.
 */

/** Scalar kinds. `quantity`, `intOrString` and `time` are the string-like apimachinery types. */
export type ScalarKind =
  | "string"
  | "boolean"
  | "integer"
  | "number"
  | "quantity"
  | "intOrString"
  | "time"
  | "any";

export interface PatchMeta {
  /** `x-kubernetes-patch-strategy`, e.g. `merge`, `retainKeys`, `merge,retainKeys`, `replace`. */
  readonly patchStrategy?: string;
  /** `x-kubernetes-patch-merge-key`. */
  readonly patchMergeKey?: string;
  /** `x-kubernetes-list-type`. */
  readonly listType?: "atomic" | "set" | "map";
  /** `x-kubernetes-list-map-keys`. */
  readonly listMapKeys?: readonly string[];
  /** `x-kubernetes-map-type`. */
  readonly mapType?: "atomic" | "granular";
}

export type FieldType =
  | ({ readonly kind: ScalarKind; readonly format?: string } & PatchMeta)
  | ({ readonly kind: "object"; readonly ref: string } & PatchMeta)
  | ({ readonly kind: "array"; readonly items: FieldType } & PatchMeta)
  | ({ readonly kind: "map"; readonly values: FieldType } & PatchMeta);

export interface DefinitionSchema {
  readonly fields: Readonly<Record<string, FieldType>>;
  readonly required?: readonly string[];
  /** Definition-level `x-kubernetes-map-type` (e.g. `atomic` on `LocalObjectReference`). */
  readonly mapType?: "atomic" | "granular";
}

export type SchemaTable = Readonly<Record<string, DefinitionSchema>>;
