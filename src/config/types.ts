/**
 * The controller configuration as the rest of the code sees it: every key of the `--config` file,
 * flags and environment, already defaulted and validated. Property names are the camelCase of the
 * upstream key names (`job-prefix` → `jobPrefix`). Durations are nanoseconds, as Go's.
 */
import type { Volume } from "../generated/k8s-types.ts";
import type { JsonObject } from "../k8s/decode.ts";
import type {
  AgentConfig,
  CheckoutParams,
  CommandParams,
  Metadata,
  PullPolicy,
  ResourceClass,
  SidecarParams,
} from "../params/types.ts";

/** A Go duration in nanoseconds. */
export type Duration = number;

/** Where the launcher finds jobs: Buildkite's Stacks API (agent token only) or its GraphQL API. */
export const JOB_SOURCES = ["stacks", "graphql"] as const;
export type JobSourceKind = (typeof JOB_SOURCES)[number];

export const LOG_FORMATS = ["logfmt", "json"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  // Buildkite and the job source.
  /** Resolved at load: an empty `job-source` is `graphql` when `buildkite-token` is set, otherwise `stacks`. */
  readonly jobSource: JobSourceKind;
  readonly org: string;
  readonly buildkiteToken: string;
  readonly clusterUuid: string;
  readonly graphqlEndpoint: string;
  readonly graphqlResultsLimit: number;
  readonly paginationDepthLimit: number;
  readonly paginationPageSize: number;
  readonly pollInterval: Duration;
  readonly staleJobDataTimeout: Duration;
  readonly queryResetInterval: Duration;
  readonly httpTimeout: Duration;
  readonly enableQueuePause: boolean;
  readonly tags: readonly string[];
  readonly queue: string;
  readonly id: string;
  readonly agentTokenSecret: string;

  // Launcher limits and watchers.
  readonly maxInFlight: number;
  readonly jobCreationConcurrency: number;
  readonly workQueueLimit: number;
  readonly reservationExpirySeconds: number;
  readonly k8sClientRateLimiterQps: number;
  readonly k8sClientRateLimiterBurst: number;
  readonly imagePullBackoffGracePeriod: Duration;
  readonly jobCancelCheckerPollInterval: Duration;
  readonly emptyJobGracePeriod: Duration;
  readonly podPendingTimeout: Duration;
  readonly enableCompletionWatcher: boolean;

  // The Job and its pod.
  readonly namespace: string;
  readonly image: string;
  readonly jobPrefix: string;
  readonly jobTtl: Duration;
  readonly jobActiveDeadlineSeconds: number;
  readonly defaultTerminationGracePeriodSeconds: number;
  /** A strategic merge patch of the PodSpec: directives (`$patch`…) and `null`s are kept. */
  readonly podSpecPatch: JsonObject | undefined;
  readonly workspaceVolume: Volume | undefined;
  readonly workspaceMountSubPathExpr: string;
  readonly agentConfig: AgentConfig | undefined;
  readonly defaultCheckoutParams: CheckoutParams | undefined;
  readonly defaultCommandParams: CommandParams | undefined;
  readonly defaultSidecarParams: SidecarParams | undefined;
  readonly defaultMetadata: Metadata;
  readonly additionalRedactedVars: readonly string[];
  readonly resourceClasses: Readonly<Record<string, ResourceClass>> | undefined;
  readonly defaultResourceClassName: string;
  readonly defaultImagePullPolicy: PullPolicy;
  readonly defaultImageCheckPullPolicy: PullPolicy;
  readonly skipImageCheckContainers: boolean;
  readonly imageCheckContainerCpuLimit: string;
  readonly imageCheckContainerMemoryLimit: string;
  readonly prohibitKubernetesPlugin: boolean;
  readonly allowPodSpecPatchUnsafeCommandModification: boolean;

  // Process.
  readonly debug: boolean;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  readonly noColor: boolean;
  readonly logHttpPayloads: boolean;
  readonly prometheusPort: number;
  readonly profilerAddress: string;
}
