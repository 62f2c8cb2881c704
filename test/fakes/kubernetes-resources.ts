/**
 * The resources the fake Kubernetes API serves, and how request paths map onto them. Adding a
 * resource is one entry in `FAKE_RESOURCES`, plus any rules of its own in `kubernetes-rules.ts`.
 */

export interface FakeResource {
  /** `""` for the core group. */
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
  /** The OpenAPI definition every written object is validated against. */
  readonly definition: string;
  /**
   * Served with a `status` subresource: writes to the object keep its stored status, writes to
   * `…/status` change only the status (as for Jobs and Pods in kube-apiserver).
   */
  readonly statusSubresource?: boolean;
  /**
   * Fields a field selector may name besides `metadata.name` and `metadata.namespace`, as
   * kube-apiserver registers them per resource.
   */
  readonly selectableFields?: readonly string[];
}

export const FAKE_RESOURCES: readonly FakeResource[] = [
  {
    group: "",
    version: "v1",
    plural: "secrets",
    kind: "Secret",
    namespaced: true,
    definition: "io.k8s.api.core.v1.Secret",
  },
  {
    group: "",
    version: "v1",
    plural: "podtemplates",
    kind: "PodTemplate",
    namespaced: true,
    definition: "io.k8s.api.core.v1.PodTemplate",
  },
  {
    group: "batch",
    version: "v1",
    plural: "jobs",
    kind: "Job",
    namespaced: true,
    definition: "io.k8s.api.batch.v1.Job",
    statusSubresource: true,
    selectableFields: ["status.successful"],
  },
  {
    group: "",
    version: "v1",
    plural: "pods",
    kind: "Pod",
    namespaced: true,
    definition: "io.k8s.api.core.v1.Pod",
    statusSubresource: true,
    selectableFields: [
      "spec.nodeName",
      "spec.restartPolicy",
      "spec.schedulerName",
      "spec.serviceAccountName",
      "status.phase",
      "status.podIP",
      "status.nominatedNodeName",
    ],
  },
  {
    group: "",
    version: "v1",
    plural: "events",
    kind: "Event",
    namespaced: true,
    definition: "io.k8s.api.core.v1.Event",
    selectableFields: [
      "involvedObject.kind",
      "involvedObject.namespace",
      "involvedObject.name",
      "involvedObject.uid",
      "involvedObject.apiVersion",
      "involvedObject.resourceVersion",
      "involvedObject.fieldPath",
      "reason",
      "reportingComponent",
      "source",
      "type",
    ],
  },
  {
    group: "",
    version: "v1",
    plural: "configmaps",
    kind: "ConfigMap",
    namespaced: true,
    definition: "io.k8s.api.core.v1.ConfigMap",
  },
  {
    group: "",
    version: "v1",
    plural: "services",
    kind: "Service",
    namespaced: true,
    definition: "io.k8s.api.core.v1.Service",
  },
  {
    group: "",
    version: "v1",
    plural: "serviceaccounts",
    kind: "ServiceAccount",
    namespaced: true,
    definition: "io.k8s.api.core.v1.ServiceAccount",
  },
  {
    group: "apps",
    version: "v1",
    plural: "deployments",
    kind: "Deployment",
    namespaced: true,
    definition: "io.k8s.api.apps.v1.Deployment",
    statusSubresource: true,
  },
  ...(["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"] as const).map((kind) => ({
    group: "rbac.authorization.k8s.io",
    version: "v1",
    plural: `${kind.toLowerCase()}s`,
    kind,
    namespaced: !kind.startsWith("Cluster"),
    definition: `io.k8s.api.rbac.v1.${kind}`,
  })),
  {
    group: "admissionregistration.k8s.io",
    version: "v1",
    plural: "mutatingwebhookconfigurations",
    kind: "MutatingWebhookConfiguration",
    namespaced: false,
    definition: "io.k8s.api.admissionregistration.v1.MutatingWebhookConfiguration",
  },
];

export function apiVersionOf(resource: FakeResource): string {
  return resource.group === "" ? resource.version : `${resource.group}/${resource.version}`;
}

/** `Job.batch`, `Secret`: how Status messages of validation name a kind (apimachinery's `GroupKind`). */
export function qualifiedKind(resource: FakeResource): string {
  return resource.group === "" ? resource.kind : `${resource.kind}.${resource.group}`;
}

/** `secrets`, `mutatingwebhookconfigurations.admissionregistration.k8s.io`: how Status messages name a resource. */
export function qualifiedPlural(resource: FakeResource): string {
  return resource.group === "" ? resource.plural : `${resource.plural}.${resource.group}`;
}

export function resourceByKind(
  resources: readonly FakeResource[],
  apiVersion: string,
  kind: string,
): FakeResource {
  const found = resources.find((resource) => apiVersionOf(resource) === apiVersion && resource.kind === kind);
  if (found === undefined) {
    const known = resources.map((resource) => `${apiVersionOf(resource)} ${resource.kind}`).join(", ");
    throw new Error(`the fake Kubernetes API does not serve ${apiVersion} ${kind}; it serves ${known}`);
  }
  return found;
}

export interface ResourcePath {
  readonly resource: FakeResource;
  /** Undefined for cluster-scoped resources and for lists across namespaces. */
  readonly namespace: string | undefined;
  /** Undefined for collection requests (list, watch, create). */
  readonly name: string | undefined;
  /** `status` for `…/name/status`, on resources that serve it. */
  readonly subresource?: "status";
}

/** An API path in parts: `/apis/batch/v1/namespaces/ns/jobs/j/status` is batch, v1, ns, [jobs, j, status]. */
export interface ApiPath {
  readonly group: string;
  readonly version: string | undefined;
  readonly namespace: string | undefined;
  /** What follows the namespace (or the version): the resource, a name, a subresource… */
  readonly scoped: readonly string[];
}

/** Undefined for paths outside `/api` and `/apis/<group>`. */
export function apiPathOf(path: string): ApiPath | undefined {
  const segments = path
    .split("/")
    .filter((segment) => segment !== "")
    .map(decodeURIComponent);
  let group: string;
  let rest: string[];
  if (segments[0] === "api") {
    group = "";
    rest = segments.slice(1);
  } else if (segments[0] === "apis" && segments[1] !== undefined) {
    group = segments[1];
    rest = segments.slice(2);
  } else {
    return undefined;
  }
  const [version, ...tail] = rest;
  if (tail[0] === "namespaces" && tail.length >= 3) {
    return { group, version, namespace: tail[1], scoped: tail.slice(2) };
  }
  return { group, version, namespace: undefined, scoped: tail };
}

/**
 * `/api/v1/namespaces/ns/secrets/name`, `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations`…
 * as a resource, namespace and name; undefined when the fake serves no such path.
 */
export function parseResourcePath(
  resources: readonly FakeResource[],
  path: string,
): ResourcePath | undefined {
  const parts = apiPathOf(path);
  if (parts === undefined) return undefined;
  const { group, version, namespace, scoped } = parts;
  const [plural, name, subresource, ...extra] = scoped;
  if (extra.length > 0) return undefined;
  const resource = resources.find(
    (candidate) => candidate.group === group && candidate.version === version && candidate.plural === plural,
  );
  if (resource === undefined) return undefined;
  // A namespaced resource addressed without a namespace is only a list across namespaces.
  if (resource.namespaced && namespace === undefined && name !== undefined) return undefined;
  if (!resource.namespaced && namespace !== undefined) return undefined;
  if (subresource !== undefined) {
    if (subresource !== "status" || resource.statusSubresource !== true) return undefined;
    return { resource, namespace, name, subresource };
  }
  return { resource, namespace, name };
}
