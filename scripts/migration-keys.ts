/**
 * Every key a user of Buildkite's upstream controller may have written, at v0.26.0 and at HEAD
 * (v0.47.0), and what it becomes here. The lists are transcribed from the runtime specification
 * (controller-runtime.md §1.3 and §1.4: v0.26.0's configuration keys; §1.8: HEAD's; §7.1 and §7.3: the
 * chart's values); the rows say what each key does here. `npm run docs` prints them as the tables of
 * docs/migration.md, and test/docs/migration.test.ts checks them against the configuration key table
 * (src/config/schema.ts), the decoding tables of the structured keys, the chart's values.schema.json,
 * the configuration loader and `helm template`.
 */

/** An upstream default as a value of a YAML file; `null`: no default (a structured key left unset). */
export type UpstreamDefault = string | number | boolean | readonly string[] | null;

export interface UpstreamKey {
  readonly default: UpstreamDefault;
  /** What else a user of that version should know about the key there. */
  readonly note?: string;
}

/**
 * What a key becomes here. `sample` is a value an upstream file could hold; the test feeds it to the
 * loader or to helm to check the outcome.
 */
export type Outcome =
  | { readonly kind: "same"; readonly note?: string }
  /** The same key, but the value written for upstream must change. */
  | { readonly kind: "changed"; readonly note: string }
  | { readonly kind: "renamed"; readonly to: string; readonly note?: string }
  /** Refused: `message` is part of what the loader or helm says. */
  | { readonly kind: "refused"; readonly sample: unknown; readonly message: string; readonly note?: string }
  /** Accepted and without effect. */
  | { readonly kind: "ignored"; readonly sample: unknown; readonly why: string };

export interface ConfigKeyRow {
  readonly key: string;
  readonly "v0.26.0"?: UpstreamKey;
  /** `removed`: the key is gone at HEAD, and HEAD's strict parsing refuses it. */
  readonly HEAD?: UpstreamKey | "removed";
  /** As a key of the `--config` file (and its flag and environment variable). */
  readonly here: Outcome;
  /** As `config.<key>` in the chart's values, where that differs from `here`. */
  readonly chart?: Outcome;
}

export interface ValuesRow {
  readonly path: string;
  readonly "v0.26.0"?: UpstreamKey;
  readonly HEAD?: UpstreamKey;
  /** A value an upstream values file could hold here. */
  readonly sample: unknown;
  readonly here: Outcome;
}

export interface MembersRow {
  /** The structured configuration key, or a path inside one (`default-checkout-params.gitMirrors`). */
  readonly key: string;
  /** Where the members are read here: a definition of src/config/file-schemas.ts or src/params/schemas.ts. */
  readonly definition: string;
  readonly "v0.26.0": readonly string[];
  readonly HEAD: readonly string[];
  readonly note?: string;
}

/** The upstream key lists, as the specification gives them, before any judgement. */
export const UPSTREAM = {
  "v0.26.0": {
    /** §1.3 (flags, env and file) and §1.4 (file only). */
    configKeys: [
      "config",
      "agent-token-secret",
      "buildkite-token",
      "org",
      "image",
      "job-prefix",
      "tags",
      "namespace",
      "debug",
      "max-in-flight",
      "job-ttl",
      "job-active-deadline-seconds",
      "poll-interval",
      "stale-job-data-timeout",
      "job-creation-concurrency",
      "cluster-uuid",
      "profiler-address",
      "prometheus-port",
      "graphql-endpoint",
      "graphql-results-limit",
      "pagination-depth-limit",
      "enable-queue-pause",
      "k8s-client-rate-limiter-qps",
      "k8s-client-rate-limiter-burst",
      "image-pull-backoff-grace-period",
      "job-cancel-checker-poll-interval",
      "empty-job-grace-period",
      "default-image-pull-policy",
      "default-image-check-pull-policy",
      "prohibit-kubernetes-plugin",
      "allow-pod-spec-patch-unsafe-command-modification",
      "additional-redacted-vars",
      "pod-spec-patch",
      "workspace-volume",
      "agent-config",
      "default-checkout-params",
      "default-command-params",
      "default-sidecar-params",
      "default-metadata",
    ],
    /** §7.1: values.yaml and the keys only its schema has, and the chart schema's own `config` key. */
    values: [
      "agentToken",
      "graphqlToken",
      "nodeSelector",
      "tolerations",
      "config",
      "resources",
      "labels",
      "secretsMetadata",
      "serviceAccountMetadata",
      "agentStackSecret",
      "image",
      "nameOverride",
      "fullnameOverride",
      "config.workspaceVolume",
    ],
  },
  HEAD: {
    /** §1.8: removed keys (HEAD's strict parsing refuses them). */
    configKeysRemoved: [
      "org",
      "cluster-uuid",
      "buildkite-token",
      "graphql-results-limit",
      "stale-job-data-timeout",
    ],
    /** §1.8: new keys, the hidden one included. */
    configKeysAdded: [
      "id",
      "queue",
      "http-timeout",
      "pagination-page-size",
      "query-reset-interval",
      "work-queue-limit",
      "reservation-expiry-seconds",
      "enable-completion-watcher",
      "pod-pending-timeout",
      "default-termination-grace-period-seconds",
      "skip-image-check-containers",
      "image-check-container-cpu-limit",
      "image-check-container-memory-limit",
      "workspace-mount-sub-path-expr",
      "resource-classes",
      "default-resource-class-name",
      "log-format",
      "log-level",
      "no-color",
      "log-http-payloads",
      "integration-test-buildkite-token",
    ],
    /** §7.3: the `config` defaults HEAD's values.yaml sets. */
    chartConfigDefaults: {
      "prometheus-port": 9216,
      "reservation-expiry-seconds": 900,
      "enable-completion-watcher": true,
      "pod-pending-timeout": "15m",
    },
    /** §7.3: new values. */
    valuesAdded: [
      "annotations",
      "monitoring.deployGrafanaDashboard",
      "monitoring.podMonitor.deploy",
      "monitoring.namespace",
      "monitoring.podMonitor.scrapeInterval",
      "controllerEnv",
    ],
  },
} as const;

/** Values of this chart that upstream's has not. */
export const VALUES_ONLY_HERE = [
  "imagePullPolicy",
  "imagePullSecrets",
  "launcher",
  "webhook",
  "certificates",
];

/** Configuration keys this stack has and upstream does not. */
export const KEYS_ONLY_HERE: Readonly<Record<string, string>> = {
  "job-source":
    "which API the launcher finds jobs with; empty picks by the credentials given ([job sources](job-sources.md))",
};

const SAME = { kind: "same" } as const;
const same = (note: string): Outcome => ({ kind: "same", note });
const both = (value: UpstreamDefault, note?: string) => ({
  "v0.26.0": { default: value, ...(note === undefined ? {} : { note }) },
  HEAD: { default: value, ...(note === undefined ? {} : { note }) },
});

export const CONFIG_KEY_ROWS: readonly ConfigKeyRow[] = [
  {
    key: "config",
    ...both(""),
    here: same("`-f`/`--config` or `CONFIG`, never in the file"),
    chart: {
      kind: "refused",
      sample: "/etc/other.yaml",
      message: "Additional property config is not allowed",
      note: "the chart points both processes at its ConfigMap",
    },
  },
  {
    key: "agent-token-secret",
    ...both("buildkite-agent-token"),
    here: SAME,
    chart: same("the chart sets it to `agentStackSecret` or `<fullname>-secrets` unless you do"),
  },
  {
    key: "buildkite-token",
    "v0.26.0": { default: "" },
    HEAD: "removed",
    here: same(
      "`BUILDKITE_TOKEN` in the environment, as the chart's Secret gives it; when set, the launcher uses the GraphQL job source, which needs it",
    ),
    chart: {
      kind: "refused",
      sample: "bkua_example",
      message: "config.buildkite-token would put the GraphQL token in a ConfigMap",
      note: "give `graphqlToken` or `agentStackSecret`",
    },
  },
  {
    key: "org",
    "v0.26.0": { default: "" },
    HEAD: "removed",
    here: same("the GraphQL job source needs it; the Stacks API does not"),
  },
  {
    key: "image",
    "v0.26.0": { default: "ghcr.io/buildkite/agent:3.93.1" },
    HEAD: { default: "ghcr.io/buildkite/agent:3.136.2" },
    here: same(
      "the agent image; pods run its `kubernetes-bootstrap`, as HEAD's pods do, so keep one that has it (the default does)",
    ),
  },
  { key: "job-prefix", ...both("buildkite-"), here: same("at most 27 characters, so that a Job name fits") },
  {
    key: "tags",
    ...both(["queue=kubernetes"]),
    here: same(
      "the GraphQL job source needs a `queue` tag, or `queue`; the Stacks API polls that queue, or the cluster's default queue without one",
    ),
  },
  {
    key: "namespace",
    ...both("default"),
    here: SAME,
    chart: {
      kind: "refused",
      sample: "elsewhere",
      message:
        'config.namespace is "elsewhere", but the stack\'s Role and Secrets are in the release namespace',
      note: "unless it is the release namespace, which the chart sets anyway",
    },
  },
  { key: "debug", ...both(false), here: SAME },
  { key: "max-in-flight", ...both(25), here: SAME },
  { key: "job-ttl", ...both("10m"), here: SAME },
  { key: "job-active-deadline-seconds", ...both(21600), here: SAME },
  { key: "poll-interval", ...both("1s"), here: SAME },
  {
    key: "stale-job-data-timeout",
    "v0.26.0": { default: "10s" },
    HEAD: "removed",
    here: SAME,
  },
  {
    key: "job-creation-concurrency",
    "v0.26.0": { default: 5 },
    HEAD: { default: 25, note: "the number of limiter workers" },
    here: same("Job creates at once, as v0.26.0"),
  },
  {
    key: "cluster-uuid",
    "v0.26.0": { default: "" },
    HEAD: "removed",
    here: same(
      "the GraphQL job source's cluster; empty: the agent token's cluster, as HEAD, or the unclustered queue for an unclustered token",
    ),
  },
  {
    key: "profiler-address",
    ...both(""),
    here: {
      kind: "ignored",
      sample: ":6060",
      why: "accepted and checked, but Node serves no Go pprof; profile with `node --inspect`",
    },
  },
  {
    key: "prometheus-port",
    "v0.26.0": { default: 0 },
    HEAD: { default: 0, note: "the chart sets 9216" },
    here: same("the chart sets 9216 too"),
  },
  {
    key: "graphql-endpoint",
    "v0.26.0": { default: "", note: "Buildkite's public API" },
    HEAD: { default: "", note: "hidden, for upstream's tests" },
    here: SAME,
  },
  {
    key: "graphql-results-limit",
    "v0.26.0": { default: 100 },
    HEAD: "removed",
    here: SAME,
  },
  {
    key: "pagination-depth-limit",
    "v0.26.0": { default: 1 },
    HEAD: { default: 2 },
    here: same("pages of the GraphQL query per poll, as v0.26.0"),
  },
  {
    key: "enable-queue-pause",
    "v0.26.0": { default: false },
    HEAD: { default: false, note: "parsed, never read" },
    here: same("works with a `cluster-uuid`"),
  },
  { key: "k8s-client-rate-limiter-qps", ...both(10), here: SAME },
  { key: "k8s-client-rate-limiter-burst", ...both(20), here: SAME },
  { key: "image-pull-backoff-grace-period", ...both("30s"), here: SAME },
  { key: "job-cancel-checker-poll-interval", ...both("5s"), here: SAME },
  { key: "empty-job-grace-period", ...both("30s"), here: SAME },
  { key: "default-image-pull-policy", ...both(""), here: SAME },
  { key: "default-image-check-pull-policy", ...both(""), here: SAME },
  { key: "prohibit-kubernetes-plugin", ...both(false), here: SAME },
  {
    key: "allow-pod-spec-patch-unsafe-command-modification",
    ...both(false),
    here: same("as HEAD, it also lets `pod-spec-patch` change commands, which v0.26.0 always refused"),
  },
  { key: "additional-redacted-vars", ...both(null), here: SAME },
  {
    key: "pod-spec-patch",
    ...both(null),
    here: same("applied with every strategic merge patch directive, which upstream drops"),
  },
  { key: "workspace-volume", ...both(null), here: SAME },
  { key: "agent-config", ...both(null), here: same("every member, below") },
  { key: "default-checkout-params", ...both(null), here: same("every member, below") },
  { key: "default-command-params", ...both(null), here: SAME },
  { key: "default-sidecar-params", ...both(null), here: SAME },
  { key: "default-metadata", ...both(null), here: SAME },
  {
    key: "id",
    HEAD: { default: "", note: "the chart sets its fullname" },
    here: same("the chart sets its fullname too"),
  },
  {
    key: "queue",
    HEAD: { default: "", note: "else the `queue` tag, else `_default`" },
    here: same("else the `queue` tag, else (Stacks API) `_default`; the GraphQL job source needs a queue"),
  },
  { key: "http-timeout", HEAD: { default: "60s" }, here: SAME },
  { key: "pagination-page-size", HEAD: { default: 1000 }, here: same("read by the Stacks API job source") },
  { key: "query-reset-interval", HEAD: { default: "10s" }, here: same("read by the Stacks API job source") },
  { key: "work-queue-limit", HEAD: { default: 1000000 }, here: same("read by the Stacks API job source") },
  {
    key: "reservation-expiry-seconds",
    HEAD: { default: 0, note: "the chart sets 900, the server's default" },
    here: same("read by the Stacks API job source"),
  },
  { key: "enable-completion-watcher", HEAD: { default: true }, here: SAME },
  { key: "pod-pending-timeout", HEAD: { default: "15m" }, here: SAME },
  { key: "default-termination-grace-period-seconds", HEAD: { default: 60 }, here: SAME },
  { key: "skip-image-check-containers", HEAD: { default: false }, here: SAME },
  { key: "image-check-container-cpu-limit", HEAD: { default: "200m" }, here: SAME },
  { key: "image-check-container-memory-limit", HEAD: { default: "128Mi" }, here: SAME },
  { key: "workspace-mount-sub-path-expr", HEAD: { default: "" }, here: SAME },
  { key: "resource-classes", HEAD: { default: null }, here: SAME },
  { key: "default-resource-class-name", HEAD: { default: "" }, here: SAME },
  { key: "log-format", HEAD: { default: "logfmt" }, here: SAME },
  { key: "log-level", HEAD: { default: "info" }, here: SAME },
  { key: "no-color", HEAD: { default: false }, here: SAME },
  { key: "log-http-payloads", HEAD: { default: false }, here: SAME },
  {
    key: "integration-test-buildkite-token",
    HEAD: { default: "", note: "hidden, read by upstream's own integration tests" },
    here: {
      kind: "ignored",
      sample: "bkua_example",
      why: "a warning says so; the launcher's token is `buildkite-token`",
    },
    chart: {
      kind: "refused",
      sample: "bkua_example",
      message: "Additional property integration-test-buildkite-token is not allowed",
      note: "a token does not belong in a ConfigMap",
    },
  },
];

export const VALUES_ROWS: readonly ValuesRow[] = [
  {
    path: "agentToken",
    "v0.26.0": { default: "" },
    HEAD: { default: "" },
    sample: "agent-token",
    here: same(
      "stored in `<fullname>-secrets` as `BUILDKITE_AGENT_TOKEN`; all a default install needs (the Stacks API, which wants a cluster's agent token)",
    ),
  },
  {
    path: "graphqlToken",
    "v0.26.0": { default: "" },
    HEAD: { default: "", note: "deprecated, optional" },
    sample: "bkua_graphql-token",
    here: same(
      "optional, as at HEAD; when set, the launcher finds jobs with the GraphQL API, as v0.26.0, and needs `config.org` too ([tokens](#tokens))",
    ),
  },
  {
    path: "agentStackSecret",
    "v0.26.0": { default: "", note: "schema only" },
    HEAD: { default: "" },
    // Empty, as next to the two tokens it must be; the chart's tests install with a Secret of one's own.
    sample: "",
    here: same(
      "the same Secret format: `BUILDKITE_AGENT_TOKEN`, `BUILDKITE_TOKEN` (for the GraphQL API), any other key an env var",
    ),
  },
  {
    path: "image",
    "v0.26.0": { default: "ghcr.io/buildkite/agent-stack-k8s/controller:latest", note: "schema default" },
    HEAD: { default: "ghcr.io/buildkite/agent-stack-k8s/controller:<version>", note: "written at release" },
    sample: "registry.example.com/agent-stack-k8s:0.1.0",
    here: {
      kind: "changed",
      note: "this stack's image, which runs the launcher, the webhook and the certs keeper, instead of upstream's controller ([which image](install.md#2-the-image))",
    },
  },
  { path: "nameOverride", "v0.26.0": { default: "" }, HEAD: { default: "" }, sample: "", here: SAME },
  { path: "fullnameOverride", "v0.26.0": { default: "" }, HEAD: { default: "" }, sample: "", here: SAME },
  {
    path: "nodeSelector",
    "v0.26.0": { default: "{}" },
    HEAD: { default: "{}" },
    sample: { "kubernetes.io/os": "linux" },
    here: same("applies to the launcher, the webhook and the certs keeper"),
  },
  {
    path: "tolerations",
    "v0.26.0": { default: "[]" },
    HEAD: { default: "[]" },
    sample: [{ key: "dedicated", operator: "Equal", value: "ci", effect: "NoSchedule" }],
    here: same("applies to all three"),
  },
  {
    path: "config",
    "v0.26.0": { default: "{org: ''}" },
    HEAD: { default: "{...}" },
    sample: { org: "acme" },
    here: same("every key, in the next table"),
  },
  {
    path: "resources",
    "v0.26.0": { default: "requests: 100m, 100Mi" },
    HEAD: { default: "requests: 100m, 100Mi" },
    sample: { requests: { cpu: "100m", memory: "100Mi" }, limits: { memory: "1Gi" } },
    here: same(
      "the launcher's; its default memory request is 320Mi (100Mi is below what a Node process with the Kubernetes client needs); `webhook.resources` and `certificates.selfManaged.resources` are the others'",
    ),
  },
  {
    path: "labels",
    "v0.26.0": { default: "{}", note: "not `app`" },
    HEAD: { default: "{}" },
    sample: { team: "ci" },
    here: same(
      "not `app` nor `app.kubernetes.io/name`, `instance` or `component`, which the chart's selectors use",
    ),
  },
  {
    path: "annotations",
    HEAD: { default: "{}" },
    sample: { "example.com/owner": "ci" },
    here: SAME,
  },
  {
    path: "secretsMetadata",
    "v0.26.0": { default: "{}" },
    HEAD: { default: "{}" },
    sample: { annotations: { "example.com/owner": "ci" } },
    here: same("`labels` and `annotations`; any other field is refused"),
  },
  {
    path: "serviceAccountMetadata",
    "v0.26.0": { default: "{}" },
    HEAD: { default: "{}" },
    sample: { annotations: { "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/ci" } },
    here: same("on each of the three ServiceAccounts; `labels` and `annotations` only"),
  },
  {
    path: "controllerEnv",
    HEAD: { default: "[]" },
    sample: [{ name: "HTTPS_PROXY", value: "http://proxy.example.com:3128" }],
    here: same("the launcher container's"),
  },
  {
    path: "monitoring.namespace",
    HEAD: { default: "" },
    sample: "",
    here: SAME,
  },
  {
    path: "monitoring.deployGrafanaDashboard",
    HEAD: { default: false },
    sample: true,
    here: same(
      "this stack's dashboard: the launcher's metrics keep upstream's names, and the webhook's are new",
    ),
  },
  {
    path: "monitoring.podMonitor.deploy",
    HEAD: { default: false },
    sample: true,
    here: same("also scrapes the webhook and the certs keeper"),
  },
  {
    path: "monitoring.podMonitor.scrapeInterval",
    HEAD: { default: "" },
    sample: "30s",
    here: SAME,
  },
  {
    path: "config.workspaceVolume",
    "v0.26.0": { default: null, note: "in the schema, never read by the controller" },
    HEAD: { default: null, note: "the same" },
    sample: { name: "workspace", emptyDir: {} },
    here: {
      kind: "refused",
      sample: { name: "workspace", emptyDir: {} },
      message: "config.workspaceVolume is not read",
      note: "rename it `workspace-volume`, the key upstream's controller reads",
    },
  },
];

export const MEMBERS_ROWS: readonly MembersRow[] = [
  {
    key: "agent-config",
    definition: "config.AgentConfig",
    "v0.26.0": [
      "endpoint",
      "no-http2",
      "experiment",
      "shell",
      "no-color",
      "strict-single-hooks",
      "no-multipart-artifact-upload",
      "trace-context-encoding",
      "disable-warnings-for",
      "debug-signing",
      "no-pty",
      "no-command-eval",
      "no-local-hooks",
      "no-plugins",
      "plugin-validation",
      "signing-jwks-file",
      "signing-jwks-key-id",
      "signingJWKSVolume",
      "hooks-path",
      "hooksVolume",
      "plugins-path",
      "pluginsVolume",
      "verification-jwks-file",
      "verification-failure-behavior",
      "verificationJWKSVolume",
    ],
    HEAD: [
      "tracing-backend",
      "tracing-service-name",
      "tracing-propagate-traceparent",
      "git-skip-fetch-existing-commits",
      "container-start-timeout",
      "additional-hooks-paths",
      "additional-hooks",
    ],
    note: "as HEAD: set on the agent container, hooks and plugins volumes mounted at `/workspace/hooks` and `/workspace/plugins` unless their paths say otherwise (v0.26.0: `/buildkite/…`)",
  },
  {
    key: "default-checkout-params",
    definition: "buildkite.CheckoutParams",
    "v0.26.0": [
      "skip",
      "cleanFlags",
      "cloneFlags",
      "fetchFlags",
      "noSubmodules",
      "submoduleCloneConfig",
      "gitMirrors",
      "gitCredentialsSecret",
      "envFrom",
      "extraVolumeMounts",
    ],
    HEAD: ["checkoutFlags"],
    note: "as HEAD: git settings are env vars of the agent container (v0.26.0 put them on the checkout container)",
  },
  {
    key: "default-checkout-params.gitMirrors",
    definition: "buildkite.GitMirrors",
    "v0.26.0": ["path", "volume", "cloneFlags", "lockTimeout", "skipUpdate"],
    HEAD: [],
  },
  {
    key: "default-command-params",
    definition: "buildkite.CommandParams",
    "v0.26.0": ["interposer", "envFrom", "extraVolumeMounts"],
    HEAD: [],
  },
  {
    key: "default-sidecar-params",
    definition: "buildkite.SidecarParams",
    "v0.26.0": ["envFrom", "extraVolumeMounts"],
    HEAD: [],
  },
  {
    key: "default-metadata",
    definition: "buildkite.Metadata",
    "v0.26.0": ["annotations", "labels"],
    HEAD: [],
    note: "keys and values are checked at startup, as Kubernetes would check them on every Job",
  },
  {
    key: "resource-classes.<name>",
    definition: "config.ResourceClass",
    "v0.26.0": [],
    HEAD: ["resource", "podResource", "nodeSelector"],
  },
];
