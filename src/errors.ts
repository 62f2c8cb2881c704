/**
 * The one catalog of this project's errors. Every error a user can see carries a stable code from
 * here, so docs/errors.md can document it and tests can assert on the code instead of a sentence.
 * Codes are never reused or renamed.
 *
 * `stage` says where a Buildkite job failure message gets its upstream prefix from (see
 * `failureMessage`): `parse` and `build` errors fail the Buildkite job, the others do not reach it.
 */
export const ERRORS = {
  // Command line and configuration: exit code 2.
  ASK_CLI_USAGE: { stage: "cli", summary: "the command line is not valid (unknown flag, missing value…)" },
  ASK_CONFIG_FILE_UNREADABLE: { stage: "config", summary: "the --config file cannot be read" },
  ASK_CONFIG_FILE_INVALID: {
    stage: "config",
    summary: "the --config file is not valid YAML or not a mapping",
  },
  ASK_CONFIG_UNKNOWN_KEY: { stage: "config", summary: "a configuration key that does not exist" },
  ASK_CONFIG_INVALID_VALUE: {
    stage: "config",
    summary: "a configuration value of the wrong type, out of range or failing a rule",
  },

  // Input files of `render` and `lint`.
  ASK_INPUT_UNREADABLE: {
    stage: "cli",
    summary: "an input file (--job, --pipeline, --pod-template) cannot be read",
  },
  ASK_INPUT_INVALID: { stage: "cli", summary: "an input file is not valid JSON/YAML or has the wrong shape" },
  ASK_PIPELINE_INTERPOLATION: {
    stage: "cli",
    summary:
      "a `$` in a pipeline cannot be interpolated, so `buildkite-agent pipeline upload` would fail (`$1`, a required variable unset…), or eats a patch directive (`$patch`); write `$$` for a literal `$`",
  },

  // Findings of `lint` (exit status 1; warnings only with --strict).
  ASK_LINT_PIPELINE_SCHEMA: {
    stage: "lint",
    summary: "the pipeline does not match Buildkite's pipeline schema (an unknown step key, a wrong type…)",
  },
  ASK_LINT_UNKNOWN_FIELD: {
    stage: "lint",
    summary:
      "a field the kubernetes plugin or a Kubernetes object in it does not have (the stack would ignore it)",
  },
  ASK_LINT_FIELD_CASE: {
    stage: "lint",
    summary:
      "a kubernetes plugin field written in another case (`podspec`): it works, as field names match case-insensitively, but the schema has one spelling (warning)",
  },
  ASK_LINT_KUBERNETES_SCHEMA: {
    stage: "lint",
    summary:
      "a value in the kubernetes plugin that its schema or the Kubernetes OpenAPI refuses: wrong type, a value not allowed, a required field missing",
  },
  ASK_LINT_API_SERVER: {
    stage: "lint",
    summary:
      "the Job a step becomes would be rejected by the API server (duplicate container names, a mount of an undeclared volume, an env entry without a name, requests above limits…)",
  },
  ASK_LINT_EXPANSION_WARNING: {
    stage: "lint",
    summary:
      "something the stack ignores or adjusts when it expands the step (an agent tag that cannot be a label…) (warning)",
  },

  // The Buildkite job (the `buildkite.com/job` annotation).
  ASK_JOB_INVALID: { stage: "job", summary: "the Buildkite job data is not a valid JobTypeCommand" },
  ASK_PLUGINS_INVALID: {
    stage: "parse",
    summary: "BUILDKITE_PLUGINS is not a JSON array of objects (failed parsing plugins)",
  },
  ASK_PLUGIN_INVALID: {
    stage: "parse",
    summary: "a plugin entry does not have exactly one key, or its configuration is nested too deeply",
  },
  ASK_PLUGIN_PROHIBITED: {
    stage: "parse",
    summary: "the kubernetes plugin is used but prohibit-kubernetes-plugin is set",
  },
  ASK_PLUGIN_DECODE: {
    stage: "parse",
    summary: "a field of the kubernetes plugin has the wrong type or an invalid value",
  },

  // Building the pod spec.
  ASK_BASE_POD_SPEC_CONFLICT: {
    stage: "build",
    summary:
      "an external Job has its own pod template and the kubernetes plugin sets podSpec or podTemplate too",
  },
  ASK_POD_TEMPLATE_FETCH: {
    stage: "podTemplate",
    summary: "the PodTemplate named by podTemplate cannot be fetched",
  },
  ASK_RESOURCE_CLASS: { stage: "build", summary: "the resource class of the job is not configured" },
  ASK_IMAGE_REFERENCE: { stage: "build", summary: "a container image is not a valid image reference" },
  ASK_PATCH_COMMAND_MODIFICATION: {
    stage: "build",
    summary: "a pod spec patch changes the command or args of a container the stack owns",
  },
  ASK_PATCH_REMOVES_AGENT: {
    stage: "build",
    summary: "a pod spec patch removes a container the job cannot run without (agent, copy-agent)",
  },
  ASK_PATCH_FAILED: {
    stage: "build",
    summary: "a pod spec patch cannot be applied (strategic merge patch error)",
  },

  // Strategic merge patch (wrapped in ASK_PATCH_FAILED when it happens during expansion).
  ASK_SMP_UNKNOWN_TYPE: {
    stage: "smp",
    summary: "strategicMergePatch was given a type name it has no schema for",
  },
  ASK_SMP_INVALID_PATCH: { stage: "smp", summary: "the strategic merge patch is malformed" },

  // Admission.
  ASK_ADMISSION_INVALID_REVIEW: {
    stage: "admission",
    summary: "the AdmissionReview is malformed (wrong kind, missing request or object)",
  },
  ASK_ADMISSION_JOB_ANNOTATION: {
    stage: "job",
    summary: "the buildkite.com/job annotation is missing or is not valid JSON",
  },

  // Webhook
  ASK_WEBHOOK_TLS_INVALID: {
    stage: "cli",
    summary:
      "the webhook's --tls-cert-file or --tls-key-file cannot be read, or the pair does not load (on a reload the previous pair is kept)",
  },
  ASK_WEBHOOK_BAD_REQUEST: {
    stage: "admission",
    summary: "the body sent to the webhook is not JSON, not UTF-8, too large or of the wrong content type",
  },

  // Certificates (`agent-stack-k8s certs`): `cli` means exit status 2, `certs` exit status 1.
  ASK_CERTS_INVALID_OPTIONS: {
    stage: "cli",
    summary: "a service name, namespace, DNS name, IP address or lifetime for the certificates is not valid",
  },
  ASK_CERTS_INVALID_PEM: {
    stage: "certs",
    summary: "a certificate or private key is not valid PEM, or not of the expected kind",
  },
  ASK_CERTS_FILES: {
    stage: "certs",
    summary: "the certificate files of --out-dir cannot be read or written",
  },
  ASK_CERTS_SECRET_NOT_USABLE: {
    stage: "certs",
    summary:
      "the certificate Secret exists but is not a kubernetes.io/tls Secret that agent-stack-k8s manages, and cannot be reused",
  },
  ASK_CERTS_WEBHOOK_CONFIGURATION_NOT_FOUND: {
    stage: "certs",
    summary: "the MutatingWebhookConfiguration whose caBundle should be set does not exist",
  },
  ASK_CERTS_KUBERNETES_API: {
    stage: "certs",
    summary: "a Kubernetes API call for the certificates failed, after its retries where it is transient",
  },

  // Support data (`agent-stack-k8s diagnose`): `cli` means exit status 2, `diagnose` exit status 1.
  ASK_DIAGNOSE_OUTPUT: {
    stage: "cli",
    summary: "the --out archive of diagnose cannot be created or written",
  },
  ASK_DIAGNOSE_KUBERNETES_CONFIG: {
    stage: "diagnose",
    summary: "diagnose finds no Kubernetes configuration to use (KUBECONFIG, ~/.kube/config or in-cluster)",
  },
  ASK_DIAGNOSE_NOTHING_COLLECTED: {
    stage: "diagnose",
    summary:
      "diagnose could collect no part at all (the API server unreachable, or no permission to read anything); the archive holds only its summary",
  },

  // Launcher: Buildkite
  ASK_BUILDKITE_GRAPHQL_REQUEST: {
    stage: "buildkite",
    summary:
      "a Buildkite GraphQL request failed: no answer within http-timeout, a connection error, a status other than 200 (returned error …), or a body that is not GraphQL JSON",
  },
  ASK_BUILDKITE_GRAPHQL_ERRORS: {
    stage: "buildkite",
    summary:
      "Buildkite answered a GraphQL request with errors (a query it rejects, a token without GraphQL scope, a job that cannot be cancelled…)",
  },
  ASK_BUILDKITE_GRAPHQL_RESPONSE: {
    stage: "buildkite",
    summary: "a GraphQL response lacks what its query selected (no jobs connection, an unknown job state…)",
  },
  ASK_BUILDKITE_INVALID_ORGANIZATION: {
    stage: "buildkite",
    summary:
      "invalid organization: org names no organization that buildkite-token can see; the launcher stops instead of polling",
  },
  ASK_BUILDKITE_QUEUE_PAUSED: {
    stage: "buildkite",
    summary: "enable-queue-pause: dispatch of the cluster queue is paused, so the poll takes no jobs",
  },
  ASK_BUILDKITE_AGENT_API: {
    stage: "buildkite",
    summary:
      "an Agent REST API call made to fail a Buildkite job failed after its retries (register, connect, acquire, start, log chunk, finish, disconnect)",
  },
  ASK_BUILDKITE_AGENT_TOKEN_EMPTY: {
    stage: "buildkite",
    summary: "the agent token for the Agent REST API is empty (Invalid token, empty string supplied)",
  },
  ASK_BUILDKITE_STACKS_API: {
    stage: "buildkite",
    summary:
      "a Stacks API call (or GET token) made with the agent token failed after its retries: `<call>: <METHOD> <URL>: <status> <message>`, no answer within http-timeout, or a connection error",
  },
  ASK_BUILDKITE_STACKS_RESPONSE: {
    stage: "buildkite",
    summary:
      "a Stacks API answer lacks what the call needs (no jobs list, a stack without its cluster queue key, a job state the launcher does not know…)",
  },
  ASK_BUILDKITE_UNCLUSTERED_AGENT_TOKEN: {
    stage: "buildkite-identity",
    summary:
      "the agent token belongs to no cluster: the Stacks API (job-source stacks) needs a cluster agent token, and so does the GraphQL job source when cluster-uuid names a cluster",
  },
  ASK_BUILDKITE_CLUSTER_MISMATCH: {
    stage: "buildkite-identity",
    summary:
      "cluster-uuid names another cluster than the agent token's: agents started with that token could never run the jobs polled",
  },

  // Launcher: Kubernetes
  ASK_KUBERNETES_AGENT_TOKEN: {
    stage: "kubernetes",
    summary:
      "the agent token Secret (agent-token-secret, key BUILDKITE_AGENT_TOKEN) is missing, cannot be read, lacks the key, or the token is empty (agent token is empty); no Buildkite job can be failed until it is fixed",
  },
} as const satisfies Record<string, { stage: string; summary: string }>;

export type ErrorCode = keyof typeof ERRORS;
export type ErrorStage = (typeof ERRORS)[ErrorCode]["stage"];

export interface AgentStackErrorOptions {
  /** Where in the input the problem is: a JSON path such as `$.podSpec.containers[0].image`. */
  readonly path?: string;
  readonly cause?: unknown;
}

export class AgentStackError extends Error {
  readonly code: ErrorCode;
  readonly path: string | undefined;

  constructor(code: ErrorCode, message: string, options: AgentStackErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AgentStackError";
    this.code = code;
    this.path = options.path;
  }

  get stage(): ErrorStage {
    return ERRORS[this.code].stage;
  }
}

export function isAgentStackError(error: unknown, code?: ErrorCode): error is AgentStackError {
  return error instanceof AgentStackError && (code === undefined || error.code === code);
}

const FAILURE_PREFIX: Partial<Record<ErrorStage, string>> = {
  parse: "agent-stack-k8s failed to parse the job: ",
  build: "agent-stack-k8s failed to build a podSpec for the job: ",
};

/**
 * The message a Buildkite job is failed with, worded as upstream words it so that users' searches and
 * log scrapers keep working.
 */
export function failureMessage(error: AgentStackError): string {
  return `${FAILURE_PREFIX[error.stage] ?? ""}${error.message}`;
}
