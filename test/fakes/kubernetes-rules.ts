/**
 * What the fake API server checks on every write: the object against the full OpenAPI document
 * (`validateK8sObject`), its name, and the few rules of kube-apiserver's own validation that the
 * served resources have and our code could trip over (a Secret's type is immutable, a TLS Secret needs
 * `tls.crt` and `tls.key`, webhook names are unique and fully qualified). Also the defaulting that
 * changes what clients read back (`stringData` folded into `data`).
 */
import { validateK8sObject } from "../support/k8s-validate.ts";
import type { FakeResource } from "./kubernetes-resources.ts";

export type JsonObject = Record<string, unknown>;

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const MAX_SECRET_BYTES = 1024 * 1024;

/** Every reason kube-apiserver would refuse to store `object` (over `previous`, for an update). */
export function writeProblems(resource: FakeResource, object: JsonObject, previous?: JsonObject): string[] {
  const problems = [...validateK8sObject(object, resource.definition)];
  const metadata = asObject(object.metadata);
  const name = metadata.name;
  if (typeof name === "string" && (name.length > 253 || !DNS_SUBDOMAIN.test(name))) {
    problems.push(
      `metadata.name: Invalid value: ${JSON.stringify(name)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
    );
  }
  if (resource.kind === "Secret") problems.push(...secretProblems(object, previous));
  if (resource.kind === "MutatingWebhookConfiguration")
    problems.push(...webhookConfigurationProblems(object));
  return problems;
}

/** What the API server changes in an object before storing it. */
export function defaulted(resource: FakeResource, object: JsonObject): JsonObject {
  if (resource.kind !== "Secret") return object;
  const { stringData, ...rest } = object;
  const data: Record<string, unknown> = { ...asObject(rest.data) };
  for (const [key, value] of Object.entries(asObject(stringData))) {
    data[key] = typeof value === "string" ? Buffer.from(value, "utf8").toString("base64") : value;
  }
  return {
    ...rest,
    type: rest.type ?? "Opaque",
    ...(Object.keys(data).length > 0 || rest.data !== undefined ? { data } : {}),
  };
}

function secretProblems(secret: JsonObject, previous: JsonObject | undefined): string[] {
  const problems: string[] = [];
  const data = asObject(secret.data);
  let size = 0;
  for (const [key, value] of Object.entries(data)) {
    if (!SECRET_KEY.test(key)) {
      problems.push(
        `data[${key}]: Invalid value: ${JSON.stringify(key)}: a valid config key must consist of alphanumeric characters, '-', '_' or '.'`,
      );
    }
    if (typeof value === "string") size += Buffer.from(value, "base64").length;
  }
  if (size > MAX_SECRET_BYTES) problems.push(`data: Too long: must have at most ${MAX_SECRET_BYTES} bytes`);
  if (secret.type === "kubernetes.io/tls") {
    for (const key of ["tls.crt", "tls.key"]) {
      if (data[key] === undefined) problems.push(`data[${key}]: Required value`);
    }
  }
  if (previous !== undefined) {
    if ((secret.type ?? "Opaque") !== (previous.type ?? "Opaque")) {
      problems.push(`type: Invalid value: ${JSON.stringify(secret.type)}: field is immutable`);
    }
    if (previous.immutable === true && JSON.stringify(secret.data) !== JSON.stringify(previous.data)) {
      problems.push("data: Forbidden: field is immutable when `immutable` is set");
    }
  }
  return problems;
}

function webhookConfigurationProblems(configuration: JsonObject): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  const webhooks = Array.isArray(configuration.webhooks) ? configuration.webhooks : [];
  webhooks.forEach((webhook, index) => {
    const name = asObject(webhook).name;
    if (typeof name !== "string") return;
    if (seen.has(name)) problems.push(`webhooks[${index}].name: Duplicate value: ${JSON.stringify(name)}`);
    seen.add(name);
    if (name.split(".").length < 3) {
      problems.push(
        `webhooks[${index}].name: Invalid value: ${JSON.stringify(name)}: should be a domain with at least three segments separated by dots`,
      );
    }
  });
  return problems;
}

export function asObject(value: unknown): JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as JsonObject) : {};
}
