/**
 * `agent-config` (podspec-expansion.md §1.5, HEAD): pod volumes, the mounts each kind of container
 * gets, and the agent container's environment. If `agent-config` is absent nothing here applies.
 */

import { formatDuration } from "../config/duration.ts";
import type { Container, Volume, VolumeMount } from "../generated/k8s-types.ts";
import { copyJson } from "../k8s/copy.ts";
import type { AgentConfig } from "../params/types.ts";
import { boolText, envVar, setEnv } from "./env.ts";
import {
  cleanPath,
  DEFAULT_HOOKS_PATH,
  DEFAULT_PLUGINS_PATH,
  dirname,
  SIGNING_JWKS_DIR,
  VERIFICATION_JWKS_DIR,
} from "./names.ts";

/** Which container a mount list is for: each gets a different subset (§1.5, §2.6, §2.10, §2.11). */
export type MountTarget = "agent" | "checkout" | "command";

interface Jwks {
  readonly file: string | undefined;
  readonly mountDir: string | undefined;
}

/**
 * A JWKS file relative to its volume: unset ⇒ `key` in the default directory; absolute ⇒ mounted at
 * its directory; relative ⇒ joined to the default directory. Without a volume it passes untouched.
 */
export function normaliseJwks(
  file: string | undefined,
  volume: Volume | undefined,
  defaultDir: string,
): Jwks {
  if (!volume) return { file, mountDir: undefined };
  if (!file) return { file: `${defaultDir}/key`, mountDir: defaultDir };
  if (file.startsWith("/")) return { file, mountDir: dirname(file) };
  return { file: cleanPath(`${defaultDir}/${file}`), mountDir: defaultDir };
}

export function signingJwks(agentConfig: AgentConfig): Jwks {
  return normaliseJwks(agentConfig.signingJwksFile, agentConfig.signingJWKSVolume, SIGNING_JWKS_DIR);
}

export function verificationJwks(agentConfig: AgentConfig): Jwks {
  return normaliseJwks(
    agentConfig.verificationJwksFile,
    agentConfig.verificationJWKSVolume,
    VERIFICATION_JWKS_DIR,
  );
}

/** Pod volumes, in §2.4's order. */
export function agentConfigVolumes(agentConfig: AgentConfig | undefined): Volume[] {
  if (!agentConfig) return [];
  const volumes: Array<Volume | undefined> = [
    agentConfig.hooksVolume,
    ...(agentConfig.additionalHooks ?? []).map((hook) => hook.volume),
    agentConfig.pluginsVolume,
    agentConfig.signingJWKSVolume,
    agentConfig.verificationJWKSVolume,
  ];
  return volumes.filter((volume): volume is Volume => volume !== undefined).map((volume) => copyJson(volume));
}

/** Mounts have only `name` and `mountPath`, as upstream creates them. */
export function agentConfigMounts(agentConfig: AgentConfig | undefined, target: MountTarget): VolumeMount[] {
  if (!agentConfig) return [];
  const mounts: VolumeMount[] = [];
  const add = (volume: Volume | undefined, mountPath: string | undefined): void => {
    if (volume && mountPath) mounts.push({ name: volume.name, mountPath });
  };
  add(agentConfig.hooksVolume, agentConfig.hooksPath || DEFAULT_HOOKS_PATH);
  for (const hook of agentConfig.additionalHooks ?? []) add(hook.volume, hook.path);
  add(agentConfig.pluginsVolume, agentConfig.pluginsPath || DEFAULT_PLUGINS_PATH);
  if (target !== "checkout") add(agentConfig.signingJWKSVolume, signingJwks(agentConfig).mountDir);
  if (target === "agent") add(agentConfig.verificationJWKSVolume, verificationJwks(agentConfig).mountDir);
  return mounts;
}

type EnvRule = readonly [variable: string, value: (config: AgentConfig) => string | undefined];

const bool = (value: boolean | undefined): string | undefined =>
  value === undefined ? undefined : boolText(value);
const list = (value: readonly string[] | undefined): string | undefined => value?.join(",");

/** In §1.5's table order, which is the order the variables are set in. */
const AGENT_ENV_RULES: readonly EnvRule[] = [
  ["BUILDKITE_AGENT_ENDPOINT", (c) => c.endpoint],
  ["BUILDKITE_NO_HTTP2", (c) => bool(c.noHttp2)],
  ["BUILDKITE_AGENT_EXPERIMENT", (c) => list(c.experiment)],
  ["BUILDKITE_SHELL", (c) => c.shell],
  ["BUILDKITE_AGENT_NO_COLOR", (c) => bool(c.noColor)],
  ["BUILDKITE_STRICT_SINGLE_HOOKS", (c) => bool(c.strictSingleHooks)],
  ["BUILDKITE_NO_MULTIPART_ARTIFACT_UPLOAD", (c) => bool(c.noMultipartArtifactUpload)],
  ["BUILDKITE_TRACE_CONTEXT_ENCODING", (c) => c.traceContextEncoding],
  ["BUILDKITE_TRACING_BACKEND", (c) => c.tracingBackend],
  ["BUILDKITE_TRACING_SERVICE_NAME", (c) => c.tracingServiceName],
  ["BUILDKITE_TRACING_PROPAGATE_TRACEPARENT", (c) => bool(c.tracingPropagateTraceparent)],
  ["BUILDKITE_AGENT_DISABLE_WARNINGS_FOR", (c) => list(c.disableWarningsFor)],
  ["BUILDKITE_AGENT_DEBUG_SIGNING", (c) => bool(c.debugSigning)],
  ["BUILDKITE_GIT_SKIP_FETCH_EXISTING_COMMITS", (c) => bool(c.gitSkipFetchExistingCommits)],
  [
    "BUILDKITE_KUBERNETES_CONTAINER_START_TIMEOUT",
    (c) => (c.containerStartTimeout === undefined ? undefined : formatDuration(c.containerStartTimeout)),
  ],
  ["BUILDKITE_HOOKS_PATH", (c) => c.hooksPath],
  ["BUILDKITE_ADDITIONAL_HOOKS_PATHS", additionalHooksPaths],
  ["BUILDKITE_PLUGINS_PATH", (c) => c.pluginsPath],
  ["BUILDKITE_NO_PTY", (c) => bool(c.noPty)],
  ["BUILDKITE_NO_COMMAND_EVAL", (c) => bool(c.noCommandEval)],
  ["BUILDKITE_NO_LOCAL_HOOKS", (c) => bool(c.noLocalHooks)],
  ["BUILDKITE_NO_PLUGINS", (c) => bool(c.noPlugins)],
  [
    "BUILDKITE_NO_PLUGIN_VALIDATION",
    (c) => bool(c.pluginValidation === undefined ? undefined : !c.pluginValidation),
  ],
  ["BUILDKITE_AGENT_SIGNING_JWKS_FILE", (c) => signingJwks(c).file],
  ["BUILDKITE_AGENT_SIGNING_JWKS_KEY_ID", (c) => c.signingJwksKeyId],
  ["BUILDKITE_AGENT_VERIFICATION_JWKS_FILE", (c) => verificationJwks(c).file],
  ["BUILDKITE_AGENT_JOB_VERIFICATION_NO_SIGNATURE_BEHAVIOR", verificationFailureBehavior],
];

function additionalHooksPaths(config: AgentConfig): string | undefined {
  const paths = [
    ...(config.additionalHooksPaths ?? []),
    ...(config.additionalHooks ?? []).map((hook) => hook.path),
  ];
  return paths.length > 0 ? paths.join(",") : undefined;
}

/** Without a verification key and without a chosen behaviour, unsigned jobs only warn. */
function verificationFailureBehavior(config: AgentConfig): string | undefined {
  if (config.verificationFailureBehavior) return config.verificationFailureBehavior;
  return verificationJwks(config).file ? undefined : "warn";
}

export function applyAgentConfigEnv(agent: Container, agentConfig: AgentConfig | undefined): void {
  if (!agentConfig) return;
  for (const [variable, value] of AGENT_ENV_RULES) {
    const text = value(agentConfig);
    if (text !== undefined) setEnv(agent, envVar(variable, text));
  }
}
