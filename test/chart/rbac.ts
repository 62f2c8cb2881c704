/**
 * Kubernetes RBAC's authorisation rule, evaluated over rendered objects: may this service account do
 * this verb on this resource (and name) in this namespace? Used to prove that each component has what
 * it calls and nothing that the chart did not mean to give.
 */
import type { K8sObject } from "./render.ts";

export interface Request {
  readonly verb: string;
  readonly group: string;
  readonly resource: string;
  /** Omitted for requests that carry no name (list, watch, create). */
  readonly name?: string;
  /** Omitted for cluster-scoped resources. */
  readonly namespace?: string;
}

export interface Subject {
  readonly serviceAccount: string;
  readonly namespace: string;
}

export interface PolicyRule {
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly verbs: readonly string[];
  readonly resourceNames?: readonly string[];
}

interface Binding {
  readonly roleKind: "Role" | "ClusterRole";
  readonly roleName: string;
  /** The binding's namespace; undefined for a ClusterRoleBinding (every namespace). */
  readonly namespace: string | undefined;
  readonly subjects: readonly Subject[];
}

function bindingsOf(objects: readonly K8sObject[]): Binding[] {
  return objects
    .filter((object) => object.kind === "RoleBinding" || object.kind === "ClusterRoleBinding")
    .map((object) => {
      const roleRef = object.roleRef as { kind: "Role" | "ClusterRole"; name: string };
      const subjects = ((object.subjects ?? []) as { kind: string; name: string; namespace?: string }[])
        .filter((subject) => subject.kind === "ServiceAccount")
        .map((subject) => ({ serviceAccount: subject.name, namespace: subject.namespace ?? "" }));
      return {
        roleKind: roleRef.kind,
        roleName: roleRef.name,
        namespace: object.kind === "RoleBinding" ? object.metadata.namespace : undefined,
        subjects,
      };
    });
}

export function rulesOf(role: K8sObject): readonly PolicyRule[] {
  return (role.rules ?? []) as PolicyRule[];
}

function ruleAllows(rule: PolicyRule, request: Request): boolean {
  const matches = (values: readonly string[] | undefined, value: string) =>
    (values ?? []).includes(value) || (values ?? []).includes("*");
  if (!matches(rule.apiGroups, request.group)) return false;
  if (!matches(rule.resources, request.resource)) return false;
  if (!matches(rule.verbs, request.verb)) return false;
  const names = rule.resourceNames ?? [];
  if (names.length === 0) return true;
  return request.name !== undefined && names.includes(request.name);
}

/** Whether the rendered RBAC lets `subject` make `request`. */
export function allows(objects: readonly K8sObject[], subject: Subject, request: Request): boolean {
  return bindingsOf(objects).some((binding) => {
    const bound = binding.subjects.some(
      (candidate) =>
        candidate.serviceAccount === subject.serviceAccount && candidate.namespace === subject.namespace,
    );
    if (!bound) return false;
    // A RoleBinding grants only in its own namespace, whatever it refers to.
    if (binding.namespace !== undefined && binding.namespace !== request.namespace) return false;
    const role = objects.find(
      (object) =>
        object.kind === binding.roleKind &&
        object.metadata.name === binding.roleName &&
        (binding.roleKind === "ClusterRole" || object.metadata.namespace === binding.namespace),
    );
    return role !== undefined && rulesOf(role).some((rule) => ruleAllows(rule, request));
  });
}
