// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are the text of request paths in the code, not templates.
/**
 * The permission list of src/k8s/permissions.ts against the code: every Kubernetes call a component's
 * code makes (a REST request of runtime/kube.ts, `{ method: "GET", path: `/api/v1/…` }` written out
 * in one object; a `@kubernetes/client-node` API method; or an informer's collection path, which it
 * lists and watches) is listed for that component, and everything listed is called. The chart tests
 * check the chart against the same list.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  AuthorizationV1Api,
  BatchV1Api,
  CoreV1Api,
} from "@kubernetes/client-node";
import { describe, expect, test } from "vitest";
import {
  diagnosePermissions,
  type Permission,
  STACK_COMPONENTS,
  stackPermissions,
} from "../../src/k8s/permissions.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** The API classes the code uses, and their API group. */
const API_CLASSES: ReadonlyArray<readonly [{ prototype: object }, string]> = [
  [CoreV1Api, ""],
  [BatchV1Api, "batch"],
  [AppsV1Api, "apps"],
  [AdmissionregistrationV1Api, "admissionregistration.k8s.io"],
  [AuthorizationV1Api, "authorization.k8s.io"],
];

const METHOD_GROUPS = new Map(
  API_CLASSES.flatMap(([api, group]) =>
    Object.getOwnPropertyNames(api.prototype)
      .filter((name) => name !== "constructor" && !name.endsWith("WithHttpInfo"))
      .map((name) => [name, group] as const),
  ),
);

/** client-node's method prefixes and the RBAC verbs they are authorised as. */
const VERBS: ReadonlyArray<readonly [string, string]> = [
  ["connectGet", "get"],
  ["deleteCollection", "deletecollection"],
  ["read", "get"],
  ["list", "list"],
  ["create", "create"],
  ["patch", "patch"],
  ["delete", "delete"],
  ["replace", "update"],
];
const SUBRESOURCES: ReadonlyArray<readonly [string, string]> = [
  ["ProxyWithPath", "proxy"],
  ["Proxy", "proxy"],
  ["Status", "status"],
  ["Log", "log"],
  ["Eviction", "eviction"],
];

/** `readNamespacedPodLog` → `get /pods/log`; undefined for a name that is not an API call. */
function callOf(method: string): string | undefined {
  const group = METHOD_GROUPS.get(method);
  const verb = VERBS.find(([prefix]) => method.startsWith(prefix));
  if (group === undefined || verb === undefined) return undefined;
  let kind = method
    .slice(verb[0].length)
    .replace(/^Namespaced/, "")
    .replace(/ForAllNamespaces$/, "");
  let subresource = "";
  for (const [suffix, name] of SUBRESOURCES) {
    if (kind.endsWith(suffix) && kind.length > suffix.length) {
      kind = kind.slice(0, -suffix.length);
      subresource = `/${name}`;
      break;
    }
  }
  return `${verb[1]} ${group}/${kind.toLowerCase()}s${subresource}`;
}

/** The RBAC verbs of HTTP methods, on one object and on a collection. */
const REQUEST_VERBS: Readonly<Record<string, readonly [object: string, collection: string]>> = {
  GET: ["get", "list"],
  POST: ["create", "create"],
  PUT: ["update", "update"],
  PATCH: ["patch", "patch"],
  DELETE: ["delete", "deletecollection"],
};

/**
 * A REST path of the API server (template placeholders for names): group, resource, object or not,
 * subresource (and the path behind a proxy).
 */
const RESOURCE_PATH =
  /^\/api(?:s\/([\w.]+))?\/v1\/(?:namespaces\/\$\{[^}]+\}\/)?([a-z]+)(\/\$\{[^}]+\}(?:\/([a-z]+)(?:\/\$\{[^}]+\})?)?)?$/;

/** `GET` of `/api/v1/namespaces/${ns}/pods/${name}/log` → `get /pods/log`; undefined for another path. */
function requestOf(method: string, path: string): string | undefined {
  const verbs = REQUEST_VERBS[method];
  const match = RESOURCE_PATH.exec(path);
  if (verbs === undefined || match === null) return undefined;
  const [, group = "", resource, object, subresource] = match;
  const verb = object === undefined ? verbs[1] : verbs[0];
  return `${verb} ${group}/${resource}${subresource === undefined ? "" : `/${subresource}`}`;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith(".ts") ? [path] : [];
  });
}

/**
 * The calls in the code under `folder`: REST requests, API methods, and `list` and `watch` for each
 * informer's collection path.
 */
function callsIn(folder: string): Map<string, string[]> {
  const calls = new Map<string, string[]>();
  const add = (call: string, where: string) => calls.set(call, [...(calls.get(call) ?? []), where]);
  for (const path of sourceFiles(join(ROOT, folder))) {
    // Comments may name calls (`api.readNamespacedSecret(params, options)`) that no code makes.
    let text = readFileSync(path, "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/^\s*\/\/.*$/gm, "");
    const where = relative(ROOT, path);
    text = text.replace(
      /method: "([A-Z]+)",\s*path: ([`"])(.*?)\2/g,
      (request, method: string, _quote: string, target: string) => {
        const call = requestOf(method, target);
        if (call === undefined) return request;
        add(call, where);
        return "";
      },
    );
    for (const match of text.matchAll(/\.([a-zA-Z]+)\(/g)) {
      const call = callOf(match[1] ?? "");
      if (call !== undefined) add(call, where);
    }
    // An informer's collection: namespaced (`…/namespaces/${namespace}/jobs`) or cluster-scoped.
    for (const match of text.matchAll(
      /\/api(?:s\/([\w.]+))?\/v1\/(?:namespaces\/\$\{[^}]+\}\/)?([a-z]+)[`"]/g,
    )) {
      add(`list ${match[1] ?? ""}/${match[2]}`, where);
      add(`watch ${match[1] ?? ""}/${match[2]}`, where);
    }
  }
  return calls;
}

const listed = (permissions: readonly Permission[]) =>
  [
    ...new Set(
      permissions.map((permission) => `${permission.verb} ${permission.group}/${permission.resource}`),
    ),
  ].sort();

const NAMES = { agentTokenSecret: "token", tlsSecret: "tls", webhookConfiguration: "hook" };

describe("the permission list", () => {
  test("reads client-node's method names as RBAC requests", () => {
    expect(callOf("readNamespacedJob")).toBe("get batch/jobs");
    expect(callOf("replaceNamespacedSecret")).toBe("update /secrets");
    expect(callOf("readNamespacedPodLog")).toBe("get /pods/log");
    expect(callOf("connectGetNamespacedServiceProxyWithPath")).toBe("get /services/proxy");
    expect(callOf("patchMutatingWebhookConfiguration")).toBe(
      "patch admissionregistration.k8s.io/mutatingwebhookconfigurations",
    );
    expect(callOf("listNamespacedPodTemplate")).toBe("list /podtemplates");
    expect(callOf("replaceAll")).toBeUndefined();
    expect(callOf("deleteJob")).toBeUndefined();
  });

  test("reads REST requests as RBAC requests", () => {
    expect(requestOf("GET", "/apis/batch/v1/namespaces/${ns}/jobs/${name}")).toBe("get batch/jobs");
    expect(requestOf("GET", "/api/v1/namespaces/${ns}/events")).toBe("list /events");
    expect(requestOf("POST", "/api/v1/namespaces/${ns}/events")).toBe("create /events");
    expect(requestOf("PUT", "/api/v1/namespaces/${ns}/secrets/${name}")).toBe("update /secrets");
    expect(requestOf("GET", "/api/v1/namespaces/${ns}/pods/${name}/log")).toBe("get /pods/log");
    expect(requestOf("GET", "/api/v1/namespaces/${ns}/services/${name}/proxy/${path}")).toBe(
      "get /services/proxy",
    );
    expect(requestOf("DELETE", "/apis/batch/v1/namespaces/${ns}/jobs")).toBe("deletecollection batch/jobs");
    expect(
      requestOf("PATCH", "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${name}"),
    ).toBe("patch admissionregistration.k8s.io/mutatingwebhookconfigurations");
    expect(requestOf("GET", "https://example.com/v1/jobs")).toBeUndefined();
    expect(requestOf("OPTIONS", "/api/v1/namespaces/${ns}/pods")).toBeUndefined();
  });

  test.each(STACK_COMPONENTS)("of the %s is exactly the calls its code makes", (component) => {
    const calls = callsIn(component);
    expect([...calls.keys()].sort()).toEqual(listed(stackPermissions(component, NAMES)));
  });

  test("of diagnose is exactly the calls its code makes, and impersonation", () => {
    const calls = callsIn("diagnose");
    const declared = diagnosePermissions({ tlsSecret: "tls", webhookService: "https:hook:443" }).filter(
      // Impersonation is a header on the access reviews, not a call of its own.
      (permission) => permission.verb !== "impersonate",
    );
    expect([...calls.keys()].sort()).toEqual(listed(declared));
  });

  test("leaves no Kubernetes call in code that belongs to no component", () => {
    for (const folder of ["cli", "runtime", "src"]) {
      expect(Object.fromEntries(callsIn(folder)), folder).toEqual({});
    }
  });
});
