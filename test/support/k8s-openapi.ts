/**
 * The full Kubernetes OpenAPI v2 document (`reference/kubernetes/swagger.json.gz`), read on first use
 * and kept for the rest of the test run. The validator reads it directly, never the compact table in
 * `src/generated/`: a bug in the generator must not be able to hide itself from the tests.
 */
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";

export interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

/** The parts of an OpenAPI v2 schema object that Kubernetes uses and the validator reads. */
export interface SchemaNode {
  readonly $ref?: string;
  readonly type?: string;
  readonly format?: string;
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly additionalProperties?: SchemaNode | boolean;
  readonly items?: SchemaNode;
  readonly required?: readonly string[];
  readonly "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  readonly "x-kubernetes-list-map-keys"?: readonly string[];
  readonly "x-kubernetes-group-version-kind"?: readonly GroupVersionKind[];
}

const DOCUMENT = new URL("../../reference/kubernetes/swagger.json.gz", import.meta.url);
const REF_PREFIX = "#/definitions/";

let definitions: Readonly<Record<string, SchemaNode>> | undefined;

export function definitionNamed(name: string): SchemaNode {
  const found = allDefinitions()[name];
  if (found === undefined) throw new Error(`the Kubernetes OpenAPI document has no definition ${name}`);
  return found;
}

export function hasDefinition(name: string): boolean {
  return Object.hasOwn(allDefinitions(), name);
}

/** `#/definitions/io.k8s.api.core.v1.Container` → `io.k8s.api.core.v1.Container`. */
export function referencedName(ref: string): string {
  if (!ref.startsWith(REF_PREFIX)) throw new Error(`unsupported $ref ${ref}`);
  return ref.slice(REF_PREFIX.length);
}

/** The property names of a definition, e.g. every volume source of `Volume`. */
export function propertyNames(definitionName: string): readonly string[] {
  return Object.keys(definitionNamed(definitionName).properties ?? {});
}

/**
 * The definition of the object kind `apiVersion` + `kind` (e.g. `apps/v1` `Deployment` →
 * `io.k8s.api.apps.v1.Deployment`), from the document's `x-kubernetes-group-version-kind`; `undefined`
 * for a kind the document does not define (a custom resource).
 */
export function definitionForKind(apiVersion: string, kind: string): string | undefined {
  const slash = apiVersion.lastIndexOf("/");
  const group = slash === -1 ? "" : apiVersion.slice(0, slash);
  const version = apiVersion.slice(slash + 1);
  for (const [name, definition] of Object.entries(allDefinitions())) {
    const kinds = definition["x-kubernetes-group-version-kind"] ?? [];
    // List and watch-event definitions carry the same group-version-kind as several others.
    if (name.startsWith("io.k8s.apimachinery.")) continue;
    if (kinds.some((gvk) => gvk.group === group && gvk.version === version && gvk.kind === kind)) return name;
  }
  return undefined;
}

function allDefinitions(): Readonly<Record<string, SchemaNode>> {
  definitions ??= readDefinitions();
  return definitions;
}

function readDefinitions(): Readonly<Record<string, SchemaNode>> {
  const document: unknown = JSON.parse(gunzipSync(readFileSync(DOCUMENT)).toString("utf8"));
  if (!isPlainRecord(document) || !isPlainRecord(document.definitions)) {
    throw new Error(`${DOCUMENT.pathname} is not an OpenAPI v2 document with definitions`);
  }
  // The document is the official one, read as it is; only its shape is trusted from here on.
  return document.definitions as Readonly<Record<string, SchemaNode>>;
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
