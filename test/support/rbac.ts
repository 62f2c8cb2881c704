/**
 * Kubernetes RBAC's authorisation rule, evaluated over objects (a rendered chart, or what a fake API
 * server holds): may this user (a service account, a person, their groups) do this verb on this
 * resource (and name) in this namespace? The chart tests use it to prove that each component has what
 * it calls and nothing more; the fake Kubernetes API answers access reviews and refuses requests with it.
 */

export interface RbacObject {
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly [key: string]: unknown;
}

export interface Request {
  readonly verb: string;
  readonly group: string;
  /** With its subresource when there is one: `pods/log`. */
  readonly resource: string;
  /** Omitted for requests that carry no name (list, watch, create). */
  readonly name?: string;
  /** Omitted for cluster-scoped resources. */
  readonly namespace?: string;
}

/** Who asks, as an authenticator would give it. */
export interface Subject {
  readonly user: string;
  readonly groups: readonly string[];
}

/** A service account as the API server authenticates it: its user name and its groups. */
export function serviceAccountSubject(namespace: string, name: string): Subject {
  return {
    user: `system:serviceaccount:${namespace}:${name}`,
    groups: ["system:serviceaccounts", `system:serviceaccounts:${namespace}`, "system:authenticated"],
  };
}

export interface PolicyRule {
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly verbs: readonly string[];
  readonly resourceNames?: readonly string[];
}

interface BindingSubject {
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

interface Binding {
  readonly roleKind: "Role" | "ClusterRole";
  readonly roleName: string;
  /** The binding's namespace; undefined for a ClusterRoleBinding (every namespace). */
  readonly namespace: string | undefined;
  readonly subjects: readonly BindingSubject[];
}

function bindingsOf(objects: readonly RbacObject[]): Binding[] {
  return objects
    .filter((object) => object.kind === "RoleBinding" || object.kind === "ClusterRoleBinding")
    .map((object) => {
      const roleRef = object.roleRef as { kind: "Role" | "ClusterRole"; name: string };
      return {
        roleKind: roleRef.kind,
        roleName: roleRef.name,
        namespace: object.kind === "RoleBinding" ? object.metadata.namespace : undefined,
        subjects: (object.subjects ?? []) as BindingSubject[],
      };
    });
}

function names(binding: BindingSubject, subject: Subject): boolean {
  switch (binding.kind) {
    case "ServiceAccount":
      return subject.user === `system:serviceaccount:${binding.namespace ?? ""}:${binding.name}`;
    case "User":
      return subject.user === binding.name;
    case "Group":
      return subject.groups.includes(binding.name);
    default:
      return false;
  }
}

export function rulesOf(role: RbacObject): readonly PolicyRule[] {
  return (role.rules ?? []) as PolicyRule[];
}

function ruleAllows(rule: PolicyRule, request: Request): boolean {
  const matches = (values: readonly string[] | undefined, value: string) =>
    (values ?? []).includes(value) || (values ?? []).includes("*");
  if (!matches(rule.apiGroups, request.group)) return false;
  if (!matches(rule.resources, request.resource)) return false;
  if (!matches(rule.verbs, request.verb)) return false;
  const resourceNames = rule.resourceNames ?? [];
  if (resourceNames.length === 0) return true;
  return request.name !== undefined && resourceNames.includes(request.name);
}

/** A rule bound to a subject, and where it applies: a namespace, or every one (a ClusterRoleBinding). */
export interface GrantedRule {
  readonly rule: PolicyRule;
  readonly namespace: string | undefined;
}

/** Every rule the RBAC objects give `subject`. */
export function grantedRules(objects: readonly RbacObject[], subject: Subject): GrantedRule[] {
  return bindingsOf(objects).flatMap((binding) => {
    if (!binding.subjects.some((candidate) => names(candidate, subject))) return [];
    const role = objects.find(
      (object) =>
        object.kind === binding.roleKind &&
        object.metadata.name === binding.roleName &&
        (binding.roleKind === "ClusterRole" || object.metadata.namespace === binding.namespace),
    );
    // A RoleBinding grants only in its own namespace, whatever it refers to.
    return role === undefined ? [] : rulesOf(role).map((rule) => ({ rule, namespace: binding.namespace }));
  });
}

/** Whether the RBAC objects let `subject` make `request`. */
export function allows(objects: readonly RbacObject[], subject: Subject, request: Request): boolean {
  return grantedRules(objects, subject).some(
    ({ rule, namespace }) =>
      (namespace === undefined || namespace === request.namespace) && ruleAllows(rule, request),
  );
}
