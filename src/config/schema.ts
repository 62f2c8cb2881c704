/**
 * Every configuration key, once. The loader, the validation, `--help` and the configuration reference's
 * table are all generated from this table, so a key cannot be documented one way and parsed another.
 *
 * Key names, environment variable names and defaults are upstream's (controller-runtime.md §1), with
 * the HEAD (v0.47.0) keys added. Descriptions are written for users (`--help`, docs/configuration.md) and
 * carry no upstream version names; `since` records where a key comes from, and
 * docs/upstream-differences.md says which upstream behaviour we follow where versions disagree.
 */

import { MINUTE, SECOND } from "./duration.ts";
import { type Config, JOB_SOURCES } from "./types.ts";

/** The subcommands whose behaviour the configuration drives. */
export const CONFIG_SUBCOMMANDS = ["launcher", "webhook", "render"] as const;
export type ConfigSubcommand = (typeof CONFIG_SUBCOMMANDS)[number];

/** The subcommand whose keys and requirements `name` has: `lint` expands pipelines as `render` does. */
export function configSubcommandOf(name: string): ConfigSubcommand | undefined {
  if (name === "lint") return "render";
  return (CONFIG_SUBCOMMANDS as readonly string[]).includes(name) ? (name as ConfigSubcommand) : undefined;
}

/** Named checks on a string value, implemented in `rules.ts`. */
export type StringRule =
  | "hostnamePort"
  | "imageReference"
  | "cpuLimit"
  | "memoryLimit"
  | "labelValue"
  | "dnsLabel"
  | "dnsSubdomain"
  | "jobPrefix"
  | "httpUrl"
  | "uuid";

export type KeyType =
  | { readonly kind: "string"; readonly default: string; readonly rule?: StringRule }
  | { readonly kind: "bool"; readonly default: boolean }
  | { readonly kind: "int"; readonly default: number; readonly min?: number; readonly max?: number }
  /** Go's uint16: a TCP port, 0 meaning "off". */
  | { readonly kind: "port"; readonly default: number }
  /** Nanoseconds; written as Go duration text. */
  | { readonly kind: "duration"; readonly default: number; readonly min?: number }
  | { readonly kind: "stringList"; readonly default: readonly string[]; readonly itemRule?: "agentTag" }
  | { readonly kind: "enum"; readonly default: string; readonly values: readonly string[] }
  /** A nested document from the config file, decoded by `structured.ts` against a Kubernetes-style schema. */
  | {
      readonly kind: "structured";
      readonly default: undefined | Record<string, never>;
      readonly shape: string;
    };

export type KeyGroup =
  | "Configuration file"
  | "Buildkite"
  | "Launcher"
  | "Kubernetes"
  | "Job and pod"
  | "Job and pod (file only)"
  | "Logging and monitoring";

/**
 * A value below `below` is replaced by `becomes` when the value is used (upstream applies these at run
 * time; we apply them once, when loading, so every consumer sees the effective value).
 */
export interface Floor {
  readonly below: number;
  readonly becomes: number;
}

export interface KeySpec {
  /** The config file key, which is also the long flag name. */
  readonly key: string;
  /** The `Config` property; `null` for `config`, which only locates the file. */
  readonly property: keyof Config | null;
  readonly group: KeyGroup;
  readonly type: KeyType;
  readonly usedBy: readonly ConfigSubcommand[];
  readonly description: string;
  /** The env var when it is not the upper snake case of the key; `false`: no env var. */
  readonly env?: string | false;
  /** `false`: no flag (structured keys never have one). */
  readonly flag?: false;
  readonly short?: string;
  /** `false`: the key cannot be written in the config file. */
  readonly inFile?: false;
  /** Subcommands that cannot start while the value is empty. */
  readonly requiredBy?: readonly ConfigSubcommand[];
  readonly floor?: Floor;
  /** An empty value means the default (upstream treats "" as "use the built-in value"). */
  readonly emptyMeansDefault?: true;
  /**
   * Any non-empty env value means true, as the NO_COLOR convention (no-color.org) has it, so that
   * `NO_COLOR=yes` set for other tools does not stop startup.
   */
  readonly envPresenceIsTrue?: true;
  /** Never printed: not in logs, not in `--help` defaults. */
  readonly secret?: true;
  /**
   * The upstream version that introduced the key: the v0.26.0 baseline or HEAD (v0.47.0); `here` for a
   * key upstream does not have.
   */
  readonly since: "v0.26.0" | "HEAD" | "here";
}

const ALL: readonly ConfigSubcommand[] = ["launcher", "webhook", "render"];
const LAUNCHER: readonly ConfigSubcommand[] = ["launcher"];
/** `tags` and `queue` also give `render` the rules of steps that name no queue. */
const LAUNCHER_AND_RENDER: readonly ConfigSubcommand[] = ["launcher", "render"];
const EXPANSION: readonly ConfigSubcommand[] = ["webhook", "render"];
const SERVERS: readonly ConfigSubcommand[] = ["launcher", "webhook"];

const PULL_POLICY_VALUES = ["", "Always", "IfNotPresent", "Never"] as const;

/** The agent image that HEAD bundles (agent library v3.136.2): our pods use its `kubernetes-bootstrap`. */
export const DEFAULT_AGENT_IMAGE = "ghcr.io/buildkite/agent:3.136.2";
export const DEFAULT_GRAPHQL_ENDPOINT = "https://graphql.buildkite.com/v1";

export const CONFIG_KEYS = [
  // Configuration file
  {
    key: "config",
    property: null,
    group: "Configuration file",
    type: { kind: "string", default: "" },
    short: "f",
    inFile: false,
    usedBy: ALL,
    since: "v0.26.0",
    description: "path of the YAML (or JSON) configuration file; empty: no file",
  },

  // Buildkite: finding jobs
  {
    key: "job-source",
    property: "jobSource",
    group: "Buildkite",
    type: { kind: "enum", default: "", values: ["", ...JOB_SOURCES] },
    usedBy: LAUNCHER,
    since: "here",
    description:
      "where the launcher finds jobs: stacks (Buildkite's Stacks API, with the agent token only) or graphql (the GraphQL API, with buildkite-token and org); empty: graphql when buildkite-token is set, otherwise stacks",
  },
  {
    key: "org",
    property: "org",
    group: "Buildkite",
    type: { kind: "string", default: "" },
    usedBy: LAUNCHER,
    since: "v0.26.0",
    description:
      "job-source graphql (which needs it): Buildkite organization slug whose jobs the launcher polls",
  },
  {
    key: "buildkite-token",
    property: "buildkiteToken",
    group: "Buildkite",
    type: { kind: "string", default: "" },
    env: "BUILDKITE_TOKEN",
    usedBy: LAUNCHER,
    secret: true,
    since: "v0.26.0",
    description:
      "job-source graphql (which needs it): Buildkite API access token with GraphQL scope; when set, graphql is the default job-source (never logged)",
  },
  {
    key: "cluster-uuid",
    property: "clusterUuid",
    group: "Buildkite",
    type: { kind: "string", default: "", rule: "uuid" },
    usedBy: LAUNCHER,
    since: "v0.26.0",
    description:
      "job-source graphql: Buildkite cluster UUID; empty: the agent token's cluster, or the unclustered queue when the token belongs to no cluster",
  },
  {
    key: "tags",
    property: "tags",
    group: "Buildkite",
    type: { kind: "stringList", default: ["queue=kubernetes"], itemRule: "agentTag" },
    usedBy: LAUNCHER_AND_RENDER,
    since: "v0.26.0",
    description:
      "agent tags k=v; a job is taken only if every one of its agent query rules matches; the launcher needs a queue tag unless queue is set",
  },
  {
    key: "queue",
    property: "queue",
    group: "Buildkite",
    type: { kind: "string", default: "", rule: "labelValue" },
    usedBy: LAUNCHER_AND_RENDER,
    since: "HEAD",
    description: "queue to poll; empty: the queue tag; when set it replaces the queue tag",
  },
  {
    key: "graphql-endpoint",
    property: "graphqlEndpoint",
    group: "Buildkite",
    type: { kind: "string", default: DEFAULT_GRAPHQL_ENDPOINT, rule: "httpUrl" },
    emptyMeansDefault: true,
    usedBy: LAUNCHER,
    since: "v0.26.0",
    description: "Buildkite GraphQL API URL; empty means the default",
  },
  {
    key: "graphql-results-limit",
    property: "graphqlResultsLimit",
    group: "Buildkite",
    type: { kind: "int", default: 100, min: 1, max: 500 },
    usedBy: LAUNCHER,
    since: "v0.26.0",
    description: "page size of the scheduled-jobs query",
  },
  {
    key: "pagination-depth-limit",
    property: "paginationDepthLimit",
    group: "Buildkite",
    type: { kind: "int", default: 1, min: 1, max: 20 },
    usedBy: LAUNCHER,
    since: "v0.26.0",
    description: "most pages of the scheduled-jobs query per poll",
  },
  {
    key: "poll-interval",
    property: "pollInterval",
    group: "Buildkite",
    type: { kind: "duration", default: SECOND },
    floor: { below: SECOND, becomes: SECOND },
    usedBy: LAUNCHER,
    since: "v0.26.0",
    description: "time between polls; less than 1s means 1s",
  },
  {
    key: "stale-job-data-timeout",
    property: "staleJobDataTimeout",
    group: "Buildkite",
    type: { kind: "duration", default: 10 * SECOND },
    floor: { below: 1, becomes: 10 * SECOND },
    usedBy: LAUNCHER,
    since: "v0.26.0",
    description: "how long after a poll its job data may still create Jobs; 0 or less means 10s",
  },
  {
    key: "enable-queue-pause",
    property: "enableQueuePause",
    group: "Buildkite",
    type: { kind: "bool", default: false },
    usedBy: LAUNCHER,
    since: "v0.26.0",
    description: "clustered mode: skip polling while the cluster queue's dispatch is paused",
  },
  {
    key: "http-timeout",
    property: "httpTimeout",
    group: "Buildkite",
    type: { kind: "duration", default: 60 * SECOND, min: 0 },
    usedBy: LAUNCHER,
    since: "HEAD",
    description: "timeout of each Buildkite API request",
  },
  {
    key: "pagination-page-size",
    property: "paginationPageSize",
    group: "Buildkite",
    type: { kind: "int", default: 1000, min: 1, max: 1000 },
    usedBy: LAUNCHER,
    since: "HEAD",
    description:
      "page size of the scheduled-jobs list (job-source stacks; GraphQL uses graphql-results-limit)",
  },
  {
    key: "query-reset-interval",
    property: "queryResetInterval",
    group: "Buildkite",
    type: { kind: "duration", default: 10 * SECOND, min: 0 },
    usedBy: LAUNCHER,
    since: "HEAD",
    description:
      "job-source stacks: how long the list goes on from where the last poll stopped before it starts again from its first page",
  },
  {
    key: "work-queue-limit",
    property: "workQueueLimit",
    group: "Buildkite",
    type: { kind: "int", default: 1_000_000, min: 1 },
    usedBy: LAUNCHER,
    since: "HEAD",
    description: "job-source stacks: most jobs reserved and waiting to be created at once",
  },
  {
    key: "reservation-expiry-seconds",
    property: "reservationExpirySeconds",
    group: "Buildkite",
    type: { kind: "int", default: 900, min: 0, max: 3600 },
    usedBy: LAUNCHER,
    since: "HEAD",
    description:
      "job-source stacks: how long Buildkite keeps a job reserved for this stack before it may go elsewhere; 0 means the server's default (900)",
  },

  // Launcher: limits and watchers
  {
    key: "max-in-flight",
    property: "maxInFlight",
    group: "Launcher",
    type: { kind: "int", default: 25, min: 0 },
    usedBy: LAUNCHER,
    since: "v0.26.0",
    description: "most unfinished Jobs at once; 0 means no limit",
  },
  {
    key: "job-creation-concurrency",
    property: "jobCreationConcurrency",
    group: "Launcher",
    type: { kind: "int", default: 5 },
    floor: { below: 1, becomes: 5 },
    usedBy: LAUNCHER,
    since: "v0.26.0",
    description: "parallel workers creating the Jobs of one poll; 0 or less means 5",
  },
  {
    key: "image-pull-backoff-grace-period",
    property: "imagePullBackoffGracePeriod",
    group: "Launcher",
    type: { kind: "duration", default: 30 * SECOND },
    floor: { below: 1, becomes: 30 * SECOND },
    usedBy: LAUNCHER,
    since: "v0.26.0",
    description: "grace after a pod starts before image pull failures fail the job; 0 or less means 30s",
  },
  {
    key: "job-cancel-checker-poll-interval",
    property: "jobCancelCheckerPollInterval",
    group: "Launcher",
    type: { kind: "duration", default: 5 * SECOND },
    floor: { below: 1, becomes: 5 * SECOND },
    usedBy: LAUNCHER,
    since: "v0.26.0",
    description: "how often a pending pod's Buildkite job is checked for cancellation; 0 or less means 5s",
  },
  {
    key: "empty-job-grace-period",
    property: "emptyJobGracePeriod",
    group: "Launcher",
    type: { kind: "duration", default: 30 * SECOND, min: 0 },
    usedBy: LAUNCHER,
    since: "v0.26.0",
    description: "how long a started Job may have no pod before it is failed; 0 means at once",
  },
  {
    key: "pod-pending-timeout",
    property: "podPendingTimeout",
    group: "Launcher",
    type: { kind: "duration", default: 15 * MINUTE, min: 0 },
    usedBy: LAUNCHER,
    since: "HEAD",
    description: "how long a pod may stay pending before its job is failed",
  },
  {
    key: "enable-completion-watcher",
    property: "enableCompletionWatcher",
    group: "Launcher",
    type: { kind: "bool", default: true },
    usedBy: LAUNCHER,
    since: "HEAD",
    description: "stop sidecars left running after the agent container exits",
  },

  // Kubernetes
  {
    key: "namespace",
    property: "namespace",
    group: "Kubernetes",
    type: { kind: "string", default: "default", rule: "dnsLabel" },
    usedBy: ALL,
    requiredBy: ALL,
    since: "v0.26.0",
    description: "namespace of the Jobs, pods, PodTemplates and the agent token Secret",
  },
  {
    key: "id",
    property: "id",
    group: "Kubernetes",
    type: { kind: "string", default: "", rule: "labelValue" },
    env: "BUILDKITE_K8S_STACK_CONTROLLER_ID",
    usedBy: ALL,
    since: "HEAD",
    description: "this stack's id: label buildkite.com/controller-id on its Jobs",
  },
  {
    key: "job-prefix",
    property: "jobPrefix",
    group: "Kubernetes",
    type: { kind: "string", default: "buildkite-", rule: "jobPrefix" },
    usedBy: ["launcher", "render"],
    requiredBy: ["launcher", "render"],
    since: "v0.26.0",
    description: "Job name prefix; the name is the prefix plus the Buildkite job UUID",
  },
  {
    key: "agent-token-secret",
    property: "agentTokenSecret",
    group: "Kubernetes",
    type: { kind: "string", default: "buildkite-agent-token", rule: "dnsSubdomain" },
    usedBy: ALL,
    requiredBy: ALL,
    since: "v0.26.0",
    description: "Secret whose key BUILDKITE_AGENT_TOKEN holds the agent registration token",
  },
  {
    key: "k8s-client-rate-limiter-qps",
    property: "k8sClientRateLimiterQps",
    group: "Kubernetes",
    type: { kind: "int", default: 10, min: 0 },
    usedBy: SERVERS,
    since: "v0.26.0",
    description: "Kubernetes client requests per second",
  },
  {
    key: "k8s-client-rate-limiter-burst",
    property: "k8sClientRateLimiterBurst",
    group: "Kubernetes",
    type: { kind: "int", default: 20, min: 0 },
    usedBy: SERVERS,
    since: "v0.26.0",
    description: "Kubernetes client request burst",
  },

  // Job and pod (the expansion)
  {
    key: "image",
    property: "image",
    group: "Job and pod",
    type: { kind: "string", default: DEFAULT_AGENT_IMAGE, rule: "imageReference" },
    usedBy: EXPANSION,
    requiredBy: EXPANSION,
    since: "v0.26.0",
    description: "agent image, also of checkout, copy-agent and the default command container",
  },
  {
    key: "job-ttl",
    property: "jobTtl",
    group: "Job and pod",
    type: { kind: "duration", default: 10 * MINUTE, min: 0 },
    usedBy: EXPANSION,
    since: "v0.26.0",
    description: "Job ttlSecondsAfterFinished, in whole seconds",
  },
  {
    key: "job-active-deadline-seconds",
    property: "jobActiveDeadlineSeconds",
    group: "Job and pod",
    type: { kind: "int", default: 21_600, min: 1 },
    usedBy: EXPANSION,
    since: "v0.26.0",
    description: "Job activeDeadlineSeconds, unless the step's jobActiveDeadlineSeconds is set",
  },
  {
    key: "default-termination-grace-period-seconds",
    property: "defaultTerminationGracePeriodSeconds",
    group: "Job and pod",
    type: { kind: "int", default: 60, min: 1 },
    usedBy: EXPANSION,
    since: "HEAD",
    description: "pod terminationGracePeriodSeconds when the pod spec has none",
  },
  {
    key: "default-image-pull-policy",
    property: "defaultImagePullPolicy",
    group: "Job and pod",
    type: { kind: "enum", default: "", values: PULL_POLICY_VALUES },
    usedBy: EXPANSION,
    since: "v0.26.0",
    description: "pull policy of the stack's containers; empty: Kubernetes' default",
  },
  {
    key: "default-image-check-pull-policy",
    property: "defaultImageCheckPullPolicy",
    group: "Job and pod",
    type: { kind: "enum", default: "", values: PULL_POLICY_VALUES },
    usedBy: EXPANSION,
    since: "v0.26.0",
    description: "pull policy of the imagecheck-* init containers; empty: Kubernetes' default",
  },
  {
    key: "skip-image-check-containers",
    property: "skipImageCheckContainers",
    group: "Job and pod",
    type: { kind: "bool", default: false },
    usedBy: EXPANSION,
    since: "HEAD",
    description: "do not add imagecheck-* init containers",
  },
  {
    key: "image-check-container-cpu-limit",
    property: "imageCheckContainerCpuLimit",
    group: "Job and pod",
    type: { kind: "string", default: "200m", rule: "cpuLimit" },
    usedBy: EXPANSION,
    since: "HEAD",
    description:
      "CPU limit of each imagecheck-* container; its request is 100m, or the limit when that is lower",
  },
  {
    key: "image-check-container-memory-limit",
    property: "imageCheckContainerMemoryLimit",
    group: "Job and pod",
    type: { kind: "string", default: "128Mi", rule: "memoryLimit" },
    usedBy: EXPANSION,
    since: "HEAD",
    description:
      "memory limit of each imagecheck-* container; its request is 64Mi, or the limit when that is lower",
  },
  {
    key: "workspace-mount-sub-path-expr",
    property: "workspaceMountSubPathExpr",
    group: "Job and pod",
    type: { kind: "string", default: "" },
    usedBy: EXPANSION,
    since: "HEAD",
    description: "subPathExpr of every /workspace mount the stack creates, e.g. $(POD_NAME)",
  },
  {
    key: "default-resource-class-name",
    property: "defaultResourceClassName",
    group: "Job and pod",
    type: { kind: "string", default: "" },
    usedBy: EXPANSION,
    since: "HEAD",
    description: "resource class of jobs without a resource_class tag; must be one of resource-classes",
  },
  {
    key: "additional-redacted-vars",
    property: "additionalRedactedVars",
    group: "Job and pod",
    type: { kind: "stringList", default: [] },
    usedBy: EXPANSION,
    since: "v0.26.0",
    description: "more env var name patterns whose values the agent redacts from logs",
  },
  {
    key: "prohibit-kubernetes-plugin",
    property: "prohibitKubernetesPlugin",
    group: "Job and pod",
    type: { kind: "bool", default: false },
    usedBy: EXPANSION,
    since: "v0.26.0",
    description: "fail every job that uses the kubernetes plugin",
  },
  {
    key: "allow-pod-spec-patch-unsafe-command-modification",
    property: "allowPodSpecPatchUnsafeCommandModification",
    group: "Job and pod",
    type: { kind: "bool", default: false },
    usedBy: EXPANSION,
    since: "v0.26.0",
    description:
      "let pod spec patches change command/args of containers, the config's pod-spec-patch included",
  },

  // Job and pod: structured, config file only
  {
    key: "pod-spec-patch",
    property: "podSpecPatch",
    group: "Job and pod (file only)",
    type: { kind: "structured", default: undefined, shape: "PodSpec strategic merge patch" },
    usedBy: EXPANSION,
    since: "v0.26.0",
    description: "strategic merge patch applied to every pod before the step's podSpecPatch",
  },
  {
    key: "workspace-volume",
    property: "workspaceVolume",
    group: "Job and pod (file only)",
    type: { kind: "structured", default: undefined, shape: "Volume" },
    usedBy: EXPANSION,
    since: "v0.26.0",
    description: "volume mounted at /workspace instead of an emptyDir named workspace",
  },
  {
    key: "agent-config",
    property: "agentConfig",
    group: "Job and pod (file only)",
    type: { kind: "structured", default: undefined, shape: "agent settings" },
    usedBy: ALL,
    since: "v0.26.0",
    description: "buildkite-agent settings for every pod (endpoint also used by the launcher to fail jobs)",
  },
  {
    key: "default-checkout-params",
    property: "defaultCheckoutParams",
    group: "Job and pod (file only)",
    type: { kind: "structured", default: undefined, shape: "checkout params" },
    usedBy: EXPANSION,
    since: "v0.26.0",
    description: "defaults of the kubernetes plugin's checkout",
  },
  {
    key: "default-command-params",
    property: "defaultCommandParams",
    group: "Job and pod (file only)",
    type: { kind: "structured", default: undefined, shape: "command params" },
    usedBy: EXPANSION,
    since: "v0.26.0",
    description: "defaults of the kubernetes plugin's commandParams (interposer, envFrom, extraVolumeMounts)",
  },
  {
    key: "default-sidecar-params",
    property: "defaultSidecarParams",
    group: "Job and pod (file only)",
    type: { kind: "structured", default: undefined, shape: "sidecar params" },
    usedBy: EXPANSION,
    since: "v0.26.0",
    description: "defaults of the kubernetes plugin's sidecarParams (envFrom, extraVolumeMounts)",
  },
  {
    key: "default-metadata",
    property: "defaultMetadata",
    group: "Job and pod (file only)",
    type: { kind: "structured", default: {}, shape: "labels and annotations" },
    usedBy: EXPANSION,
    since: "v0.26.0",
    description: "labels and annotations of every Job and pod",
  },
  {
    key: "resource-classes",
    property: "resourceClasses",
    group: "Job and pod (file only)",
    type: { kind: "structured", default: undefined, shape: "map of resource classes" },
    usedBy: EXPANSION,
    since: "HEAD",
    description: "name → {resource, podResource, nodeSelector}, chosen by the resource_class tag",
  },

  // Logging and monitoring
  {
    key: "debug",
    property: "debug",
    group: "Logging and monitoring",
    type: { kind: "bool", default: false },
    usedBy: ALL,
    since: "v0.26.0",
    description: "debug logging; overrides log-level",
  },
  {
    key: "log-level",
    property: "logLevel",
    group: "Logging and monitoring",
    type: { kind: "enum", default: "info", values: ["debug", "info", "warn", "error"] },
    usedBy: ALL,
    since: "HEAD",
    description: "log level",
  },
  {
    key: "log-format",
    property: "logFormat",
    group: "Logging and monitoring",
    type: { kind: "enum", default: "logfmt", values: ["logfmt", "json"] },
    usedBy: ALL,
    since: "HEAD",
    description: "log format",
  },
  {
    key: "no-color",
    property: "noColor",
    group: "Logging and monitoring",
    type: { kind: "bool", default: false },
    envPresenceIsTrue: true,
    usedBy: ALL,
    since: "HEAD",
    description:
      "no colour in logfmt logs, also when NO_COLOR has any value (none anyway when stdout is not a terminal)",
  },
  {
    key: "log-http-payloads",
    property: "logHttpPayloads",
    group: "Logging and monitoring",
    type: { kind: "bool", default: false },
    usedBy: LAUNCHER,
    since: "HEAD",
    description:
      "log Buildkite GraphQL requests and responses at debug level, tokens redacted (the Stacks API's requests are logged at debug level, without bodies)",
  },
  {
    key: "prometheus-port",
    property: "prometheusPort",
    group: "Logging and monitoring",
    type: { kind: "port", default: 0 },
    usedBy: SERVERS,
    since: "v0.26.0",
    description: "port of GET /metrics on all interfaces; 0 disables it",
  },
  {
    key: "profiler-address",
    property: "profilerAddress",
    group: "Logging and monitoring",
    type: { kind: "string", default: "", rule: "hostnamePort" },
    usedBy: SERVERS,
    since: "v0.26.0",
    description:
      "Go pprof host:port: accepted and checked for compatibility, but Node serves no pprof; profile with node --inspect",
  },
] as const satisfies readonly KeySpec[];

export type ConfigKeyName = (typeof CONFIG_KEYS)[number]["key"];
export type ConfigKeySpec = (typeof CONFIG_KEYS)[number] & KeySpec;

/** Every `Config` property comes out of one key; a property without one is a compile error here. */
export type ConfigPropertiesWithoutKey = Exclude<keyof Config, (typeof CONFIG_KEYS)[number]["property"]>;
const everyPropertyHasAKey: [ConfigPropertiesWithoutKey] extends [never] ? true : ConfigPropertiesWithoutKey =
  true;
void everyPropertyHasAKey;

const BY_KEY: ReadonlyMap<string, KeySpec> = new Map(CONFIG_KEYS.map((spec) => [spec.key, spec]));

export function keySpec(key: string): KeySpec | undefined {
  return BY_KEY.get(key);
}

/** `max-in-flight` → `MAX_IN_FLIGHT`, unless the table names another variable or none. */
export function envVarOf(spec: KeySpec): string | undefined {
  if (spec.env === false || spec.type.kind === "structured") return undefined;
  return spec.env ?? spec.key.replaceAll("-", "_").toUpperCase();
}

/** The long flag name, or undefined for file-only keys. */
export function flagOf(spec: KeySpec): string | undefined {
  if (spec.flag === false || spec.type.kind === "structured") return undefined;
  return spec.key;
}

export function inFile(spec: KeySpec): boolean {
  return spec.inFile !== false;
}

/**
 * Keys of upstream HEAD's configuration file that this stack has no use for, and why: a file written
 * for upstream (its `examples/config.yaml`, a chart's values) still loads, with a warning, instead of
 * failing on them.
 */
export const IGNORED_UPSTREAM_KEYS: Readonly<Record<string, string>> = {
  "integration-test-buildkite-token":
    "upstream reads it only in its own integration tests; the launcher's token is buildkite-token",
};

/** The keys that become `Config` properties (all but `config`). */
export const VALUE_KEYS: readonly KeySpec[] = CONFIG_KEYS.filter((spec) => spec.property !== null);
