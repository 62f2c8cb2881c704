/**
 * Where in a pipeline file a problem with one of its jobs is written. Expansion errors carry a path in
 * the job's data (`plugins[0].kubernetes.podSpec.containers[0].env[0].value`, `podSpecPatch.containers[1]`)
 * or name a container; API-server problems a path in the expanded Job
 * (`spec.template.spec.containers[0].volumeMounts[2].name`). Both are followed back to the step's
 * `kubernetes` plugin — by container name, and by the merge keys of lists (a mount by its
 * `mountPath`) since the stack reorders and appends — and fall back to the plugin, then the step.
 */

import type { PipelineJob } from "../buildkite/pipeline.ts";
import { mappingEntries } from "../buildkite/pipeline-input.ts";
import { type PathSegment, parsePath } from "../buildkite/pipeline-source.ts";
import { fullPluginName } from "../buildkite/plugin-names.ts";
import { KUBERNETES_PLUGIN_NAME } from "../buildkite/plugins.ts";
import type { StepPlugin } from "../buildkite/step-plugins.ts";
import type { AgentStackError } from "../errors.ts";
import { InvalidImagesError } from "../expand/image-checks.ts";
import {
  COPY_AGENT_CONTAINER,
  commandContainerName,
  IMAGE_CHECK_PREFIX,
  sidecarName,
} from "../expand/names.ts";
import type { Job } from "../generated/k8s-types.ts";

type Path = readonly PathSegment[];

/** Where the error a job's expansion failed with is written. */
export function errorLocation(job: PipelineJob, error: AgentStackError): Path {
  const path = error.path === undefined ? [] : parsePath(error.path);
  const [first, second, third, ...rest] = path;
  if (first === "plugins" && typeof second === "number") {
    const plugin = job.plugins[second];
    if (plugin === undefined) return stepPath(job);
    if (third !== "kubernetes") return parsePath(plugin.path);
    return [...parsePath(plugin.configPath), ...writtenPath(plugin.config, rest)];
  }
  if (first === "podSpecPatch") return withinPlugin(job, path, "podSpecPatch");
  switch (error.code) {
    case "ASK_IMAGE_REFERENCE": {
      const container = error instanceof InvalidImagesError ? error.invalid[0]?.container : undefined;
      return container === undefined ? pluginOrStep(job) : imageLocation(job, container);
    }
    case "ASK_POD_TEMPLATE_FETCH":
      return withinPlugin(job, ["podTemplate"], "podTemplate");
    case "ASK_PATCH_REMOVES_AGENT":
      return withinPlugin(job, ["podSpecPatch"], "podSpecPatch");
    case "ASK_RESOURCE_CLASS":
      return [...stepPath(job), "agents", "resource_class"];
    default:
      return pluginOrStep(job);
  }
}

/**
 * Where the image of a container is written: its own `image`, or, in the Job as created (`applied`),
 * the step's `image` attribute, which replaces the command containers' after the image checks.
 */
export function imageLocation(job: PipelineJob, container: string, applied = false): Path {
  const source =
    containerSource(job, "containers", container) ?? containerSource(job, "initContainers", container);
  const isCommandContainer =
    source?.list === "containers" || (source === undefined && /^container-\d+$/.test(container));
  const fromAttribute = isCommandContainer && (applied || source === undefined);
  if (fromAttribute && job.imageFrom === "step") return [...stepPath(job), "image"];
  if (fromAttribute && job.imageFrom === "pipeline") return ["image"];
  if (source === undefined) return pluginOrStep(job);
  return hasField(source.value, "image") ? [...source.path, writtenKey(source.value, "image")] : source.path;
}

/** Where the part of the expanded Job at `path` comes from. */
export function jobPathLocation(job: PipelineJob, expanded: Job, path: Path): Path {
  const [a, b, c, list, index, ...rest] = path;
  const spec = expanded.spec?.template?.spec;
  if (a === "spec" && b === "template" && c === "spec" && spec !== undefined) {
    if ((list === "containers" || list === "initContainers") && typeof index === "number") {
      return containerPathLocation(job, spec, list, index, rest);
    }
    if (list === "volumes" && typeof index === "number") {
      const name = spec.volumes?.[index]?.name;
      return volumeSource(job, name, rest);
    }
    if (typeof list === "string") {
      const field = [list, ...(index === undefined ? [] : [index]), ...rest];
      const patched = kubernetesPlugins(job).some(
        (plugin) => entryAt(plugin.config, ["podSpecPatch", list]) !== undefined,
      );
      return withinPlugin(
        job,
        [patched ? "podSpecPatch" : "podSpec", ...field],
        patched ? "podSpecPatch" : "podSpec",
      );
    }
  }
  if ((a === "metadata" || (a === "spec" && b === "template" && c === "metadata")) && path.length > 0) {
    const field = a === "metadata" ? b : list;
    const key = a === "metadata" ? c : index;
    if (field === "labels" || field === "annotations") {
      return withinPlugin(job, ["metadata", field, ...(key === undefined ? [] : [key])], "metadata");
    }
  }
  return pluginOrStep(job);
}

type PodSpec = NonNullable<NonNullable<Job["spec"]>["template"]["spec"]>;

function containerPathLocation(
  job: PipelineJob,
  spec: PodSpec,
  list: "containers" | "initContainers",
  index: number,
  rest: Path,
): Path {
  const containers = (spec[list] ?? []) as unknown as Array<Record<string, unknown>>;
  const container = containers[index];
  if (container === undefined) return pluginOrStep(job);
  const name = typeof container.name === "string" ? container.name : "";
  // An image check runs another container's image with its pull policy: point at that container.
  if (name.startsWith(IMAGE_CHECK_PREFIX)) {
    const checked = spec.containers.findIndex((candidate) => candidate.image === container.image);
    if (checked >= 0) return containerPathLocation(job, spec, "containers", checked, rest);
  }
  const source = containerSource(job, list, name, {
    index,
    stackInitContainers: containers.findIndex((candidate) => !isStackInitContainer(candidate.name)),
  });
  const matched = source === undefined ? [] : matchedPath(source.value, container, rest);
  // What the source entry does not have came from the plugin's shared lists (`extraVolumeMounts`…).
  const complete = source !== undefined && matched.length === rest.length;
  const shared = complete ? undefined : sharedSource(job, container, rest);
  if (shared !== undefined) return shared;
  return source === undefined ? pluginOrStep(job) : [...source.path, ...matched];
}

export function stepPath(job: PipelineJob): Path {
  return parsePath(job.step.path);
}

function kubernetesPlugins(job: PipelineJob): StepPlugin[] {
  return job.plugins.filter((plugin) => fullPluginName(plugin.name) === KUBERNETES_PLUGIN_NAME);
}

function pluginOrStep(job: PipelineJob): Path {
  const plugin = kubernetesPlugins(job).at(-1);
  return plugin === undefined ? stepPath(job) : parsePath(plugin.configPath);
}

/** `rest` within the last kubernetes plugin that has `field`, else the plugin or the step. */
function withinPlugin(job: PipelineJob, rest: Path, field: string): Path {
  const plugin = kubernetesPlugins(job).findLast((candidate) => hasField(candidate.config, field));
  if (plugin === undefined) return pluginOrStep(job);
  return [...parsePath(plugin.configPath), ...writtenPath(plugin.config, rest)];
}

interface ContainerSource {
  readonly path: Path;
  readonly value: unknown;
  readonly list: "containers" | "initContainers";
}

/**
 * The entry a container of the expanded pod comes from: a `podSpec` container (named, or
 * `container-N`), a sidecar (`sidecar-N`), a `podSpec` init container, or a `podSpecPatch` entry.
 */
function containerSource(
  job: PipelineJob,
  list: "containers" | "initContainers",
  name: string,
  place?: { readonly index: number; readonly stackInitContainers: number },
): ContainerSource | undefined {
  if (place !== undefined) {
    const placed = containerAtPlace(job, list, name, place);
    if (placed !== undefined) return placed;
  }
  for (const plugin of kubernetesPlugins(job).reverse()) {
    const base = parsePath(plugin.configPath);
    const candidates: Array<
      readonly [field: string[], defaultName: ((index: number) => string) | undefined]
    > =
      list === "containers"
        ? [
            [["podSpec", "containers"], commandContainerName],
            [["podSpecPatch", "containers"], undefined],
          ]
        : [
            [["sidecars"], sidecarName],
            [["podSpec", "initContainers"], undefined],
            [["podSpecPatch", "initContainers"], undefined],
          ];
    for (const [fields, defaultName] of candidates) {
      const found = entryAt(plugin.config, fields);
      if (found === undefined || !Array.isArray(found.value)) continue;
      const index = found.value.findIndex((entry, at) => {
        const own = fieldValue(entry, "name");
        return own === name || ((own === undefined || own === "") && defaultName?.(at) === name);
      });
      if (index >= 0) return { path: [...base, ...found.path, index], value: found.value[index], list };
    }
  }
  return undefined;
}

/**
 * The source of the container at `index` of the expanded pod by its place, which names cannot tell
 * when they repeat or are missing: command containers keep the order of `podSpec.containers`; init
 * containers are the stack's, then the pod spec's, then the sidecars.
 */
function containerAtPlace(
  job: PipelineJob,
  list: "containers" | "initContainers",
  name: string,
  place: { readonly index: number; readonly stackInitContainers: number },
): ContainerSource | undefined {
  const plugin = kubernetesPlugins(job).findLast(
    (candidate) => hasField(candidate.config, "podSpec") || hasField(candidate.config, "sidecars"),
  );
  if (plugin === undefined) return undefined;
  const base = parsePath(plugin.configPath);
  const fromList = (fields: string[], at: number, defaultName: (index: number) => string | undefined) => {
    const found = entryAt(plugin.config, fields);
    if (found === undefined || !Array.isArray(found.value) || at < 0 || at >= found.value.length)
      return undefined;
    const entry = found.value[at];
    const own = fieldValue(entry, "name");
    const matches =
      own === name || ((own === undefined || own === "") && (name === "" || defaultName(at) === name));
    return matches ? { path: [...base, ...found.path, at], value: entry, list } : undefined;
  };
  if (list === "containers") return fromList(["podSpec", "containers"], place.index, commandContainerName);
  const own = entryAt(plugin.config, ["podSpec", "initContainers"]);
  const ownCount = own !== undefined && Array.isArray(own.value) ? own.value.length : 0;
  const at = place.index - Math.max(place.stackInitContainers, 0);
  return at < ownCount
    ? fromList(["podSpec", "initContainers"], at, () => undefined)
    : fromList(["sidecars"], at - ownCount, sidecarName);
}

function isStackInitContainer(name: unknown): boolean {
  return name === COPY_AGENT_CONTAINER || (typeof name === "string" && name.startsWith(IMAGE_CHECK_PREFIX));
}

/**
 * Follows `rest` (`volumeMounts[2].name`) from a container of the expanded pod into its source entry:
 * list items by their merge key, since the stack appends to those lists.
 */
function matchedPath(source: unknown, expanded: Record<string, unknown>, rest: Path): Path {
  const result: PathSegment[] = [];
  let from: unknown = source;
  let to: unknown = expanded;
  for (let at = 0; at < rest.length; at++) {
    const segment = rest[at]!;
    if (typeof segment === "number") {
      const item = Array.isArray(to) ? to[segment] : undefined;
      const index = Array.isArray(from) ? matchingItem(from, item, rest[at - 1]) : -1;
      if (index < 0) return result;
      result.push(index);
      from = (from as unknown[])[index];
      to = item;
      continue;
    }
    if (!hasField(from, segment)) return result;
    const key = writtenKey(from, segment);
    result.push(key);
    from = fieldValue(from, segment);
    to = isRecord(to) ? to[segment] : undefined;
  }
  return result;
}

const MERGE_KEYS: Readonly<Record<string, string>> = {
  volumeMounts: "mountPath",
  env: "name",
  ports: "containerPort",
  volumeDevices: "devicePath",
};

function matchingItem(source: readonly unknown[], item: unknown, list: PathSegment | undefined): number {
  const key = typeof list === "string" ? MERGE_KEYS[list] : undefined;
  if (key !== undefined) {
    const wanted = isRecord(item) ? item[key] : undefined;
    return source.findIndex((candidate) => fieldValue(candidate, key) === wanted);
  }
  return source.findIndex((candidate) => JSON.stringify(plain(candidate)) === JSON.stringify(item));
}

/**
 * A container got a mount from the plugin's shared lists (`extraVolumeMounts`…): the list entry with
 * the same `mountPath`, if any.
 */
function sharedSource(job: PipelineJob, container: Record<string, unknown>, rest: Path): Path | undefined {
  const [list, index] = rest;
  if (list === "volumeMounts" && typeof index === "number") {
    const mounts = container.volumeMounts;
    const mountPath = Array.isArray(mounts) && isRecord(mounts[index]) ? mounts[index].mountPath : undefined;
    for (const plugin of kubernetesPlugins(job).reverse()) {
      for (const fields of [
        ["extraVolumeMounts"],
        ["commandParams", "extraVolumeMounts"],
        ["sidecarParams", "extraVolumeMounts"],
        ["checkout", "extraVolumeMounts"],
      ]) {
        const found = entryAt(plugin.config, fields);
        if (found === undefined || !Array.isArray(found.value)) continue;
        const at = found.value.findIndex((mount) => fieldValue(mount, "mountPath") === mountPath);
        if (at >= 0) return [...parsePath(plugin.configPath), ...found.path, at, ...rest.slice(2)];
      }
    }
  }
  return undefined;
}

function volumeSource(job: PipelineJob, name: string | undefined, rest: Path): Path {
  for (const plugin of kubernetesPlugins(job).reverse()) {
    for (const fields of [
      ["podSpec", "volumes"],
      ["podSpecPatch", "volumes"],
    ]) {
      const found = entryAt(plugin.config, fields);
      if (found === undefined || !Array.isArray(found.value)) continue;
      const index = found.value.findIndex((volume) => fieldValue(volume, "name") === name);
      if (index >= 0) {
        return [
          ...parsePath(plugin.configPath),
          ...found.path,
          index,
          ...matchedPath(found.value[index], {}, rest),
        ];
      }
    }
    const mirrors = entryAt(plugin.config, ["checkout", "gitMirrors", "volume"]);
    if (mirrors !== undefined && fieldValue(mirrors.value, "name") === name) {
      return [...parsePath(plugin.configPath), ...mirrors.path];
    }
  }
  return pluginOrStep(job);
}

/** `fields` followed through a plugin configuration as written (any case), or undefined. */
function entryAt(
  config: unknown,
  fields: readonly string[],
): { path: PathSegment[]; value: unknown } | undefined {
  let value = config;
  const path: PathSegment[] = [];
  for (const field of fields) {
    if (!hasField(value, field)) return undefined;
    path.push(writtenKey(value, field));
    value = fieldValue(value, field);
  }
  return { path, value };
}

/** The segments of `rest` with each field name as written (`podspec` for `podSpec`), as far as they exist. */
function writtenPath(config: unknown, rest: Path): Path {
  const result: PathSegment[] = [];
  let value = config;
  for (const segment of rest) {
    if (typeof segment === "number") {
      if (!Array.isArray(value) || segment >= value.length) break;
      result.push(segment);
      value = value[segment];
      continue;
    }
    if (!hasField(value, segment)) break;
    result.push(writtenKey(value, segment));
    value = fieldValue(value, segment);
  }
  return result;
}

/** Field names match in any case, as Go's decoder matches them; an exact match wins. */
function writtenKey(value: unknown, field: string): string {
  const keys = keysOf(value);
  return (
    keys.find((key) => key === field) ??
    keys.find((key) => key.toLowerCase() === field.toLowerCase()) ??
    field
  );
}

function hasField(value: unknown, field: string): boolean {
  return keysOf(value).some((key) => key.toLowerCase() === field.toLowerCase());
}

function fieldValue(value: unknown, field: string): unknown {
  const entries = entriesOf(value);
  const key = writtenKey(value, field);
  return entries.find(([name]) => name === key)?.[1];
}

function keysOf(value: unknown): string[] {
  return entriesOf(value).map(([key]) => key);
}

function entriesOf(value: unknown): ReadonlyArray<readonly [string, unknown]> {
  try {
    return mappingEntries(value, "") ?? [];
  } catch {
    return [];
  }
}

/** A parsed YAML value (mappings as `Map`s) as plain JSON, to compare with the expanded Job. */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  const entries = value instanceof Map ? entriesOf(value) : undefined;
  return entries === undefined ? value : Object.fromEntries(entries.map(([key, item]) => [key, plain(item)]));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
