/**
 * Who needs which Kubernetes permission, once: each component of the stack (one entry per kind of call
 * its code makes) and `agent-stack-k8s diagnose` itself. Three things check against this list, so none
 * of them keeps a copy of its own:
 * - test/k8s/permissions.test.ts: the calls the code of each component makes are exactly these;
 * - test/chart/chart.test.ts: the chart's Roles grant each component exactly these;
 * - `diagnose`: the service accounts in the cluster are allowed these (SelfSubjectAccessReview).
 * The permission table of docs/permissions.md is generated from it (`npm run docs`).
 */

export const STACK_COMPONENTS = ["launcher", "webhook", "certs"] as const;
export type StackComponent = (typeof STACK_COMPONENTS)[number];

export interface Permission {
  readonly verb: string;
  /** `""` for the core group. */
  readonly group: string;
  /** The resource, with its subresource when there is one: `pods/log`. */
  readonly resource: string;
  /** Only this object (an RBAC `resourceNames` entry); undefined: any object. */
  readonly name?: string;
  /** False for cluster-scoped resources: the check has no namespace. */
  readonly namespaced: boolean;
  /** What the call is for, as docs/permissions.md and `diagnose` show it. */
  readonly why: string;
}

/** The names the chart gives the objects a component may only touch by name. */
export interface PermissionNames {
  /** `agent-token-secret`: the launcher reads the agent token from it. */
  readonly agentTokenSecret: string;
  /** The certificate keeper's Secret (`certs --secret`). */
  readonly tlsSecret: string;
  /** The MutatingWebhookConfiguration whose caBundle the keeper sets (`certs --webhook-configuration`). */
  readonly webhookConfiguration: string;
}

const ADMISSION = "admissionregistration.k8s.io";

const each = (verbs: readonly string[], permission: Omit<Permission, "verb">): Permission[] =>
  verbs.map((verb) => ({ verb, ...permission }));

export function stackPermissions(component: StackComponent, names: PermissionNames): Permission[] {
  switch (component) {
    case "launcher":
      return [
        ...each(["list", "watch"], {
          group: "batch",
          resource: "jobs",
          namespaced: true,
          why: "its informer: the Jobs in flight (limiter, dedupe, watchers)",
        }),
        {
          verb: "create",
          group: "batch",
          resource: "jobs",
          namespaced: true,
          why: "a skeleton Job per Buildkite job",
        },
        ...each(["get", "patch"], {
          group: "batch",
          resource: "jobs",
          namespaced: true,
          why: "lowering activeDeadlineSeconds to end a Job",
        }),
        {
          verb: "delete",
          group: "batch",
          resource: "jobs",
          namespaced: true,
          why: "removing Jobs of cancelled or failed Buildkite jobs",
        },
        ...each(["list", "watch"], {
          group: "",
          resource: "pods",
          namespaced: true,
          why: "its informer: pod watcher, completion watcher",
        }),
        { verb: "list", group: "", resource: "events", namespaced: true, why: "explaining why a Job failed" },
        {
          verb: "get",
          group: "",
          resource: "secrets",
          name: names.agentTokenSecret,
          namespaced: true,
          why: "the agent token, to poll the Stacks API and to fail Buildkite jobs",
        },
      ];
    case "webhook":
      return [
        ...each(["list", "watch"], {
          group: "",
          resource: "podtemplates",
          namespaced: true,
          why: "its informer: the PodTemplates steps name",
        }),
        ...each(["create", "patch"], {
          group: "",
          resource: "events",
          namespaced: true,
          why: "a Warning Event on its own pod while its reloaded configuration is invalid",
        }),
      ];
    case "certs":
      return [
        ...each(["get", "update"], {
          group: "",
          resource: "secrets",
          name: names.tlsSecret,
          namespaced: true,
          why: "keeping the CA and serving certificate",
        }),
        {
          verb: "create",
          group: "",
          resource: "secrets",
          namespaced: true,
          why: "creating that Secret at install (a create cannot be limited by name)",
        },
        ...each(["get", "patch"], {
          group: ADMISSION,
          resource: "mutatingwebhookconfigurations",
          name: names.webhookConfiguration,
          namespaced: false,
          why: "setting the caBundle",
        }),
        ...each(["list", "watch"], {
          group: ADMISSION,
          resource: "mutatingwebhookconfigurations",
          name: names.webhookConfiguration,
          namespaced: false,
          why: "following it (by name), to restore a caBundle a replace wiped",
        }),
      ];
  }
}

/** What `diagnose` reads, for a namespace and the names it found there. */
export interface DiagnoseNames {
  /** The webhook's TLS Secret, whose `tls.crt` is checked against the caBundle. */
  readonly tlsSecret: string;
  /** The webhook's Service, whose `/readyz` is read through the API server's proxy. */
  readonly webhookService: string;
}

export function diagnosePermissions(names: DiagnoseNames): Permission[] {
  const read = (resource: string, why: string): Permission => ({
    verb: "list",
    group: "",
    resource,
    namespaced: true,
    why,
  });
  return [
    { ...read("deployments", "finding the stack by the chart's labels"), group: "apps" },
    read("pods", "the stack's pods and the jobs' pods"),
    { verb: "get", group: "", resource: "pods/log", namespaced: true, why: "their logs" },
    { ...read("jobs", "the stack's Jobs"), group: "batch" },
    read("events", "the Events of those objects"),
    { verb: "get", group: "", resource: "configmaps", namespaced: true, why: "the configuration" },
    {
      verb: "list",
      group: ADMISSION,
      resource: "mutatingwebhookconfigurations",
      namespaced: false,
      why: "the stack's webhook configuration",
    },
    {
      verb: "get",
      group: "",
      resource: "secrets",
      name: names.tlsSecret,
      namespaced: true,
      why: "the serving certificate (tls.crt), checked against the caBundle; nothing of it is written",
    },
    {
      verb: "get",
      group: "",
      resource: "services/proxy",
      name: names.webhookService,
      namespaced: true,
      why: "the webhook's /readyz",
    },
    {
      verb: "impersonate",
      group: "",
      resource: "serviceaccounts",
      namespaced: true,
      why: "checking the stack's permissions as its service accounts",
    },
    {
      verb: "create",
      group: "authorization.k8s.io",
      resource: "selfsubjectaccessreviews",
      namespaced: false,
      why: "those checks (every authenticated user may)",
    },
  ];
}

/** `get secrets buildkite-agent-token`, `list mutatingwebhookconfigurations.admissionregistration.k8s.io`. */
export function describePermission(
  permission: Pick<Permission, "verb" | "group" | "resource" | "name">,
): string {
  const resource =
    permission.group === "" ? permission.resource : `${permission.resource}.${permission.group}`;
  return permission.name === undefined
    ? `${permission.verb} ${resource}`
    : `${permission.verb} ${resource} ${permission.name}`;
}
