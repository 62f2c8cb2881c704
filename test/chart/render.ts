/**
 * `helm template` of the chart, parsed into objects, for the chart tests.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { findHelm, runHelm } from "../../scripts/helm.ts";

export const CHART = new URL("../../charts/agent-stack-k8s/", import.meta.url).pathname;
export const RELEASE = "ci";
export const NAMESPACE = "buildkite";

const helm = findHelm();
export const HELM = "path" in helm ? helm.path : undefined;
export const SKIP_REASON = "skip" in helm ? ` (skipped: ${helm.skip})` : "";

export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [key: string]: unknown };
  readonly [key: string]: unknown;
}

export type Rendered =
  | { readonly ok: true; readonly objects: readonly K8sObject[] }
  | { readonly ok: false; readonly error: string };

export interface RenderOptions {
  readonly valuesFiles?: readonly string[];
  readonly values?: Record<string, unknown>;
  readonly release?: string;
  readonly namespace?: string;
  /** The cluster's version helm checks the chart's kubeVersion against (helm's own default otherwise). */
  readonly kubeVersion?: string;
}

/** Renders the chart as `helm template` does for `helm install`. */
export function renderChart(options: RenderOptions = {}): Rendered {
  if (HELM === undefined) throw new Error(`no helm${SKIP_REASON}`);
  const work = mkdtempSync(join(tmpdir(), "chart-values-"));
  try {
    const args = [
      "template",
      options.release ?? RELEASE,
      CHART,
      "--namespace",
      options.namespace ?? NAMESPACE,
    ];
    for (const file of options.valuesFiles ?? []) args.push("--values", join(CHART, file));
    if (options.kubeVersion !== undefined) args.push("--kube-version", options.kubeVersion);
    if (options.values !== undefined) {
      const file = join(work, "values.yaml");
      writeFileSync(file, stringify(options.values));
      args.push("--values", file);
    }
    const result = runHelm(HELM, args);
    if (result.status !== 0) return { ok: false, error: result.stderr.trim() };
    const objects = parseAllDocuments(result.stdout)
      .map((document) => {
        if (document.errors.length > 0)
          throw new Error(`helm printed invalid YAML: ${document.errors[0]?.message}`);
        return document.toJS() as K8sObject | null;
      })
      .filter((object): object is K8sObject => object !== null);
    return { ok: true, objects };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * NOTES.txt as `helm install` would print it. `helm template` skips NOTES.txt, so a copy of the chart
 * gets it as the block scalar of an ordinary template.
 */
export function renderNotes(valuesFiles: readonly string[]): string {
  if (HELM === undefined) throw new Error(`no helm${SKIP_REASON}`);
  const copy = mkdtempSync(join(tmpdir(), "chart-notes-"));
  try {
    cpSync(CHART, copy, { recursive: true });
    const notes = readFileSync(join(copy, "templates/NOTES.txt"), "utf8");
    const indented = notes
      .split("\n")
      .map((line) => `  ${line}`)
      .join("\n");
    writeFileSync(join(copy, "templates/notes-preview.yaml"), `notes: |\n${indented}\n`);
    const args = [
      "template",
      RELEASE,
      copy,
      "--namespace",
      NAMESPACE,
      "--show-only",
      "templates/notes-preview.yaml",
    ];
    for (const file of valuesFiles) args.push("--values", join(CHART, file));
    const result = runHelm(HELM, args);
    if (result.status !== 0) throw new Error(`NOTES.txt does not render:\n${result.stderr}`);
    const [document] = parseAllDocuments(result.stdout);
    const rendered = document?.toJS() as { notes?: string } | undefined;
    if (rendered?.notes === undefined) throw new Error(`NOTES.txt rendered to nothing:\n${result.stdout}`);
    return rendered.notes;
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

/** Renders, failing the test with helm's message when it refuses. */
export function renderObjects(options: RenderOptions = {}): readonly K8sObject[] {
  const rendered = renderChart(options);
  if (!rendered.ok) throw new Error(`helm template failed:\n${rendered.error}`);
  return rendered.objects;
}

export function objectsOfKind(objects: readonly K8sObject[], kind: string): K8sObject[] {
  return objects.filter((object) => object.kind === kind);
}

export function oneOf(objects: readonly K8sObject[], kind: string, name?: string): K8sObject {
  const found = objectsOfKind(objects, kind).filter(
    (object) => name === undefined || object.metadata.name === name,
  );
  if (found.length !== 1) {
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ""}, found ${found.length}`);
  }
  return found[0] as K8sObject;
}
