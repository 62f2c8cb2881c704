/**
 * Decoding schemas for the structured config-file keys that are not shared with the kubernetes plugin:
 * `agent-config` and `resource-classes`. Same format as the generated Kubernetes table, so decode.ts
 * checks them with the same rules and error paths.
 *
 * `agent-config` keys are kebab-case as upstream's YAML tags are, except the four Volume keys, which
 * upstream spells in camelCase (`hooksVolume`, `pluginsVolume`, `signingJWKSVolume`,
 * `verificationJWKSVolume`).
 */
import type { SchemaTable } from "../k8s/schema-types.ts";
import { boolean, listOf, PARAM_SCHEMAS, ref, string, stringList, stringMap } from "../params/schemas.ts";

export const AGENT_CONFIG_DEFINITION = "config.AgentConfig";
export const RESOURCE_CLASS_DEFINITION = "config.ResourceClass";

const CONFIG_FILE_SCHEMAS: SchemaTable = {
  [AGENT_CONFIG_DEFINITION]: {
    fields: {
      endpoint: string,
      "no-http2": boolean,
      experiment: stringList,
      shell: string,
      "no-color": boolean,
      "strict-single-hooks": boolean,
      "no-multipart-artifact-upload": boolean,
      "trace-context-encoding": string,
      "tracing-backend": string,
      "tracing-service-name": string,
      "tracing-propagate-traceparent": boolean,
      "disable-warnings-for": stringList,
      "debug-signing": boolean,
      "git-skip-fetch-existing-commits": boolean,
      // A Go duration string; converted to nanoseconds after decoding.
      "container-start-timeout": string,
      "hooks-path": string,
      hooksVolume: ref("Volume"),
      "additional-hooks-paths": stringList,
      "additional-hooks": listOf(ref("config.AdditionalHook")),
      "plugins-path": string,
      pluginsVolume: ref("Volume"),
      "no-pty": boolean,
      "no-command-eval": boolean,
      "no-local-hooks": boolean,
      "no-plugins": boolean,
      "plugin-validation": boolean,
      "signing-jwks-file": string,
      "signing-jwks-key-id": string,
      signingJWKSVolume: ref("Volume"),
      "verification-jwks-file": string,
      "verification-failure-behavior": string,
      verificationJWKSVolume: ref("Volume"),
    },
  },
  "config.AdditionalHook": {
    fields: { path: string, volume: ref("Volume") },
  },
  [RESOURCE_CLASS_DEFINITION]: {
    fields: {
      resource: ref("ResourceRequirements"),
      podResource: ref("ResourceRequirements"),
      nodeSelector: stringMap,
    },
  },
};

/** Everything a config-file decode may refer to beyond Kubernetes' own definitions. */
export const CONFIG_DEFINITIONS: SchemaTable = { ...PARAM_SCHEMAS, ...CONFIG_FILE_SCHEMAS };
