/**
 * Generates `src/generated/k8s-schema.ts`, the compact schema table used at run time, and its types,
 * from the vendored Kubernetes OpenAPI document; and `src/generated/pipeline-schema.json` from that
 * document and Buildkite's pipeline schema (see `pipeline-schema.ts`). Run with `npm run generate`;
 * `--check` exits 1 when a checked-in file differs from what would be generated.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import type {
  DefinitionSchema,
  FieldType,
  PatchMeta,
  ScalarKind,
  SchemaTable,
} from "../src/k8s/schema-types.ts";
import {
  type SwaggerSchema as PipelineSwagger,
  pipelineJsonSchema,
  renderPipelineSchema,
} from "./pipeline-schema.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const SWAGGER = join(ROOT, "reference/kubernetes/swagger.json.gz");
const OUTPUT = join(ROOT, "src/generated/k8s-schema.ts");
const TYPES_OUTPUT = join(ROOT, "src/generated/k8s-types.ts");
const BUILDKITE_PIPELINE_SCHEMA = join(ROOT, "reference/buildkite/pipeline-schema.json");
const PIPELINE_SCHEMA_OUTPUT = join(ROOT, "src/generated/pipeline-schema.json");

/** Everything the project reads, writes or patches hangs off these. */
const ROOTS = ["io.k8s.api.batch.v1.Job", "io.k8s.api.core.v1.Pod", "io.k8s.api.core.v1.PodTemplate"];

/** Definitions with no properties that are scalars on the wire. */
const SCALAR_DEFINITIONS: Record<string, ScalarKind> = {
  "io.k8s.apimachinery.pkg.api.resource.Quantity": "quantity",
  "io.k8s.apimachinery.pkg.util.intstr.IntOrString": "intOrString",
  "io.k8s.apimachinery.pkg.apis.meta.v1.Time": "time",
  "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime": "time",
  "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1": "any",
  "io.k8s.apimachinery.pkg.runtime.RawExtension": "any",
};

interface SwaggerSchema {
  description?: string;
  type?: string;
  format?: string;
  $ref?: string;
  items?: SwaggerSchema;
  additionalProperties?: SwaggerSchema | boolean;
  properties?: Record<string, SwaggerSchema>;
  required?: string[];
  "x-kubernetes-patch-strategy"?: string;
  "x-kubernetes-patch-merge-key"?: string;
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-map-type"?: "atomic" | "granular";
}

function refName(ref: string): string {
  return ref.replace(/^#\/definitions\//, "");
}

function patchMeta(schema: SwaggerSchema): PatchMeta {
  const meta: {
    patchStrategy?: string;
    patchMergeKey?: string;
    listType?: "atomic" | "set" | "map";
    listMapKeys?: string[];
    mapType?: "atomic" | "granular";
  } = {};
  if (schema["x-kubernetes-patch-strategy"]) meta.patchStrategy = schema["x-kubernetes-patch-strategy"];
  if (schema["x-kubernetes-patch-merge-key"]) meta.patchMergeKey = schema["x-kubernetes-patch-merge-key"];
  if (schema["x-kubernetes-list-type"]) meta.listType = schema["x-kubernetes-list-type"];
  if (schema["x-kubernetes-list-map-keys"]) meta.listMapKeys = schema["x-kubernetes-list-map-keys"];
  if (schema["x-kubernetes-map-type"]) meta.mapType = schema["x-kubernetes-map-type"];
  return meta;
}

function fieldType(schema: SwaggerSchema, reach: (name: string) => void): FieldType {
  const meta = patchMeta(schema);
  if (schema.$ref) {
    const name = refName(schema.$ref);
    const scalar = SCALAR_DEFINITIONS[name];
    if (scalar) return { kind: scalar, ...meta };
    reach(name);
    return { kind: "object", ref: name, ...meta };
  }
  switch (schema.type) {
    case "array":
      if (!schema.items) throw new Error("array without items");
      return { kind: "array", items: fieldType(schema.items, reach), ...meta };
    case "object":
      if (schema.additionalProperties && typeof schema.additionalProperties === "object") {
        return { kind: "map", values: fieldType(schema.additionalProperties, reach), ...meta };
      }
      return { kind: "any", ...meta };
    case "string":
    case "boolean":
    case "integer":
    case "number":
      return schema.format
        ? { kind: schema.type, format: schema.format, ...meta }
        : { kind: schema.type, ...meta };
    case undefined:
      return { kind: "any", ...meta };
    default:
      throw new Error(`unknown OpenAPI type ${schema.type}`);
  }
}

export function generateTable(definitions: Record<string, SwaggerSchema>): SchemaTable {
  const table: Record<string, DefinitionSchema> = {};
  const pending = [...ROOTS];
  const reach = (name: string): void => {
    if (!(name in table) && !pending.includes(name)) pending.push(name);
  };
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name in table) continue;
    const definition = definitions[name];
    if (!definition) throw new Error(`definition ${name} is referenced but missing`);
    const fields: Record<string, FieldType> = {};
    for (const field of Object.keys(definition.properties ?? {}).sort()) {
      fields[field] = fieldType(definition.properties![field]!, reach);
    }
    const entry: { fields: Record<string, FieldType>; required?: string[]; mapType?: "atomic" | "granular" } =
      {
        fields,
      };
    if (definition.required?.length) entry.required = [...definition.required].sort();
    if (definition["x-kubernetes-map-type"]) entry.mapType = definition["x-kubernetes-map-type"];
    table[name] = entry;
  }
  return Object.fromEntries(
    Object.keys(table)
      .sort()
      .map((name) => [name, table[name]!]),
  );
}

export function renderModule(table: SchemaTable): string {
  const lines = [
    "// Generated by scripts/generate-k8s-schema.ts from reference/kubernetes/swagger.json.gz.",
    "// Do not edit: run `npm run generate`. A test fails when this file is out of date.",
    'import type { SchemaTable } from "../k8s/schema-types.ts";',
    "",
    "export const K8S_SCHEMA: SchemaTable = {",
  ];
  for (const [name, definition] of Object.entries(table)) {
    lines.push(`  ${JSON.stringify(name)}: ${JSON.stringify(definition)},`);
  }
  lines.push("};", "");
  return lines.join("\n");
}

/** TypeScript interfaces for every definition of the table, named by their short name. */
export function renderTypes(table: SchemaTable): string {
  const names = new Map<string, string>();
  for (const name of Object.keys(table)) {
    const short = name.split(".").at(-1)!;
    if ([...names.values()].includes(short)) throw new Error(`two definitions are both called ${short}`);
    names.set(name, short);
  }
  const typeOf = (type: FieldType): string => {
    switch (type.kind) {
      case "object":
        return names.get(type.ref)!;
      case "array":
        return `Array<${typeOf(type.items)}>`;
      case "map":
        return `Record<string, ${typeOf(type.values)}>`;
      case "integer":
      case "number":
        return "number";
      case "intOrString":
        return "number | string";
      case "quantity":
      case "time":
      case "string":
        return "string";
      case "boolean":
        return "boolean";
      case "any":
        return "unknown";
    }
  };
  const lines = [
    "// Generated by scripts/generate-k8s-schema.ts from reference/kubernetes/swagger.json.gz.",
    "// Do not edit: run `npm run generate`. A test fails when this file is out of date.",
    "",
  ];
  for (const [name, definition] of Object.entries(table)) {
    lines.push(`/** \`${name}\` */`, `export interface ${names.get(name)} {`);
    const required = new Set(definition.required ?? []);
    for (const [field, type] of Object.entries(definition.fields)) {
      const key = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(field) ? field : JSON.stringify(field);
      lines.push(`  ${key}${required.has(field) ? "" : "?"}: ${typeOf(type)};`);
    }
    lines.push("}", "");
  }
  return lines.join("\n");
}

function openApiDefinitions(): Record<string, SwaggerSchema> {
  const swagger = JSON.parse(gunzipSync(readFileSync(SWAGGER)).toString("utf8")) as {
    definitions: Record<string, SwaggerSchema>;
  };
  return swagger.definitions;
}

function loadTable(): SchemaTable {
  return generateTable(openApiDefinitions());
}

/** Each generated file and its expected content. */
export function generatedFiles(): Array<{ path: string; content: string }> {
  const definitions = openApiDefinitions();
  const table = generateTable(definitions);
  const buildkite = JSON.parse(readFileSync(BUILDKITE_PIPELINE_SCHEMA, "utf8")) as Record<string, unknown>;
  return [
    { path: OUTPUT, content: renderModule(table) },
    { path: TYPES_OUTPUT, content: renderTypes(table) },
    {
      path: PIPELINE_SCHEMA_OUTPUT,
      content: renderPipelineSchema(
        pipelineJsonSchema(buildkite, definitions as Record<string, PipelineSwagger>),
      ),
    },
  ];
}

export function generatedModule(): string {
  return renderModule(loadTable());
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const { path, content } of generatedFiles()) {
    if (process.argv.includes("--check")) {
      if (readFileSync(path, "utf8") !== content) {
        process.stderr.write(`${path} is out of date: run npm run generate\n`);
        process.exitCode = 1;
      }
    } else {
      writeFileSync(path, content);
      process.stdout.write(`wrote ${path} (${content.length} bytes)\n`);
    }
  }
}
