/**
 * The field tables of docs/plugin.md: every field of the `kubernetes` plugin and of its parameter
 * structs, with its type (from PLUGIN_SCHEMAS, what the plugin is decoded with) and what it does (from
 * PLUGIN_DOCS, what `agent-stack-k8s schema` shows in editors). `npm run docs` writes them; a test
 * fails when they are stale.
 */

import { PLUGIN_SCHEMAS, PLUGIN_TYPE } from "../src/buildkite/kubernetes-plugin.ts";
import { PLUGIN_DOCS } from "../src/buildkite/kubernetes-plugin-docs.ts";
import type { FieldType } from "../src/k8s/schema-types.ts";
import { withBlock } from "./docs-block.ts";

export const PLUGIN_FIELDS_START = "<!-- plugin-fields:start -->";
export const PLUGIN_FIELDS_END = "<!-- plugin-fields:end -->";

/** The plugin first, then its structs in the order its fields name them. */
const ORDER = [
  PLUGIN_TYPE,
  "buildkite.CheckoutParams",
  "buildkite.GitMirrors",
  "buildkite.CommandParams",
  "buildkite.SidecarParams",
  "buildkite.Metadata",
];

/** The heading each struct gets; `checkout`'s struct is what `default-checkout-params` holds too. */
const HEADINGS: Readonly<Record<string, string>> = {
  [PLUGIN_TYPE]: "kubernetes",
  "buildkite.CheckoutParams": "checkout (and default-checkout-params)",
  "buildkite.GitMirrors": "checkout.gitMirrors",
  "buildkite.CommandParams": "commandParams (and default-command-params)",
  "buildkite.SidecarParams": "sidecarParams (and default-sidecar-params)",
  "buildkite.Metadata": "metadata (and default-metadata)",
};

/** GitHub's anchor for a heading made of words, spaces and parentheses. */
function anchorOf(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, "")
    .replaceAll(" ", "-");
}

const KUBERNETES_API = "https://kubernetes.io/docs/reference/kubernetes-api/";

function typeText(type: FieldType): string {
  switch (type.kind) {
    case "array":
      return `list of ${typeText(type.items)}`;
    case "map":
      return `map of ${typeText(type.values)}`;
    case "object": {
      const heading = HEADINGS[type.ref];
      if (heading !== undefined) return `[object](#${anchorOf(heading)})`;
      const name = type.ref.split(".").at(-1) ?? type.ref;
      return `[${name}](${KUBERNETES_API}) (Kubernetes)`;
    }
    case "integer":
      return "integer";
    default:
      return type.kind;
  }
}

export function pluginFieldsMarkdown(): string {
  const sections = ORDER.map((name) => {
    const schema = PLUGIN_SCHEMAS[name];
    const docs = PLUGIN_DOCS[name];
    if (schema === undefined || docs === undefined) throw new Error(`${name}: no schema or no docs`);
    const rows = Object.entries(schema.fields).map(([field, type]) => {
      const description = docs.fields[field];
      if (description === undefined) throw new Error(`${name}.${field} has no description in PLUGIN_DOCS`);
      return `| \`${field}\` | ${typeText(type)} | ${description.replaceAll("|", "\\|")} |`;
    });
    return [
      `### ${HEADINGS[name]}`,
      "",
      docs.type,
      "",
      "| field | type | what it does |",
      "| --- | --- | --- |",
      ...rows,
    ].join("\n");
  });
  return sections.join("\n\n");
}

export function withPluginFieldsTable(text: string): string {
  return withBlock(text, PLUGIN_FIELDS_START, PLUGIN_FIELDS_END, pluginFieldsMarkdown(), "docs/plugin.md");
}
