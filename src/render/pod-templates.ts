/**
 * PodTemplates for `render --pod-template FILE`: YAML or JSON files holding PodTemplate objects (several
 * documents, or a `List`), looked up by name as the webhook looks them up in its namespace.
 */

import { parseAllDocuments } from "yaml";
import { AgentStackError } from "../errors.ts";
import type { PodTemplateResolver } from "../expand/index.ts";
import type { PodSpec } from "../generated/k8s-types.ts";
import { copyJson } from "../k8s/copy.ts";
import { decodeDefinition, isPlainObject } from "../k8s/decode.ts";

export interface PodTemplateFile {
  readonly path: string;
  readonly text: string;
}

export function podTemplatesFrom(files: readonly PodTemplateFile[]): PodTemplateResolver {
  const templates = new Map<string, PodSpec>();
  for (const file of files) {
    for (const [name, spec] of readTemplates(file)) {
      if (templates.has(name)) invalid(file.path, `PodTemplate ${JSON.stringify(name)} is defined twice`);
      templates.set(name, spec);
    }
  }
  return (name) => {
    const spec = templates.get(name);
    if (!spec) {
      const known = [...templates.keys()].sort().join(", ") || "none";
      throw new Error(`podtemplates ${JSON.stringify(name)} not found (known from --pod-template: ${known})`);
    }
    return copyJson(spec);
  };
}

function readTemplates(file: PodTemplateFile): Array<[string, PodSpec]> {
  const documents = parseAllDocuments(file.text);
  if (!Array.isArray(documents)) invalid(file.path, "no YAML documents");
  const objects: Array<{ value: unknown; path: string }> = [];
  documents.forEach((document, index) => {
    if (document.errors.length > 0)
      invalid(file.path, `document ${index + 1} is not valid YAML: ${document.errors[0]?.message}`);
    const value: unknown = document.toJS();
    if (value === null || value === undefined) return;
    if (isPlainObject(value) && value.kind === "List" && Array.isArray(value.items)) {
      for (const [itemIndex, item] of value.items.entries()) {
        objects.push({ value: item, path: `$[${index}].items[${itemIndex}]` });
      }
    } else {
      objects.push({ value, path: `$[${index}]` });
    }
  });
  return objects.map(({ value, path }) => podTemplate(value, `${file.path}: ${path}`));
}

function podTemplate(value: unknown, where: string): [string, PodSpec] {
  if (!isPlainObject(value) || value.kind !== "PodTemplate")
    invalid(where, "expected an object of kind PodTemplate");
  const metadata = value.metadata;
  const name = isPlainObject(metadata) ? metadata.name : undefined;
  if (typeof name !== "string" || name === "") invalid(where, "metadata.name is missing");
  const template = value.template;
  const spec = isPlainObject(template) ? template.spec : undefined;
  if (!isPlainObject(spec)) invalid(where, "template.spec is missing");
  const decoded = decodeDefinition<PodSpec>(spec, "io.k8s.api.core.v1.PodSpec", {
    errorCode: "ASK_INPUT_INVALID",
    unknownFields: "error",
    rootPath: `${where}.template.spec`,
  });
  return [name, decoded.value];
}

function invalid(where: string, message: string): never {
  throw new AgentStackError("ASK_INPUT_INVALID", `${where}: ${message}`);
}
