/**
 * The `kubernetes` plugin: what a step says about its pod. Decoded with Go's encoding/json rules
 * (upstream decodes it into a Go struct): case-insensitive field names, unknown fields ignored (we
 * report them as warnings), wrong types are errors naming the field.
 */

import { AgentStackError, isAgentStackError } from "../errors.ts";
import type { Container, EnvFromSource, PodSpec, VolumeMount } from "../generated/k8s-types.ts";
import {
  type DecodeOptions,
  type DecodeResult,
  decodeDefinition,
  isPlainObject,
  type JsonObject,
} from "../k8s/decode.ts";
import type { SchemaTable } from "../k8s/schema-types.ts";
import { int64, listOf, PARAM_SCHEMAS, ref, string } from "../params/schemas.ts";
import {
  type CheckoutParams,
  type CommandParams,
  INTERPOSERS,
  type Metadata,
  type SidecarParams,
} from "../params/types.ts";
import type { PluginEntry } from "./plugins.ts";

export interface KubernetesPlugin {
  readonly podSpec?: PodSpec;
  readonly podTemplate?: string;
  /** A strategic merge patch: may hold `$patch`-style directives and `null`s, which are kept. */
  readonly podSpecPatch?: JsonObject;
  readonly gitEnvFrom?: readonly EnvFromSource[];
  readonly sidecars?: readonly Container[];
  readonly metadata?: Metadata;
  readonly extraVolumeMounts?: readonly VolumeMount[];
  readonly checkout?: CheckoutParams;
  readonly commandParams?: CommandParams;
  readonly sidecarParams?: SidecarParams;
  readonly jobActiveDeadlineSeconds?: number;
}

/** The plugin's definition in `PLUGIN_SCHEMAS`. */
export const PLUGIN_TYPE = "buildkite.KubernetesPlugin";
const PATCH_FIELD = "podSpecPatch";

/** The plugin's fields and the parameter structs they use, as upstream's Go types declare them. */
export const PLUGIN_SCHEMAS: SchemaTable = {
  ...PARAM_SCHEMAS,
  [PLUGIN_TYPE]: {
    fields: {
      podSpec: ref("PodSpec"),
      podTemplate: string,
      [PATCH_FIELD]: ref("PodSpec"),
      gitEnvFrom: listOf(ref("EnvFromSource")),
      sidecars: listOf(ref("Container")),
      metadata: ref("buildkite.Metadata"),
      extraVolumeMounts: listOf(ref("VolumeMount")),
      checkout: ref("buildkite.CheckoutParams"),
      commandParams: ref("buildkite.CommandParams"),
      sidecarParams: ref("buildkite.SidecarParams"),
      jobActiveDeadlineSeconds: int64,
    },
  },
};

export interface DecodedPlugin {
  readonly plugin: KubernetesPlugin | undefined;
  readonly warnings: readonly string[];
}

/**
 * Decodes every kubernetes plugin entry of a job into one plugin: like upstream, which decodes them
 * one after another into the same Go struct, later scalars and lists win and objects are merged.
 */
export function decodeKubernetesPlugin(entries: readonly PluginEntry[]): DecodedPlugin {
  let merged: JsonObject | undefined;
  const warnings: string[] = [];
  for (const entry of entries) {
    const decoded = decodeEntry(entry, warnings);
    if (decoded) merged = merged ? mergeLikeGo(merged, decoded) : decoded;
  }
  if (merged) validateInterposer(merged, entries);
  return { plugin: merged as KubernetesPlugin | undefined, warnings };
}

function decodeEntry(entry: PluginEntry, warnings: string[]): JsonObject | undefined {
  if (entry.config === null || entry.config === undefined) return undefined;
  const rootPath = `plugins[${entry.index}].kubernetes`;
  const { patch, rest } = takePatch(entry.config);
  const decoded = decodeOrFail(rest, PLUGIN_TYPE, {
    errorCode: "ASK_PLUGIN_DECODE",
    unknownFields: "drop",
    caseInsensitive: true,
    rootPath,
    extraDefinitions: PLUGIN_SCHEMAS,
  });
  warnings.push(...decoded.warnings);
  if (patch === undefined || patch === null) return decoded.value;
  const decodedPatch = decodeOrFail(patch, "io.k8s.api.core.v1.PodSpec", {
    errorCode: "ASK_PLUGIN_DECODE",
    unknownFields: "drop",
    caseInsensitive: true,
    patch: true,
    rootPath: `${rootPath}.${PATCH_FIELD}`,
    goPath: PATCH_FIELD,
    extraDefinitions: PLUGIN_SCHEMAS,
  });
  warnings.push(...decodedPatch.warnings);
  return { ...decoded.value, [PATCH_FIELD]: decodedPatch.value };
}

/** The patch is decoded on its own because it keeps directives and nulls that the rest must not. */
function takePatch(config: unknown): { patch: unknown; rest: unknown } {
  if (!isPlainObject(config)) return { patch: undefined, rest: config };
  const rest: Record<string, unknown> = {};
  let patch: unknown;
  for (const [key, value] of Object.entries(config)) {
    if (key.toLowerCase() === PATCH_FIELD.toLowerCase()) patch = value;
    else rest[key] = value;
  }
  return { patch, rest };
}

function decodeOrFail(value: unknown, typeName: string, options: DecodeOptions): DecodeResult<JsonObject> {
  try {
    return decodeDefinition(value, typeName, options);
  } catch (error) {
    if (!isAgentStackError(error)) throw error;
    throw new AgentStackError(error.code, `failed parsing Kubernetes plugin: ${error.message}`, {
      ...(error.path === undefined ? {} : { path: error.path }),
      cause: error,
    });
  }
}

function mergeLikeGo(target: JsonObject, source: JsonObject): JsonObject {
  const result: JsonObject = { ...target };
  for (const [key, value] of Object.entries(source)) {
    const existing = result[key];
    result[key] = isPlainObject(existing) && isPlainObject(value) ? mergeLikeGo(existing, value) : value;
  }
  return result;
}

function validateInterposer(plugin: JsonObject, entries: readonly PluginEntry[]): void {
  const params = plugin.commandParams;
  if (!isPlainObject(params) || params.interposer === undefined) return;
  const interposer = params.interposer;
  if (typeof interposer === "string" && (INTERPOSERS as readonly string[]).includes(interposer)) return;
  const index = entries.at(-1)?.index ?? 0;
  const path = `plugins[${index}].kubernetes.commandParams.interposer`;
  throw new AgentStackError(
    "ASK_PLUGIN_DECODE",
    `failed parsing Kubernetes plugin: invalid interposer ${JSON.stringify(interposer)}, must be one of: [${INTERPOSERS.join(" ")}] (at ${path})`,
    { path },
  );
}
