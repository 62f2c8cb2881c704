/**
 * A small Kubernetes API server for tests: fastify on 127.0.0.1, plain HTTP, no auth, that the real
 * `@kubernetes/client-node` talks to. It keeps objects in memory with one resourceVersion counter (as
 * etcd does), validates every written object against the full OpenAPI document, answers errors as
 * Kubernetes `Status` objects (404 NotFound, 409 AlreadyExists / Conflict, 422 Invalid, 429 with
 * `Retry-After`, 500), and streams watches as newline-delimited events.
 *
 * Served: core/v1 Secrets, PodTemplates, Pods (with `status`), Events, ConfigMaps, Services,
 * ServiceAccounts, batch/v1 Jobs (with `status`), apps/v1 Deployments, rbac.authorization.k8s.io/v1
 * Roles and RoleBindings (namespaced), ClusterRoles, ClusterRoleBindings and
 * admissionregistration.k8s.io/v1 MutatingWebhookConfigurations (cluster-scoped); each with get, list
 * and watch (label selectors, field selectors, resourceVersions), create (`generateName`, `dryRun`),
 * update (PUT), patch (merge-patch and json-patch) and delete (grace period, propagation policy,
 * preconditions). More resources are entries in `kubernetes-resources.ts`. Besides: pod logs
 * (`kubernetes-pod-logs.ts`), the service proxy (`kubernetes-service-proxy.ts`) and
 * SelfSubjectAccessReviews.
 *
 * Every request is authorised with RBAC over the stored Roles and bindings, as its caller (the
 * user of `kubeConfig(user)`; by default a `system:masters` administrator who may do everything) or
 * as whom it impersonates (`kubernetes-authorization.ts`).
 *
 * As kube-apiserver, a create is defaulted, then goes through the registered mutating webhooks
 * (`kubernetes-admission.ts`: a real AdmissionReview over HTTPS), then is validated. Behind the API,
 * `cluster` simulates the Job controller, the kubelet and the garbage collector
 * (`kubernetes-job-controller.ts`).
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { isDeepStrictEqual } from "node:util";
import { KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import jsonpatch, { type Operation } from "fast-json-patch";
import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
import { mutatingAdmission } from "./kubernetes-admission.ts";
import { createAuthorizer, type FakeUser, requestOf, tokenOf } from "./kubernetes-authorization.ts";
import {
  createJobController,
  type DeleteOptions,
  type ObjectStore,
  type SimulatedCluster,
} from "./kubernetes-job-controller.ts";
import { createPodLogs, type WriteLogOptions } from "./kubernetes-pod-logs.ts";
import {
  apiVersionOf,
  FAKE_RESOURCES,
  type FakeResource,
  parseResourcePath,
  type ResourcePath,
  resourceByKind,
} from "./kubernetes-resources.ts";
import {
  asObject,
  defaulted,
  type JsonObject,
  preparedForCreate,
  writeProblems,
} from "./kubernetes-rules.ts";
import { type ObjectPredicate, parseFieldSelector, parseLabelSelector } from "./kubernetes-selectors.ts";
import { proxyTargetOf, proxyToService } from "./kubernetes-service-proxy.ts";
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
  preconditionFailed,
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
  /**
   * A client configuration pointing at this server (no TLS), namespace `default`: as the administrator,
   * or as `user`, one of `options.users`.
   */
  kubeConfig(user?: string): KubeConfig;
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
  /** Every object of a kind (in a namespace, when given), as stored. */
  list(apiVersion: string, kind: string, namespace?: string): KubernetesObject[];
  /** How many objects of a kind there are (in a namespace, when given), without copying them. */
  count(apiVersion: string, kind: string, namespace?: string): number;
  /** Every request received, in order. */
  readonly requests: ReadonlyArray<FakeRequest>;
  /** The simulated Job controller, kubelet and event recorder behind the API. */
  readonly cluster: SimulatedCluster;
  /**
   * The next `count` requests (those `match` accepts, when given) fail with `status`: 429 with
   * `Retry-After: retryAfterSeconds`, 500 or 503.
   */
  failNext(
    count: number,
    status: 429 | 500 | 503,
    options?: { retryAfterSeconds?: number; match?: (method: string, path: string) => boolean },
  ): void;
  /** Ends every open watch, as an API server restart or a load balancer's idle timeout would. */
  closeWatches(): void;
  /** Appends lines to a container's log, as kubelet would keep it (`previous`: the run before a restart). */
  writeLog(namespace: string, pod: string, container: string, text: string, options?: WriteLogOptions): void;
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
  /**
   * Where a webhook's `clientConfig.service` points (tests run webhooks on 127.0.0.1); an unresolved
   * service is unreachable, as a name without DNS.
   */
  readonly serviceUrl?: (service: {
    name: string;
    namespace: string;
    port: number;
    path: string;
  }) => string | undefined;
  /** Users besides the administrator, for `kubeConfig(user)`: their rights come from RBAC objects. */
  readonly users?: readonly FakeUser[];
}

const SELF_SUBJECT_ACCESS_REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";

/** What a route answers: an object (JSON) or text, with a status when it is not the method's usual one. */
interface Answer {
  readonly body: unknown;
  readonly warnings?: readonly string[];
  readonly status?: number;
  readonly contentType?: string;
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
  const podLogs = createPodLogs();
  const users = options.users ?? [];
  const authorizer = createAuthorizer(users, () => [...objects.values()]);

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
    controller.observe(resource, type, stored);
    return structuredClone(stored);
  }

  function ofKind(apiVersion: string, kind: string, namespace: string | undefined): JsonObject[] {
    return [...objects.values()].filter(
      (item) =>
        item.apiVersion === apiVersion &&
        item.kind === kind &&
        (namespace === undefined || asObject(item.metadata).namespace === namespace),
    );
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

  interface Created {
    readonly object: JsonObject;
    readonly warnings: readonly string[];
  }

  /**
   * kube-apiserver's order: decode with defaults, mutating admission, then the strategy (status reset,
   * uid, name from `generateName`, a Job's selector), validation, storage.
   */
  async function create(target: ResourcePath, body: unknown, dryRun: boolean): Promise<Created> {
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
    const hasName = typeof metadata.name === "string" && metadata.name !== "";
    if (!hasName && (typeof metadata.generateName !== "string" || metadata.generateName === "")) {
      throw invalid(resource, "", ["metadata.name: Required value: name or generateName is required"]);
    }
    if (hasName && find(resource, target.namespace, metadata.name as string) !== undefined) {
      throw alreadyExists(resource, metadata.name as string);
    }
    const admitted = await mutatingAdmission(
      [...objects.values()].filter((item) => item.kind === "MutatingWebhookConfiguration"),
      {
        resource,
        operation: "CREATE",
        namespace: resource.namespaced ? target.namespace : undefined,
        name: hasName ? (metadata.name as string) : "",
        object: defaulted(resource, { ...object, metadata }),
        dryRun,
      },
      options.serviceUrl === undefined ? {} : { serviceUrl: options.serviceUrl },
    );
    const admittedMetadata = { ...asObject(admitted.object.metadata) };
    if (typeof admittedMetadata.name !== "string" || admittedMetadata.name === "") {
      admittedMetadata.name = `${String(admittedMetadata.generateName)}${randomBytes(3).toString("hex").slice(0, 5)}`;
    }
    const name = admittedMetadata.name as string;
    // Another create may have won while the webhooks were called.
    if (find(resource, target.namespace, name) !== undefined) throw alreadyExists(resource, name);
    const prepared = preparedForCreate(resource, {
      ...admitted.object,
      metadata: { ...admittedMetadata, uid: randomUUID(), creationTimestamp: timestamp() },
    });
    const checked = checkedForWrite(resource, prepared);
    if (dryRun) return { object: structuredClone(checked), warnings: admitted.warnings };
    return { object: commit(resource, "ADDED", checked), warnings: admitted.warnings };
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
    return replaceStored(resource, existing, withSubresource(target, existing, object));
  }

  /**
   * With a status subresource, a write to the object keeps the stored status and a write to
   * `…/status` changes only the status, as the Job and Pod strategies do.
   */
  function withSubresource(target: ResourcePath, existing: JsonObject, object: JsonObject): JsonObject {
    if (target.resource.statusSubresource !== true) return object;
    if (target.subresource === "status") return { ...existing, status: object.status };
    const { status: _ignored, ...rest } = object;
    return existing.status === undefined ? rest : { ...rest, status: existing.status };
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
    return replaceStored(resource, existing, withSubresource(target, existing, patched));
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

  interface Preconditions {
    readonly uid?: string;
    readonly resourceVersion?: string;
  }

  function remove(
    target: ResourcePath,
    name: string,
    deleteOptions: DeleteOptions & { preconditions?: Preconditions },
  ): JsonObject {
    const existing = find(target.resource, target.namespace, name);
    if (existing === undefined) throw notFound(target.resource, name);
    const metadata = asObject(existing.metadata);
    const { uid, resourceVersion: version } = deleteOptions.preconditions ?? {};
    if (uid !== undefined && uid !== metadata.uid) {
      throw preconditionFailed(
        target.resource,
        name,
        `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${String(metadata.uid)}`,
      );
    }
    if (version !== undefined && version !== metadata.resourceVersion) {
      throw preconditionFailed(
        target.resource,
        name,
        `Precondition failed: ResourceVersion in precondition: ${version}, ResourceVersion in object meta: ${String(metadata.resourceVersion)}`,
      );
    }
    deleteObject(target.resource, existing, deleteOptions);
    return success(target.resource, name) as unknown as JsonObject;
  }

  /**
   * Deletes as the API server and the garbage collector do: a pod bound to a node and still running
   * is deleted gracefully (a MODIFIED event with `deletionTimestamp`, then the kubelet's DELETED) unless
   * the grace period is 0; dependents (objects whose ownerReferences name it) are deleted with
   * Background or Foreground propagation and orphaned otherwise. A Job's default is Orphan: batch/v1
   * kept it for compatibility, which is why callers ask for Background.
   */
  function deleteObject(resource: FakeResource, existing: JsonObject, deleteOptions: DeleteOptions): void {
    const metadata = asObject(existing.metadata);
    const policy = deleteOptions.propagationPolicy ?? (resource.kind === "Job" ? "Orphan" : "Background");
    const dependents = [...objects.values()].filter((object) =>
      ownerReferencesOf(object).some((reference) => reference.uid === metadata.uid),
    );
    let current = existing;
    if (policy === "Foreground") {
      current = commit(resource, "MODIFIED", {
        ...current,
        metadata: {
          ...asObject(current.metadata),
          deletionTimestamp: timestamp(),
          deletionGracePeriodSeconds: 0,
          finalizers: ["foregroundDeletion"],
        },
      });
      deleteDependents(dependents);
    }
    if (resource.kind === "Pod" && isGracefulPodDelete(current, deleteOptions)) {
      const grace =
        deleteOptions.gracePeriodSeconds ??
        Number(asObject(current.spec).terminationGracePeriodSeconds ?? 30);
      current = commit(resource, "MODIFIED", {
        ...current,
        metadata: {
          ...asObject(current.metadata),
          deletionTimestamp: new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d{3}Z$/, "Z"),
          deletionGracePeriodSeconds: grace,
        },
      });
    }
    commit(resource, "DELETED", current);
    if (policy === "Background") deleteDependents(dependents);
    if (policy === "Orphan") {
      for (const dependent of dependents) {
        const dependentResource = resourceOf(dependent);
        const dependentMetadata = asObject(dependent.metadata);
        const references = ownerReferencesOf(dependent).filter((reference) => reference.uid !== metadata.uid);
        const { ownerReferences: _dropped, ...rest } = dependentMetadata;
        commit(dependentResource, "MODIFIED", {
          ...dependent,
          metadata: references.length === 0 ? rest : { ...rest, ownerReferences: references },
        });
      }
    }
  }

  function deleteDependents(dependents: readonly JsonObject[]): void {
    for (const dependent of dependents) {
      const metadata = asObject(dependent.metadata);
      const resource = resourceOf(dependent);
      const current = find(resource, metadata.namespace as string | undefined, String(metadata.name));
      if (current !== undefined) deleteObject(resource, current, {});
    }
  }

  function isGracefulPodDelete(pod: JsonObject, deleteOptions: DeleteOptions): boolean {
    const phase = asObject(pod.status).phase;
    return (
      deleteOptions.gracePeriodSeconds !== 0 &&
      asObject(pod.spec).nodeName !== undefined &&
      phase !== "Succeeded" &&
      phase !== "Failed" &&
      asObject(pod.metadata).deletionTimestamp === undefined
    );
  }

  function resourceOf(object: JsonObject): FakeResource {
    return resourceByKind(resources, String(object.apiVersion), String(object.kind));
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
      fields = parseFieldSelector(query.fieldSelector, target.resource.selectableFields);
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
        const answer = await route(request, reply, body, contentType);
        if (answer === undefined) return reply;
        if (answer.warnings !== undefined && answer.warnings.length > 0) {
          reply.header(
            "warning",
            answer.warnings.map((warning) => `299 - ${JSON.stringify(warning)}`),
          );
        }
        if (answer.contentType !== undefined) reply.type(answer.contentType);
        return reply.code(answer.status ?? (request.method === "POST" ? 201 : 200)).send(answer.body);
      } catch (error) {
        if (!(error instanceof StatusError)) throw error;
        return reply.code(error.status.code).headers(error.headers).send(error.status);
      }
    },
  });

  async function route(
    request: FastifyRequest,
    reply: FastifyReply,
    body: unknown,
    contentType: string,
  ): Promise<Answer | undefined> {
    const url = new URL(request.url, "http://fake");
    const query = Object.fromEntries(url.searchParams);
    const user = authorizer.userOf(request.headers);
    const attributes = requestOf(request.method, url.pathname, query);
    if (request.method === "POST" && url.pathname === SELF_SUBJECT_ACCESS_REVIEWS) {
      // Every authenticated user may ask what it may do (the system:basic-user ClusterRole).
      return { body: authorizer.review(user, body) };
    }
    if (attributes !== undefined) authorizer.check(user, attributes);
    const special = await subresource(request.method, url, query);
    if (special !== undefined) return special;
    const target = parseResourcePath(resources, url.pathname);
    if (target === undefined) throw unknownPath(url.pathname);
    const { name } = target;
    const status = target.subresource === "status";
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
          const created = await create(target, body, query.dryRun === "All");
          return { body: created.object, warnings: created.warnings };
        }
        break;
      case "PUT":
        if (name !== undefined) return { body: typed(target.resource, update(target, name, body)) };
        break;
      case "PATCH":
        if (name !== undefined)
          return { body: typed(target.resource, patch(target, name, body, contentType)) };
        break;
      case "DELETE":
        if (name !== undefined && !status)
          return { body: remove(target, name, deleteOptionsOf(query, body)) };
        break;
    }
    throw methodNotAllowed(request.method, url.pathname);
  }

  /** Pod logs and the service proxy: subresources that are not objects. */
  async function subresource(
    method: string,
    url: URL,
    query: Readonly<Record<string, string>>,
  ): Promise<Answer | undefined> {
    const log = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/.exec(url.pathname);
    if (log !== null) {
      if (method !== "GET") throw methodNotAllowed(method, url.pathname);
      const pods = resourceByKind(resources, "v1", "Pod");
      const pod = getOrThrow(
        { resource: pods, namespace: log[1], name: log[2] },
        decodeURIComponent(log[2] ?? ""),
      );
      return { body: podLogs.read(pod, query), contentType: "text/plain" };
    }
    const proxy = proxyTargetOf(url);
    if (proxy !== undefined) {
      if (method !== "GET") throw methodNotAllowed(method, url.pathname);
      const services = resourceByKind(resources, "v1", "Service");
      const name =
        proxy.service.split(":").length === 3 ? proxy.service.split(":")[1] : proxy.service.split(":")[0];
      const service = getOrThrow({ resource: services, namespace: proxy.namespace, name }, name ?? "");
      const answer = await proxyToService(proxy, service, options.serviceUrl ?? (() => undefined));
      return { body: answer.body, status: answer.status, contentType: answer.contentType };
    }
    return undefined;
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

  const store: ObjectStore = {
    find: (resource, namespace, name) => find(resource, namespace, name),
    all: (resource) => [...objects.values()].filter((object) => isOf(resource, object)),
    create(resource, object) {
      const metadata = asObject(object.metadata);
      const name = String(metadata.name);
      if (find(resource, metadata.namespace as string | undefined, name) !== undefined) {
        throw alreadyExists(resource, name);
      }
      const checked = checkedForWrite(resource, {
        ...object,
        metadata: { ...metadata, uid: randomUUID(), creationTimestamp: timestamp() },
      });
      return commit(resource, "ADDED", checked);
    },
    replace(resource, object) {
      const metadata = asObject(object.metadata);
      const existing = find(resource, metadata.namespace as string | undefined, String(metadata.name));
      if (existing === undefined) throw notFound(resource, String(metadata.name));
      return replaceStored(resource, existing, object);
    },
    delete(resource, namespace, name, deleteOptions = {}) {
      const existing = find(resource, namespace, name);
      if (existing !== undefined) deleteObject(resource, existing, deleteOptions);
    },
  };
  const controller = createJobController(store);

  await app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = app.server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    requests,
    cluster: controller.cluster,
    kubeConfig(userName) {
      const user =
        userName === undefined ? undefined : users.find((candidate) => candidate.name === userName);
      if (userName !== undefined && user === undefined)
        throw new Error(`kubeConfig: no user ${userName} in options.users`);
      const config = new KubeConfig();
      config.loadFromOptions({
        clusters: [{ name: "fake", server: url, skipTLSVerify: true }],
        users: [{ name: "fake", ...(user === undefined ? {} : { token: tokenOf(user) }) }],
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
      deleteObject(resource, existing, { gracePeriodSeconds: 0 });
    },
    get(apiVersion, kind, namespace, name) {
      const found = find(resourceByKind(resources, apiVersion, kind), namespace, name);
      return found === undefined ? undefined : (structuredClone(found) as KubernetesObject);
    },
    list(apiVersion, kind, namespace) {
      return ofKind(apiVersion, kind, namespace).map((item) => structuredClone(item) as KubernetesObject);
    },
    count(apiVersion, kind, namespace) {
      return ofKind(apiVersion, kind, namespace).length;
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
    closeWatches() {
      for (const watcher of [...watchers]) stopWatcher(watcher);
    },
    writeLog(namespace, pod, container, text, logOptions) {
      podLogs.write(namespace, pod, container, text, logOptions);
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

/** Delete options from the query (as client-node sends them) or a `DeleteOptions` body. */
function deleteOptionsOf(
  query: Readonly<Record<string, string>>,
  body: unknown,
): DeleteOptions & { preconditions?: { uid?: string; resourceVersion?: string } } {
  const fromBody = asObject(body);
  const grace = query.gracePeriodSeconds ?? fromBody.gracePeriodSeconds;
  let policy = query.propagationPolicy ?? fromBody.propagationPolicy;
  const orphan = query.orphanDependents ?? fromBody.orphanDependents;
  if (policy === undefined && orphan !== undefined)
    policy = String(orphan) === "true" ? "Orphan" : "Background";
  if (policy !== undefined && policy !== "Orphan" && policy !== "Background" && policy !== "Foreground") {
    throw badRequest(`propagationPolicy: Unsupported value: ${JSON.stringify(policy)}`);
  }
  if (grace !== undefined && !/^-?\d+$/.test(String(grace))) {
    throw badRequest(`gracePeriodSeconds: Invalid value: ${JSON.stringify(grace)}`);
  }
  const preconditions = asObject(fromBody.preconditions);
  return {
    ...(grace === undefined ? {} : { gracePeriodSeconds: Number(grace) }),
    ...(policy === undefined ? {} : { propagationPolicy: policy as DeleteOptions["propagationPolicy"] }),
    ...(fromBody.preconditions === undefined
      ? {}
      : {
          preconditions: {
            ...(typeof preconditions.uid === "string" ? { uid: preconditions.uid } : {}),
            ...(typeof preconditions.resourceVersion === "string"
              ? { resourceVersion: preconditions.resourceVersion }
              : {}),
          },
        }),
  };
}

function ownerReferencesOf(object: JsonObject): JsonObject[] {
  const references = asObject(object.metadata).ownerReferences;
  return (Array.isArray(references) ? references : []).map(asObject);
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
