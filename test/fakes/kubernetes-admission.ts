/**
 * Mutating admission as kube-apiserver runs it on a create: every webhook of every
 * `MutatingWebhookConfiguration` (configurations in name order, webhooks in their order) whose rules
 * match the request, whose `objectSelector` matches the object's labels and whose `namespaceSelector`
 * matches the namespace (the fake's namespaces carry only `kubernetes.io/metadata.name`), is called
 * over HTTPS with an `admission.k8s.io/v1` AdmissionReview, trusting the `caBundle`, within
 * `timeoutSeconds`. Its JSON Patch is applied to the object the next webhook sees.
 *
 * Outcomes, worded as kube-apiserver words them: a denial is the webhook's own status with the message
 * `admission webhook "<name>" denied the request: <message>`; a webhook that cannot be called (refused,
 * timed out, TLS, a non-2xx answer, an invalid review) fails the request with 500 `Internal error
 * occurred: failed calling webhook "<name>": …` under `failurePolicy: Fail`, and is skipped under
 * `Ignore`. Not modelled: `matchConditions` (CEL), `reinvocationPolicy` (one pass only),
 * `matchPolicy: Equivalent` (exact group/version only), validating webhooks.
 */
import { randomUUID } from "node:crypto";
import { Agent, request } from "node:https";
import { applyJsonPatch } from "../support/json-patch.ts";
import { apiVersionOf, type FakeResource } from "./kubernetes-resources.ts";
import { asObject, type JsonObject } from "./kubernetes-rules.ts";
import { matchesLabelSelector, type StructuredLabelSelector } from "./kubernetes-selectors.ts";
import { internalError, webhookDenied } from "./kubernetes-status.ts";

export type AdmissionOperation = "CREATE" | "UPDATE" | "DELETE";

export interface AdmissionInput {
  readonly resource: FakeResource;
  readonly operation: AdmissionOperation;
  readonly namespace: string | undefined;
  /** Empty for an object created with `generateName`: the name is chosen after admission. */
  readonly name: string;
  readonly object: JsonObject;
  readonly dryRun: boolean;
}

export interface AdmissionResult {
  readonly object: JsonObject;
  /** The webhooks' `warnings`, which the API server sends back as `Warning` headers. */
  readonly warnings: readonly string[];
}

export interface AdmissionOptions {
  /** Where a `clientConfig.service` reference points; unresolved services are unreachable, as without DNS. */
  readonly serviceUrl?: (service: {
    name: string;
    namespace: string;
    port: number;
    path: string;
  }) => string | undefined;
}

const DEFAULT_TIMEOUT_SECONDS = 10;

interface Webhook {
  readonly name: string;
  readonly clientConfig?: {
    readonly url?: string;
    readonly caBundle?: string;
    readonly service?: { name: string; namespace: string; port?: number; path?: string };
  };
  readonly rules?: ReadonlyArray<{
    readonly apiGroups?: readonly string[];
    readonly apiVersions?: readonly string[];
    readonly operations?: readonly string[];
    readonly resources?: readonly string[];
    readonly scope?: string;
  }>;
  readonly failurePolicy?: string;
  readonly objectSelector?: StructuredLabelSelector;
  readonly namespaceSelector?: StructuredLabelSelector;
  readonly timeoutSeconds?: number;
  readonly admissionReviewVersions?: readonly string[];
}

/** Runs every matching webhook in turn; throws a `StatusError` when the request must be refused. */
export async function mutatingAdmission(
  configurations: readonly JsonObject[],
  input: AdmissionInput,
  options: AdmissionOptions = {},
): Promise<AdmissionResult> {
  let object = input.object;
  const warnings: string[] = [];
  const ordered = [...configurations].sort((a, b) =>
    String(asObject(a.metadata).name).localeCompare(String(asObject(b.metadata).name)),
  );
  for (const configuration of ordered) {
    const webhooks = (Array.isArray(configuration.webhooks) ? configuration.webhooks : []) as Webhook[];
    for (const webhook of webhooks) {
      if (!webhookMatches(webhook, input, object)) continue;
      let response: AdmissionResponse;
      try {
        response = await callWebhook(webhook, reviewFor(input, object), options);
      } catch (error) {
        if (!(error instanceof WebhookCallError)) throw error;
        if (webhook.failurePolicy === "Ignore") continue;
        throw internalError(`failed calling webhook ${JSON.stringify(webhook.name)}: ${error.message}`);
      }
      warnings.push(...(response.warnings ?? []));
      if (response.allowed !== true) throw webhookDenied(webhook.name, response.status);
      if (response.patch !== undefined) object = patched(object, response, webhook.name);
    }
  }
  return { object, warnings };
}

function webhookMatches(webhook: Webhook, input: AdmissionInput, object: JsonObject): boolean {
  const { resource, operation, namespace } = input;
  const anyOf = (list: readonly string[] | undefined, value: string) =>
    (list ?? []).includes("*") || (list ?? []).includes(value);
  const ruleMatches = (webhook.rules ?? []).some((rule) => {
    const scope = rule.scope ?? "*";
    if (scope === "Namespaced" && !resource.namespaced) return false;
    if (scope === "Cluster" && resource.namespaced) return false;
    const resources = rule.resources ?? [];
    return (
      anyOf(rule.operations, operation) &&
      anyOf(rule.apiGroups, resource.group) &&
      anyOf(rule.apiVersions, resource.version) &&
      (resources.includes("*") || resources.includes("*/*") || resources.includes(resource.plural))
    );
  });
  if (!ruleMatches) return false;
  const labels = asObject(asObject(object.metadata).labels) as Record<string, string>;
  if (!matchesLabelSelector(webhook.objectSelector, labels)) return false;
  // A namespace selector only applies to namespaced objects.
  if (namespace !== undefined && resource.namespaced) {
    return matchesLabelSelector(webhook.namespaceSelector, { "kubernetes.io/metadata.name": namespace });
  }
  return true;
}

function reviewFor(input: AdmissionInput, object: JsonObject): JsonObject {
  const { resource } = input;
  const kind = { group: resource.group, version: resource.version, kind: resource.kind };
  const gvr = { group: resource.group, version: resource.version, resource: resource.plural };
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: randomUUID(),
      kind,
      resource: gvr,
      requestKind: kind,
      requestResource: gvr,
      name: input.name,
      ...(input.namespace === undefined ? {} : { namespace: input.namespace }),
      operation: input.operation,
      userInfo: { username: "fake-kubernetes-client", groups: ["system:authenticated"] },
      object: { ...object, apiVersion: apiVersionOf(resource), kind: resource.kind },
      oldObject: null,
      dryRun: input.dryRun,
      options: { apiVersion: "meta.k8s.io/v1", kind: "CreateOptions" },
    },
  };
}

interface AdmissionResponse {
  readonly uid?: string;
  readonly allowed?: boolean;
  readonly patch?: string;
  readonly patchType?: string;
  readonly status?: { code?: number; reason?: string; message?: string };
  readonly warnings?: readonly string[];
}

/** Why a webhook could not be called: the part after `failed calling webhook "<name>": `. */
class WebhookCallError extends Error {}

async function callWebhook(
  webhook: Webhook,
  review: JsonObject,
  options: AdmissionOptions,
): Promise<AdmissionResponse> {
  if (!(webhook.admissionReviewVersions ?? []).includes("v1")) {
    throw new WebhookCallError(
      `webhook does not accept v1 AdmissionReview (the fake API server speaks only v1)`,
    );
  }
  const timeoutSeconds = webhook.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  const target = webhookUrl(webhook, options);
  const base = target.url;
  const url = `${base}${base.includes("?") ? "&" : "?"}timeout=${timeoutSeconds}s`;
  let answer: { status: number; body: string };
  try {
    answer = await post(
      url,
      JSON.stringify(review),
      webhook.clientConfig?.caBundle,
      timeoutSeconds,
      target.serverName,
    );
  } catch (error) {
    throw new WebhookCallError(`failed to call webhook: Post ${JSON.stringify(url)}: ${goError(error)}`);
  }
  if (answer.status < 200 || answer.status > 299) {
    const detail =
      answer.status >= 500
        ? `an error on the server (${JSON.stringify(answer.body.slice(0, 200))}) has prevented the request from succeeding`
        : `the server responded with the status code ${answer.status} but did not return more information`;
    throw new WebhookCallError(`failed to call webhook: ${detail}`);
  }
  let parsed: JsonObject;
  try {
    parsed = asObject(JSON.parse(answer.body));
  } catch (error) {
    throw new WebhookCallError(`received invalid webhook response: ${(error as Error).message}`);
  }
  const response = asObject(parsed.response) as AdmissionResponse;
  const uid = asObject(review.request).uid;
  if (parsed.kind !== "AdmissionReview" || parsed.apiVersion !== "admission.k8s.io/v1") {
    throw new WebhookCallError(
      `received invalid webhook response: expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got ${String(parsed.apiVersion)}, Kind=${String(parsed.kind)}`,
    );
  }
  if (response.uid !== uid) {
    throw new WebhookCallError(
      `received invalid webhook response: expected response.uid=${JSON.stringify(uid)}, got ${JSON.stringify(response.uid ?? "")}`,
    );
  }
  if (response.patch !== undefined && response.patchType !== "JSONPatch") {
    throw new WebhookCallError(
      `received invalid webhook response: expected patchType JSONPatch, got ${JSON.stringify(response.patchType ?? "")}`,
    );
  }
  return response;
}

/**
 * Where to send the review, and for a service reference the name the serving certificate must carry:
 * kube-apiserver verifies `<service>.<namespace>.svc` whatever address the name resolves to.
 */
function webhookUrl(webhook: Webhook, options: AdmissionOptions): { url: string; serverName?: string } {
  const config = webhook.clientConfig ?? {};
  if (config.url !== undefined) return { url: config.url };
  if (config.service !== undefined) {
    const service = {
      name: config.service.name,
      namespace: config.service.namespace,
      port: config.service.port ?? 443,
      path: config.service.path ?? "",
    };
    const serverName = `${service.name}.${service.namespace}.svc`;
    const resolved = options.serviceUrl?.(service);
    if (resolved !== undefined) return { url: resolved, serverName };
    return { url: `https://${serverName}:${service.port}${service.path}`, serverName };
  }
  throw new WebhookCallError("webhook has no clientConfig.url or clientConfig.service");
}

/** kube-apiserver keeps its connections to a webhook open; one keep-alive agent per trusted CA. */
const agents = new Map<string, Agent>();

function agentFor(ca: string | undefined): Agent {
  const key = ca ?? "";
  let agent = agents.get(key);
  if (!agent) {
    agent = new Agent({ keepAlive: true, ...(ca === undefined ? {} : { ca }) });
    agents.set(key, agent);
  }
  return agent;
}

function post(
  url: string,
  body: string,
  caBundle: string | undefined,
  timeoutSeconds: number,
  serverName: string | undefined,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ca = caBundle === undefined ? undefined : Buffer.from(caBundle, "base64").toString("utf8");
    const req = request(
      url,
      {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        signal: AbortSignal.timeout(timeoutSeconds * 1000),
        agent: agentFor(ca),
        ...(serverName === undefined ? {} : { servername: serverName }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** The Go error texts kube-apiserver would print for the usual failures. */
export function goError(error: unknown): string {
  const { name, code, address, port, message } = error as {
    name?: string;
    code?: string;
    address?: string;
    port?: number;
    message?: string;
  };
  if (name === "TimeoutError" || name === "AbortError") return "context deadline exceeded";
  if (code === "ECONNREFUSED") return `dial tcp ${address}:${port}: connect: connection refused`;
  if (code === "ENOTFOUND") return `dial tcp: lookup ${String(message).split(" ").pop()}: no such host`;
  if (code === "UNABLE_TO_VERIFY_LEAF_SIGNATURE" || code === "SELF_SIGNED_CERT_IN_CHAIN") {
    return "tls: failed to verify certificate: x509: certificate signed by unknown authority";
  }
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    return `tls: failed to verify certificate: x509: ${message ?? "certificate is not valid for this host"}`;
  }
  return message ?? String(error);
}

function patched(object: JsonObject, response: AdmissionResponse, webhook: string): JsonObject {
  let operations: unknown;
  try {
    operations = JSON.parse(Buffer.from(response.patch ?? "", "base64").toString("utf8"));
  } catch (error) {
    throw internalError(
      `webhook ${JSON.stringify(webhook)}: the patch is not JSON: ${(error as Error).message}`,
    );
  }
  try {
    return asObject(applyJsonPatch(object, operations as unknown[]));
  } catch (error) {
    throw internalError(`JsonPatch of webhook ${JSON.stringify(webhook)}: ${(error as Error).message}`);
  }
}
