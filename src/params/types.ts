/**
 * The parameter structs that the controller configuration (`default-checkout-params`,
 * `default-command-params`, `default-sidecar-params`, `default-metadata`, `agent-config`,
 * `resource-classes`) and the kubernetes plugin (`checkout`, `commandParams`, `sidecarParams`,
 * `metadata`) share. An absent optional field means "not set", which matters: upstream only emits the
 * matching agent environment variable for fields that are set, even to `false`.
 */
import type {
  EnvFromSource,
  ResourceRequirements,
  SecretVolumeSource,
  Volume,
  VolumeMount,
} from "../generated/k8s-types.ts";

export const INTERPOSERS = ["", "buildkite", "vector", "legacy"] as const;
export type Interposer = (typeof INTERPOSERS)[number];

export const PULL_POLICIES = ["", "Always", "IfNotPresent", "Never"] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

export interface GitMirrors {
  readonly path?: string;
  readonly volume?: Volume;
  readonly cloneFlags?: string;
  readonly lockTimeout?: number;
  readonly skipUpdate?: boolean;
}

export interface CheckoutParams {
  readonly skip?: boolean;
  readonly checkoutFlags?: string;
  readonly cleanFlags?: string;
  readonly cloneFlags?: string;
  readonly fetchFlags?: string;
  readonly noSubmodules?: boolean;
  readonly submoduleCloneConfig?: readonly string[];
  readonly gitMirrors?: GitMirrors;
  readonly gitCredentialsSecret?: SecretVolumeSource;
  readonly envFrom?: readonly EnvFromSource[];
  readonly extraVolumeMounts?: readonly VolumeMount[];
}

export interface CommandParams {
  readonly interposer?: Interposer;
  readonly envFrom?: readonly EnvFromSource[];
  readonly extraVolumeMounts?: readonly VolumeMount[];
}

export interface SidecarParams {
  readonly envFrom?: readonly EnvFromSource[];
  readonly extraVolumeMounts?: readonly VolumeMount[];
}

export interface Metadata {
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface AdditionalHook {
  readonly path: string;
  readonly volume: Volume;
}

/** `agent-config`: property names are the camelCase of the file keys (`no-http2` → `noHttp2`). */
export interface AgentConfig {
  readonly endpoint?: string;
  readonly noHttp2?: boolean;
  readonly experiment?: readonly string[];
  readonly shell?: string;
  readonly noColor?: boolean;
  readonly strictSingleHooks?: boolean;
  readonly noMultipartArtifactUpload?: boolean;
  readonly traceContextEncoding?: string;
  readonly tracingBackend?: string;
  readonly tracingServiceName?: string;
  readonly tracingPropagateTraceparent?: boolean;
  readonly disableWarningsFor?: readonly string[];
  readonly debugSigning?: boolean;
  readonly gitSkipFetchExistingCommits?: boolean;
  /** Nanoseconds (a Go duration). */
  readonly containerStartTimeout?: number;
  readonly hooksPath?: string;
  readonly hooksVolume?: Volume;
  readonly additionalHooksPaths?: readonly string[];
  readonly additionalHooks?: readonly AdditionalHook[];
  readonly pluginsPath?: string;
  readonly pluginsVolume?: Volume;
  readonly noPty?: boolean;
  readonly noCommandEval?: boolean;
  readonly noLocalHooks?: boolean;
  readonly noPlugins?: boolean;
  readonly pluginValidation?: boolean;
  readonly signingJwksFile?: string;
  readonly signingJwksKeyId?: string;
  readonly signingJWKSVolume?: Volume;
  readonly verificationJwksFile?: string;
  readonly verificationFailureBehavior?: string;
  readonly verificationJWKSVolume?: Volume;
}

export interface ResourceClass {
  readonly resource?: ResourceRequirements;
  readonly podResource?: ResourceRequirements;
  readonly nodeSelector?: Readonly<Record<string, string>>;
}
