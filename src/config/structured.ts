/**
 * The structured (config-file only) keys: each is decoded by decode.ts against its Kubernetes or
 * parameter schema, strictly (an unknown field is an error, as HEAD's strict decoding makes it), then
 * converted to the shape `Config` carries. A Kubernetes patch keeps its `$patch`-style directives and
 * explicit nulls, which give strategic merge patch its deletions.
 */
import { type AgentStackError, isAgentStackError } from "../errors.ts";
import { K8S_SCHEMA } from "../generated/k8s-schema.ts";
import type { Volume } from "../generated/k8s-types.ts";
import {
  childPath,
  type DecodeOptions,
  decodeDefinition,
  decodeField,
  type JsonObject,
} from "../k8s/decode.ts";
import { isLabelValue, isQualifiedName } from "../k8s/names.ts";
import { ref } from "../params/schemas.ts";
import {
  type AgentConfig,
  type CheckoutParams,
  type CommandParams,
  INTERPOSERS,
  type Metadata,
  type ResourceClass,
  type SidecarParams,
} from "../params/types.ts";
import { DURATION_SYNTAX, parseDuration } from "./duration.ts";
import { AGENT_CONFIG_DEFINITION, CONFIG_DEFINITIONS, RESOURCE_CLASS_DEFINITION } from "./file-schemas.ts";
import {
  type ConfigProblem,
  type ConfigSource,
  describeSource,
  invalidValue,
  ruleViolation,
} from "./problems.ts";
import { didYouMean } from "./suggest.ts";

export const STRUCTURED_KEYS = [
  "pod-spec-patch",
  "workspace-volume",
  "agent-config",
  "default-checkout-params",
  "default-command-params",
  "default-sidecar-params",
  "default-metadata",
  "resource-classes",
] as const;
export type StructuredKey = (typeof STRUCTURED_KEYS)[number];

export type Decoded =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

type Decoder = (value: unknown, key: StructuredKey, source: ConfigSource) => Decoded;

const CORE = "io.k8s.api.core.v1";

function options(key: StructuredKey, extra: Partial<DecodeOptions> = {}): DecodeOptions {
  return {
    errorCode: "ASK_CONFIG_INVALID_VALUE",
    unknownFields: "error",
    rootPath: key,
    extraDefinitions: CONFIG_DEFINITIONS,
    ...extra,
  };
}

type Attempt<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly problem: ConfigProblem };

/** Runs a decode.ts call, turning its error into a problem that names the path and the source. */
function attempt<T>(key: StructuredKey, source: ConfigSource, decode: () => T): Attempt<T> {
  try {
    return { ok: true, value: decode() };
  } catch (error) {
    if (!isAgentStackError(error)) throw error;
    return { ok: false, problem: decodeProblem(key, source, error) };
  }
}

const UNKNOWN_FIELD = /^unknown field "((?:[^"\\]|\\.)*)" at .* \((\w+) has no such field\)$/;

function decodeProblem(key: StructuredKey, source: ConfigSource, error: AgentStackError): ConfigProblem {
  const path = error.path ?? key;
  const message = error.message.endsWith(` (at ${path})`)
    ? error.message.slice(0, -` (at ${path})`.length)
    : error.message;
  const unknown = UNKNOWN_FIELD.exec(message);
  if (unknown) {
    const field = JSON.parse(`"${unknown[1]}"`) as string;
    const suggestion = didYouMean(field, fieldsOf(unknown[2] ?? ""));
    return {
      code: "ASK_CONFIG_UNKNOWN_KEY",
      key,
      path,
      message: `${path}: ${message}${suggestion} (from ${describeSource(source)})`,
    };
  }
  return {
    code: "ASK_CONFIG_INVALID_VALUE",
    key,
    path,
    message: `${path}: ${message} (from ${describeSource(source)})`,
  };
}

/** The field names of a definition given decode.ts's short struct name (`Container`, `AgentConfig`). */
function fieldsOf(shortName: string): string[] {
  for (const table of [CONFIG_DEFINITIONS, K8S_SCHEMA]) {
    for (const [name, definition] of Object.entries(table)) {
      if (name === shortName || name.endsWith(`.${shortName}`)) return Object.keys(definition.fields);
    }
  }
  return [];
}

function decodedDefinition<T>(
  typeName: string,
  extra: Partial<DecodeOptions> = {},
): (value: unknown, key: StructuredKey, source: ConfigSource) => Attempt<T> {
  return (value, key, source) =>
    attempt(key, source, () => decodeDefinition<T>(value, typeName, options(key, extra)).value);
}

function finish<T>(result: Attempt<T>, problems: readonly ConfigProblem[] = []): Decoded {
  if (!result.ok) return { ok: false, problems: [result.problem] };
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: result.value };
}

// A patch stays JSON: its directives and nulls have no place in the PodSpec type.
const decodePodSpecPatch = decodedDefinition<JsonObject>(`${CORE}.PodSpec`, { patch: true });
const decodeVolume = decodedDefinition<Volume>(`${CORE}.Volume`);
const decodeCheckoutParams = decodedDefinition<CheckoutParams>("buildkite.CheckoutParams");
const decodeCommandParams = decodedDefinition<CommandParams>("buildkite.CommandParams");
const decodeSidecarParams = decodedDefinition<SidecarParams>("buildkite.SidecarParams");
const decodeMetadata = decodedDefinition<Metadata>("buildkite.Metadata");
const decodeAgentConfigFile = decodedDefinition<Record<string, unknown>>(AGENT_CONFIG_DEFINITION);

const DECODERS: Readonly<Record<StructuredKey, Decoder>> = {
  "pod-spec-patch": (value, key, source) => finish(decodePodSpecPatch(value, key, source)),
  "workspace-volume": (value, key, source) => finish(decodeVolume(value, key, source)),
  "default-checkout-params": (value, key, source) => finish(decodeCheckoutParams(value, key, source)),
  "default-sidecar-params": (value, key, source) => finish(decodeSidecarParams(value, key, source)),
  "default-command-params": (value, key, source) => {
    const params = decodeCommandParams(value, key, source);
    if (!params.ok) return finish(params);
    const interposer = params.value.interposer;
    const valid = interposer === undefined || (INTERPOSERS as readonly string[]).includes(interposer);
    // v0.26.0's wording; HEAD fails the same value while decoding.
    const problems = valid
      ? []
      : [
          ruleViolation(
            key,
            `${key}.interposer`,
            source,
            `invalid command interposer ${JSON.stringify(interposer)}`,
          ),
        ];
    return finish(params, problems);
  },
  "default-metadata": (value, key, source) => {
    const metadata = decodeMetadata(value, key, source);
    if (!metadata.ok) return finish(metadata);
    return finish(metadata, metadataProblems(metadata.value, key, source));
  },
  "agent-config": (value, key, source) => {
    const file = decodeAgentConfigFile(value, key, source);
    if (!file.ok) return finish(file);
    return toAgentConfig(file.value, key, source);
  },
  "resource-classes": (value, key, source) =>
    finish(
      attempt(
        key,
        source,
        () =>
          decodeField<Record<string, ResourceClass>>(
            value,
            { kind: "map", values: ref(RESOURCE_CLASS_DEFINITION) },
            options(key),
          ).value,
      ),
    ),
};

export function isStructuredKey(key: string): key is StructuredKey {
  return (STRUCTURED_KEYS as readonly string[]).includes(key);
}

/** Decodes one structured key's file value. */
export function decodeStructured(key: StructuredKey, value: unknown, source: ConfigSource): Decoded {
  return DECODERS[key](value, key, source);
}

/**
 * Label and annotation keys must be qualified names and label values valid, or the API server rejects
 * every Job. Dotted keys (`argocd.argoproj.io/tracking-id`) are single keys: upstream's key delimiter is
 * `::` precisely so that they are not split.
 */
function metadataProblems(metadata: Metadata, key: string, source: ConfigSource): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const keyExpected =
    "a qualified name: an optional DNS subdomain prefix and '/', then at most 63 letters, digits, '-', '_' and '.'";
  for (const kind of ["labels", "annotations"] as const) {
    for (const [name, text] of Object.entries(metadata[kind] ?? {})) {
      const path = childPath(`${key}.${kind}`, name);
      if (!isQualifiedName(name)) {
        problems.push(
          invalidValue(key, path, name, source, `is not a valid ${kind.slice(0, -1)} key`, keyExpected),
        );
      } else if (kind === "labels" && !isLabelValue(text)) {
        problems.push(
          invalidValue(
            key,
            path,
            text,
            source,
            "is not a valid label value",
            "at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit",
          ),
        );
      }
    }
  }
  return problems;
}

const VERIFICATION_FAILURE_BEHAVIORS = ["block", "warn"];

/** The file keys are kebab-case (`no-http2`); `AgentConfig` is their camelCase (`noHttp2`). */
function camelCase(key: string): string {
  return key.replace(/-([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

function toAgentConfig(file: Record<string, unknown>, key: StructuredKey, source: ConfigSource): Decoded {
  const problems: ConfigProblem[] = [];
  const converted: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(file)) converted[camelCase(name)] = value;

  const timeout = file["container-start-timeout"];
  if (typeof timeout === "string") {
    const parsed = parseDuration(timeout);
    if (parsed.ok && parsed.nanoseconds >= 0) converted.containerStartTimeout = parsed.nanoseconds;
    else {
      const problem = parsed.ok ? "is negative" : `is not a duration (${parsed.error})`;
      problems.push(
        invalidValue(key, `${key}.container-start-timeout`, timeout, source, problem, DURATION_SYNTAX),
      );
    }
  }

  const behavior = file["verification-failure-behavior"];
  if (typeof behavior === "string" && !VERIFICATION_FAILURE_BEHAVIORS.includes(behavior)) {
    problems.push(
      invalidValue(
        key,
        `${key}.verification-failure-behavior`,
        behavior,
        source,
        "is not a behaviour the agent knows",
        `one of "block", "warn"`,
      ),
    );
  }
  return finish({ ok: true, value: converted as AgentConfig }, problems);
}
