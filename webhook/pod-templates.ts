/**
 * Where the webhook finds the PodTemplates that steps name with `podTemplate`: in the cluster, an
 * informer cache (`pod-template-informer.ts`, loaded only then, with the Kubernetes client); without
 * one, the `--pod-template` files, as `render` reads them, or none at all.
 */
import type { PodTemplateResolver } from "../src/expand/index.ts";
import { type PodTemplateFile, podTemplatesFrom } from "../src/render/pod-templates.ts";

export interface PodTemplateSource {
  readonly resolve: PodTemplateResolver;
  /** Whether admissions may rely on `resolve` yet. */
  ready(): boolean;
  /** How many templates are known, for the metrics. */
  count(): number;
  stop(): Promise<void>;
}

export function noPodTemplates(): PodTemplateSource {
  return {
    resolve: (name) => {
      throw new Error(
        `podtemplates ${JSON.stringify(name)} cannot be looked up: the webhook runs with --pod-templates none`,
      );
    },
    ready: () => true,
    count: () => 0,
    stop: async () => {},
  };
}

export function filePodTemplates(files: readonly PodTemplateFile[]): PodTemplateSource {
  const resolve = podTemplatesFrom(files);
  // The count is the informer cache's; files are not a cache.
  return { resolve, ready: () => true, count: () => 0, stop: async () => {} };
}
