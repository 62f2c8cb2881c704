/**
 * Who a request of the fake API server runs as, and whether RBAC lets it: the caller from its bearer
 * token (`FakeKubernetes.kubeConfig(user)` gives each known user one; no token is the administrator),
 * the request's attributes read from its path as kube-apiserver's RequestInfo does (verb, API group,
 * resource/subresource, namespace, name), impersonation (`Impersonate-User`, as `kubectl --as` sends
 * it), and SelfSubjectAccessReview. Decisions come from the Role, ClusterRole, RoleBinding and ClusterRoleBinding
 * objects stored in the fake; members of `system:masters` may do everything, as in a real cluster.
 */
import { allows, type RbacObject, type Request } from "../support/rbac.ts";
import { apiPathOf } from "./kubernetes-resources.ts";
import { asObject, type JsonObject } from "./kubernetes-rules.ts";
import { badRequest, forbidden, unauthorized } from "./kubernetes-status.ts";

export interface FakeUser {
  readonly name: string;
  readonly groups: readonly string[];
}

/** The default caller: a cluster administrator, as a kind cluster's kubeconfig is. */
export const CLUSTER_ADMIN: FakeUser = {
  name: "kubernetes-admin",
  groups: ["system:masters", "system:authenticated"],
};

const RBAC_KINDS = new Set(["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"]);

/** The bearer token of a user of the fake: its name. */
export function tokenOf(user: FakeUser): string {
  return `fake-user:${user.name}`;
}

export interface Authorizer {
  /** The user the request runs as: the caller, or whom it impersonates (if it may). */
  userOf(headers: Readonly<Record<string, string | string[] | undefined>>): FakeUser;
  /** Throws 403 Forbidden when `user` may not make `request`. */
  check(user: FakeUser, request: Request): void;
  /** The answer to a SelfSubjectAccessReview `body` made by `user`. */
  review(user: FakeUser, body: unknown): JsonObject;
}

export function createAuthorizer(
  users: readonly FakeUser[],
  stored: () => readonly JsonObject[],
): Authorizer {
  const rbacObjects = () => stored().filter((object) => RBAC_KINDS.has(String(object.kind))) as RbacObject[];
  const may = (user: FakeUser, request: Request) =>
    user.groups.includes("system:masters") ||
    allows(rbacObjects(), { user: user.name, groups: user.groups }, request);
  const check = (user: FakeUser, request: Request) => {
    if (!may(user, request)) throw forbidden(user.name, request);
  };

  return {
    userOf(headers) {
      const authorization = headers.authorization;
      const token = (Array.isArray(authorization) ? authorization[0] : authorization)?.replace(
        /^Bearer /,
        "",
      );
      const caller = token === undefined ? CLUSTER_ADMIN : users.find((user) => tokenOf(user) === token);
      if (caller === undefined) throw unauthorized();
      const header = headers["impersonate-user"];
      const impersonated = Array.isArray(header) ? header[0] : header;
      if (impersonated === undefined || impersonated === "") return caller;
      const account = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(impersonated);
      if (account === null) {
        check(caller, { verb: "impersonate", group: "", resource: "users", name: impersonated });
        return { name: impersonated, groups: ["system:authenticated"] };
      }
      const [, namespace = "", name = ""] = account;
      check(caller, { verb: "impersonate", group: "", resource: "serviceaccounts", name, namespace });
      // With no Impersonate-Group, a service account gets its own groups, as kube-apiserver gives them.
      return {
        name: impersonated,
        groups: ["system:serviceaccounts", `system:serviceaccounts:${namespace}`, "system:authenticated"],
      };
    },
    check,
    review(user, body) {
      const spec = asObject(asObject(body).spec);
      const attributes = asObject(spec.resourceAttributes);
      if (spec.resourceAttributes === undefined) {
        throw badRequest("spec.resourceAttributes: Required value: this fake answers resource reviews only");
      }
      const text = (key: string) => (typeof attributes[key] === "string" ? (attributes[key] as string) : "");
      const subresource = text("subresource");
      const request: Request = {
        verb: text("verb"),
        group: text("group"),
        resource: subresource === "" ? text("resource") : `${text("resource")}/${subresource}`,
        ...(text("name") === "" ? {} : { name: text("name") }),
        ...(text("namespace") === "" ? {} : { namespace: text("namespace") }),
      };
      const allowed = may(user, request);
      return {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SelfSubjectAccessReview",
        metadata: { creationTimestamp: null },
        spec,
        status: allowed ? { allowed: true, reason: "allowed by the fake's RBAC" } : { allowed: false },
      };
    },
  };
}

/**
 * The attributes RBAC sees for a request, from its method and path (kube-apiserver's RequestInfo);
 * undefined for paths that are not resource requests.
 */
export function requestOf(
  method: string,
  pathname: string,
  query: Readonly<Record<string, string>>,
): Request | undefined {
  const parts = apiPathOf(pathname);
  if (parts === undefined || parts.version === undefined) return undefined;
  const { group, namespace } = parts;
  const [resource, name, subresource] = parts.scoped;
  if (resource === undefined) return undefined;
  const verb = verbOf(method, name !== undefined, query);
  return {
    verb,
    group,
    resource: subresource === undefined ? resource : `${resource}/${subresource}`,
    ...(name === undefined ? {} : { name }),
    ...(namespace === undefined ? {} : { namespace }),
  };
}

function verbOf(method: string, named: boolean, query: Readonly<Record<string, string>>): string {
  switch (method) {
    case "GET":
      if (named) return "get";
      return query.watch === "true" || query.watch === "1" ? "watch" : "list";
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return named ? "delete" : "deletecollection";
    default:
      return method.toLowerCase();
  }
}
