/**
 * A small Kubernetes API server for tests: fastify on 127.0.0.1, plain HTTP, no auth, that the real
 * `@kubernetes/client-node` talks to. It keeps objects in memory with one resourceVersion counter (as
 * etcd does), validates every written object against the full OpenAPI document, answers errors as
 * Kubernetes `Status` objects (404 NotFound, 409 AlreadyExists / Conflict, 422 Invalid, 429 with
 * `Retry-After`, 500), and streams watches as newline-delimited events.
 *
 * Served: core/v1 Secrets and PodTemplates (namespaced), admissionregistration.k8s.io/v1
 * MutatingWebhookConfigurations (cluster-scoped); each with get, list, watch, create, update (PUT),
 * patch (merge-patch and json-patch) and delete. More resources are entries in `kubernetes-resources.ts`.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { isDeepStrictEqual } from "node:util";
import { KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import jsonpatch, { type Operation } from "fast-json-patch";
import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
import {
  apiVersionOf,
  FAKE_RESOURCES,
  type FakeResource,
  parseResourcePath,
  type ResourcePath,
  resourceByKind,
} from "./kubernetes-resources.ts";
import { asObject, defaulted, type JsonObject, writeProblems } from "./kubernetes-rules.ts";
import { type ObjectPredicate, parseFieldSelector, parseLabelSelector } from "./kubernetes-selectors.ts";
import {
  alreadyExists,
  badRequest,
  conflict,
  expired,
  injectedFailure,
  invalid,
  methodNotAllowed,
  notFound,
  patchFailed,
  StatusError,
  success,
  unknownPath,
  unsupportedMediaType,
} from "./kubernetes-status.ts";

export interface FakeRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly path: string;
  readonly body?: unknown;
}

export interface FakeKubernetes {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** A client configuration pointing at this server (no auth, no TLS), namespace `default`. */
  kubeConfig(): KubeConfig;
  /** Create or replace, as a test fixture: validated, bumps resourceVersion, emits a watch event. */
  put<T extends KubernetesObject>(object: T): T;
  /** Deletes an object that exists (throws otherwise) and emits a DELETED watch event. */
  remove(apiVersion: string, kind: string, namespace: string | undefined, name: string): void;
  get(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
  ): KubernetesObject | undefined;
  /** Every request received, in order. */
  readonly requests: ReadonlyArray<FakeRequest>;
  /**
   * The next `count` requests (those `match` accepts, when given) fail with `status`: 429 with
   * `Retry-After: retryAfterSeconds`, 500 or 503.
   */
  failNext(
    count: number,
    status: 429 | 500 | 503,
    options?: { retryAfterSeconds?: number; match?: (method: string, path: string) => boolean },
  ): void;
  close(): Promise<void>;
}

type EventType = "ADDED" | "MODIFIED" | "DELETED";

interface StoredEvent {
  readonly resourceVersion: number;
  readonly resource: FakeResource;
  readonly type: EventType;
  readonly object: JsonObject;
}

interface Watcher {
  readonly resource: FakeResource;
  readonly matches: ObjectPredicate;
  readonly response: ServerResponse;
  readonly timer: NodeJS.Timeout | undefined;
}

interface InjectedFailure {
  remaining: number;
  readonly status: 429 | 500 | 503;
  readonly retryAfterSeconds: number | undefined;
  readonly match: ((method: string, path: string) => boolean) | undefined;
}

export interface FakeKubernetesOptions {
  /** Events kept for watches that resume from a resourceVersion; older versions get 410 Expired. */
  readonly watchHistory?: number;
}

const JSON_TYPES = new Set([
  "application/json",
  "application/merge-patch+json",
  "application/json-patch+json",
]);

export async function startFakeKubernetes(options: FakeKubernetesOptions = {}): Promise<FakeKubernetes> {
  const resources = FAKE_RESOURCES;
  const historyLimit = options.watchHistory ?? 10_000;
  const objects = new Map<string, JsonObject>();
  const history: StoredEvent[] = [];
  const watchers = new Set<Watcher>();
  const failures: InjectedFailure[] = [];
  const requests: FakeRequest[] = [];
  let resourceVersion = 1;

  const keyOf = (resource: FakeResource, namespace: string | undefined, name: string) =>
    `${resource.plural}.${resource.group}/${namespace ?? ""}/${name}`;

  /** Stores (or deletes) with the next resourceVersion and tells the watchers. */
  function commit(resource: FakeResource, type: EventType, object: JsonObject): JsonObject {
    resourceVersion += 1;
    const metadata = asObject(object.metadata);
    const stored = { ...object, metadata: { ...metadata, resourceVersion: String(resourceVersion) } };
    const key = keyOf(resource, metadata.namespace as string | undefined, metadata.name as string);
    if (type === "DELETED") objects.delete(key);
    else objects.set(key, stored);
    const event = { resourceVersion, resource, type, object: stored };
    history.push(event);
    if (history.length > historyLimit) history.shift();
    for (const watcher of watchers) {
      if (watcher.resource === resource && watcher.matches(stored)) sendEvent(watcher.response, type, stored);
    }
    return structuredClone(stored);
  }

  function find(resource: FakeResource, namespace: string | undefined, name: string): JsonObject | undefined {
    return objects.get(keyOf(resource, resource.namespaced ? namespace : undefined, name));
  }

  function checkedForWrite(resource: FakeResource, object: JsonObject, previous?: JsonObject): JsonObject {
    const result = defaulted(resource, object);
    const problems = writeProblems(resource, result, previous);
    if (problems.length > 0) throw invalid(resource, String(asObject(result.metadata).name ?? ""), problems);
    return result;
  }

  // --- the verbs ---

  function create(target: ResourcePath, body: unknown): JsonObject {
    const { resource } = target;
    const object = withTypeMeta(resource, requireObject(body));
    const metadata = { ...asObject(object.metadata) };
    if (metadata.resourceVersion !== undefined && metadata.resourceVersion !== "") {
      throw badRequest("resourceVersion should not be set on objects to be created");
    }
    if (resource.namespaced) {
      if (metadata.namespace !== undefined && metadata.namespace !== target.namespace) {
        throw badRequest(
          "the namespace of the provided object does not match the namespace sent on the request",
        );
      }
      metadata.namespace = target.namespace;
    }
    if (typeof metadata.name !== "string" || metadata.name === "") {
      if (typeof metadata.generateName !== "string" || metadata.generateName === "") {
        throw invalid(resource, "", ["metadata.name: Required value: name or generateName is required"]);
      }
      metadata.name = `${metadata.generateName}${randomBytes(3).toString("hex").slice(0, 5)}`;
    }
    const name = metadata.name as string;
    if (find(resource, target.namespace, name) !== undefined) throw alreadyExists(resource, name);
    const checked = checkedForWrite(resource, {
      ...object,
      metadata: { ...metadata, uid: randomUUID(), creationTimestamp: timestamp() },
    });
    return commit(resource, "ADDED", checked);
  }

  function update(target: ResourcePath, name: string, body: unknown): JsonObject {
    const { resource } = target;
    const object = withTypeMeta(resource, requireObject(body));
    const metadata = asObject(object.metadata);
    if (metadata.name !== undefined && metadata.name !== name) {
      throw badRequest(
        `the name of the object (${String(metadata.name)}) does not match the name on the URL (${name})`,
      );
    }
    if (resource.namespaced && metadata.namespace !== undefined && metadata.namespace !== target.namespace) {
      throw badRequest(
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
    const existing = find(resource, target.namespace, name);
    if (existing === undefined) throw notFound(resource, name);
    const existingVersion = asObject(existing.metadata).resourceVersion;
    if (metadata.resourceVersion !== undefined && metadata.resourceVersion !== existingVersion) {
      throw conflict(resource, name);
    }
    return replaceStored(resource, existing, object);
  }

  function patch(target: ResourcePath, name: string, body: unknown, contentType: string): JsonObject {
    const { resource } = target;
    const existing = find(resource, target.namespace, name);
    if (existing === undefined) throw notFound(resource, name);
    let patched: JsonObject;
    if (contentType === "application/merge-patch+json") {
      patched = requireObject(mergePatch(existing, body));
    } else if (contentType === "application/json-patch+json") {
      if (!Array.isArray(body)) throw badRequest("a JSON patch must be an array of operations");
      try {
        patched = jsonpatch.applyPatch(
          structuredClone(existing),
          body as Operation[],
          true,
          false,
        ).newDocument;
      } catch (error) {
        throw patchFailed((error as Error).message.split("\n")[0] ?? "the JSON patch cannot be applied");
      }
    } else {
      throw unsupportedMediaType(contentType);
    }
    const before = asObject(existing.metadata);
    const after = asObject(patched.metadata);
    // A resourceVersion in the patch is a precondition, as in kube-apiserver.
    if (after.resourceVersion !== before.resourceVersion) throw conflict(resource, name);
    if (after.name !== before.name || after.namespace !== before.namespace) {
      throw invalid(resource, name, ["metadata.name: Invalid value: field is immutable"]);
    }
    return replaceStored(resource, existing, patched);
  }

  /** An update that changes nothing stores nothing and keeps the resourceVersion, as etcd does. */
  function replaceStored(resource: FakeResource, existing: JsonObject, object: JsonObject): JsonObject {
    const before = asObject(existing.metadata);
    const merged = {
      ...object,
      metadata: {
        ...asObject(object.metadata),
        name: before.name,
        ...(before.namespace === undefined ? {} : { namespace: before.namespace }),
        uid: before.uid,
        creationTimestamp: before.creationTimestamp,
        resourceVersion: before.resourceVersion,
      },
    };
    const checked = checkedForWrite(resource, merged, existing);
    if (isDeepStrictEqual(checked, existing)) return structuredClone(existing);
    return commit(resource, "MODIFIED", checked);
  }

  function remove(target: ResourcePath, name: string): JsonObject {
    const existing = find(target.resource, target.namespace, name);
    if (existing === undefined) throw notFound(target.resource, name);
    commit(target.resource, "DELETED", existing);
    return success(target.resource, name) as unknown as JsonObject;
  }

  function list(target: ResourcePath, query: Readonly<Record<string, string>>): JsonObject {
    const matches = selectorOf(target, query);
    const items = [...objects.values()]
      .filter((object) => isOf(target.resource, object) && matches(object))
      .sort(byNamespaceAndName)
      .map(({ apiVersion: _apiVersion, kind: _kind, ...item }) => structuredClone(item));
    return {
      apiVersion: apiVersionOf(target.resource),
      kind: `${target.resource.kind}List`,
      metadata: { resourceVersion: String(resourceVersion) },
      items,
    };
  }

  function watch(target: ResourcePath, query: Readonly<Record<string, string>>, reply: FastifyReply): void {
    const matches = selectorOf(target, query);
    const from = query.resourceVersion ?? "";
    if (!/^\d*$/.test(from)) throw badRequest(`resourceVersion: Invalid value: ${JSON.stringify(from)}`);
    const response = reply.raw;
    reply.hijack();
    response.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    // Clients wait for the headers before they read events; the API server sends them at once.
    response.flushHeaders();
    if (from === "" || from === "0") {
      for (const object of [...objects.values()].sort(byNamespaceAndName)) {
        if (isOf(target.resource, object) && matches(object)) sendEvent(response, "ADDED", object);
      }
    } else {
      const version = Number(from);
      const oldest = history[0]?.resourceVersion ?? resourceVersion + 1;
      if (version < oldest - 1) {
        response.end(`${JSON.stringify({ type: "ERROR", object: expired(from) })}\n`);
        return;
      }
      for (const event of history) {
        if (event.resourceVersion > version && event.resource === target.resource && matches(event.object)) {
          sendEvent(response, event.type, event.object);
        }
      }
    }
    const timeoutSeconds = Number(query.timeoutSeconds ?? "0");
    const watcher: Watcher = {
      resource: target.resource,
      matches,
      response,
      timer: timeoutSeconds > 0 ? setTimeout(() => stopWatcher(watcher), timeoutSeconds * 1000) : undefined,
    };
    watchers.add(watcher);
    response.on("close", () => stopWatcher(watcher));
  }

  function stopWatcher(watcher: Watcher): void {
    if (!watchers.delete(watcher)) return;
    if (watcher.timer !== undefined) clearTimeout(watcher.timer);
    watcher.response.end();
  }

  function selectorOf(target: ResourcePath, query: Readonly<Record<string, string>>): ObjectPredicate {
    let labels: ObjectPredicate;
    let fields: ObjectPredicate;
    try {
      labels = parseLabelSelector(query.labelSelector);
      fields = parseFieldSelector(query.fieldSelector);
    } catch (error) {
      throw badRequest((error as Error).message);
    }
    return (object) =>
      (target.namespace === undefined || asObject(object.metadata).namespace === target.namespace) &&
      labels(object) &&
      fields(object);
  }

  // --- HTTP ---

  const app = Fastify({ logger: false, forceCloseConnections: true });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "string" }, (_request, body, done) => done(null, body));

  app.route({
    method: ["GET", "POST", "PUT", "PATCH", "DELETE"],
    url: "/*",
    handler: async (request, reply) => {
      const contentType = (request.headers["content-type"] ?? "").split(";")[0]?.trim() ?? "";
      let body: unknown;
      try {
        body = parseBody(request.body, contentType);
        requests.push({ method: request.method, path: request.url, ...(body === undefined ? {} : { body }) });
        const injected = takeFailure(request.method, request.url);
        if (injected !== undefined) throw injected;
        const answer = route(request, reply, body, contentType);
        if (answer === undefined) return reply;
        return reply.code(request.method === "POST" ? 201 : 200).send(answer.body);
      } catch (error) {
        if (!(error instanceof StatusError)) throw error;
        return reply.code(error.status.code).headers(error.headers).send(error.status);
      }
    },
  });

  function route(
    request: FastifyRequest,
    reply: FastifyReply,
    body: unknown,
    contentType: string,
  ): { body: unknown } | undefined {
    const url = new URL(request.url, "http://fake");
    const target = parseResourcePath(resources, url.pathname);
    if (target === undefined) throw unknownPath(url.pathname);
    const query = Object.fromEntries(url.searchParams);
    const { name } = target;
    switch (request.method) {
      case "GET":
        if (name !== undefined) return { body: typed(target.resource, getOrThrow(target, name)) };
        if (query.watch === "true" || query.watch === "1") {
          watch(target, query, reply);
          return undefined;
        }
        return { body: list(target, query) };
      case "POST":
        // Objects of a namespaced resource are created in a namespace; `/api/v1/secrets` only lists.
        if (name === undefined && (target.namespace !== undefined || !target.resource.namespaced)) {
          return { body: create(target, body) };
        }
        break;
      case "PUT":
        if (name !== undefined) return { body: update(target, name, body) };
        break;
      case "PATCH":
        if (name !== undefined) return { body: patch(target, name, body, contentType) };
        break;
      case "DELETE":
        if (name !== undefined) return { body: remove(target, name) };
        break;
    }
    throw methodNotAllowed(request.method, url.pathname);
  }

  function getOrThrow(target: ResourcePath, name: string): JsonObject {
    const found = find(target.resource, target.namespace, name);
    if (found === undefined) throw notFound(target.resource, name);
    return structuredClone(found);
  }

  function takeFailure(method: string, path: string): StatusError | undefined {
    const index = failures.findIndex((failure) => failure.match === undefined || failure.match(method, path));
    const failure = failures[index];
    if (failure === undefined) return undefined;
    failure.remaining -= 1;
    if (failure.remaining <= 0) failures.splice(index, 1);
    return injectedFailure(failure.status, failure.retryAfterSeconds);
  }

  await app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = app.server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    requests,
    kubeConfig() {
      const config = new KubeConfig();
      config.loadFromOptions({
        clusters: [{ name: "fake", server: url, skipTLSVerify: true }],
        users: [{ name: "fake" }],
        contexts: [{ name: "fake", cluster: "fake", user: "fake", namespace: "default" }],
        currentContext: "fake",
      });
      return config;
    },
    put<T extends KubernetesObject>(object: T): T {
      if (object.apiVersion === undefined || object.kind === undefined) {
        throw new Error("put: the object needs apiVersion and kind");
      }
      const resource = resourceByKind(resources, object.apiVersion, object.kind);
      const metadata = asObject(object.metadata);
      if (typeof metadata.name !== "string") throw new Error("put: the object needs metadata.name");
      if (resource.namespaced !== (typeof metadata.namespace === "string")) {
        throw new Error(
          `put: ${resource.kind} is ${resource.namespaced ? "namespaced: give metadata.namespace" : "cluster-scoped: give no namespace"}`,
        );
      }
      const existing = find(resource, metadata.namespace as string | undefined, metadata.name);
      const candidate = {
        ...(structuredClone(object) as JsonObject),
        metadata: {
          ...metadata,
          uid: asObject(existing?.metadata).uid ?? randomUUID(),
          creationTimestamp: asObject(existing?.metadata).creationTimestamp ?? timestamp(),
        },
      };
      let checked: JsonObject;
      try {
        checked = checkedForWrite(resource, candidate, existing);
      } catch (error) {
        throw new Error(`put: ${(error as Error).message}`);
      }
      return commit(resource, existing === undefined ? "ADDED" : "MODIFIED", checked) as T;
    },
    remove(apiVersion, kind, namespace, name) {
      const resource = resourceByKind(resources, apiVersion, kind);
      const existing = find(resource, namespace, name);
      if (existing === undefined) {
        throw new Error(
          `remove: ${kind} ${namespace === undefined ? name : `${namespace}/${name}`} does not exist`,
        );
      }
      commit(resource, "DELETED", existing);
    },
    get(apiVersion, kind, namespace, name) {
      const found = find(resourceByKind(resources, apiVersion, kind), namespace, name);
      return found === undefined ? undefined : (structuredClone(found) as KubernetesObject);
    },
    failNext(count, status, options = {}) {
      if (count <= 0) return;
      failures.push({
        remaining: count,
        status,
        retryAfterSeconds: options.retryAfterSeconds,
        match: options.match,
      });
    },
    async close() {
      for (const watcher of [...watchers]) stopWatcher(watcher);
      await app.close();
    },
  };
}

function parseBody(raw: unknown, contentType: string): unknown {
  if (typeof raw !== "string" || raw === "") return undefined;
  if (!JSON_TYPES.has(contentType)) {
    if (contentType.endsWith("+json") || contentType.endsWith("+yaml"))
      throw unsupportedMediaType(contentType);
    throw unsupportedMediaType(contentType || "(none)");
  }
  try {
    return JSON.parse(raw);
  } catch (error) {
    throw badRequest(`the body is not valid JSON: ${(error as Error).message}`);
  }
}

function requireObject(value: unknown): JsonObject {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw badRequest("the body must be a JSON object");
  }
  return value as JsonObject;
}

/** apiVersion and kind from the path when the body leaves them out; a mismatch is refused. */
function withTypeMeta(resource: FakeResource, object: JsonObject): JsonObject {
  const apiVersion = apiVersionOf(resource);
  if (object.apiVersion !== undefined && object.apiVersion !== apiVersion) {
    throw badRequest(
      `the API version in the data (${String(object.apiVersion)}) does not match the expected API version (${apiVersion})`,
    );
  }
  if (object.kind !== undefined && object.kind !== resource.kind) {
    throw badRequest(
      `the kind in the data (${String(object.kind)}) does not match the expected kind (${resource.kind})`,
    );
  }
  return { ...object, apiVersion, kind: resource.kind };
}

function typed(resource: FakeResource, object: JsonObject): JsonObject {
  return { ...object, apiVersion: apiVersionOf(resource), kind: resource.kind };
}

function isOf(resource: FakeResource, object: JsonObject): boolean {
  return object.kind === resource.kind && object.apiVersion === apiVersionOf(resource);
}

function byNamespaceAndName(a: JsonObject, b: JsonObject): number {
  const key = (object: JsonObject) =>
    `${String(asObject(object.metadata).namespace ?? "")}/${String(asObject(object.metadata).name)}`;
  return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return structuredClone(patch);
  const result: JsonObject =
    typeof target === "object" && target !== null && !Array.isArray(target)
      ? { ...(target as JsonObject) }
      : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

function sendEvent(response: ServerResponse, type: EventType, object: JsonObject): void {
  response.write(`${JSON.stringify({ type, object })}\n`);
}

/** RFC 3339 with whole seconds, as Kubernetes writes creationTimestamp. */
function timestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}
