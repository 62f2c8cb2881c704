/**
 * Decoding schemas (same format as the generated Kubernetes table) for the parameter structs shared by
 * the controller configuration and the kubernetes plugin. Field names and types are upstream's JSON
 * tags and Go types, so a value that upstream rejects is rejected here too.
 */
import type { FieldType, SchemaTable } from "../k8s/schema-types.ts";

const CORE = "io.k8s.api.core.v1";

export const string: FieldType = { kind: "string" };
export const boolean: FieldType = { kind: "boolean" };
export const int64: FieldType = { kind: "integer", format: "int64" };
export const stringList: FieldType = { kind: "array", items: string };
export const stringMap: FieldType = { kind: "map", values: string };

export function ref(name: string): FieldType {
  return { kind: "object", ref: name.includes(".") ? name : `${CORE}.${name}` };
}

export function listOf(item: FieldType): FieldType {
  return { kind: "array", items: item };
}

export const PARAM_SCHEMAS: SchemaTable = {
  "buildkite.GitMirrors": {
    fields: {
      path: string,
      volume: ref("Volume"),
      cloneFlags: string,
      lockTimeout: int64,
      skipUpdate: boolean,
    },
  },
  "buildkite.CheckoutParams": {
    fields: {
      skip: boolean,
      checkoutFlags: string,
      cleanFlags: string,
      cloneFlags: string,
      fetchFlags: string,
      noSubmodules: boolean,
      submoduleCloneConfig: stringList,
      gitMirrors: ref("buildkite.GitMirrors"),
      gitCredentialsSecret: ref("SecretVolumeSource"),
      envFrom: listOf(ref("EnvFromSource")),
      extraVolumeMounts: listOf(ref("VolumeMount")),
    },
  },
  "buildkite.CommandParams": {
    fields: {
      interposer: string,
      envFrom: listOf(ref("EnvFromSource")),
      extraVolumeMounts: listOf(ref("VolumeMount")),
    },
  },
  "buildkite.SidecarParams": {
    fields: {
      envFrom: listOf(ref("EnvFromSource")),
      extraVolumeMounts: listOf(ref("VolumeMount")),
    },
  },
  "buildkite.Metadata": {
    fields: { labels: stringMap, annotations: stringMap },
  },
};
