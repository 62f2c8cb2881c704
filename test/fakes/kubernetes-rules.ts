/**
 * What the fake API server checks on every write: the object against the full OpenAPI document
 * (`validateK8sObject`), its name, and the few rules of kube-apiserver's own validation that the
 * served resources have and our code could trip over (a Secret's type is immutable, a TLS Secret needs
 * `tls.crt` and `tls.key`, webhook names are unique and fully qualified, a Job's pod template is
 * immutable). Also the defaulting that changes what clients and webhooks read (`stringData` folded
 * into `data`, a Job's and its pod template's defaults) and what the Job strategy adds on create
 * (the selector and the `job-name` / `controller-uid` labels of the pod template).
 */
import { isDeepStrictEqual } from "node:util";
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
  if (resource.kind === "Job" && previous !== undefined)
    problems.push(...jobUpdateProblems(object, previous));
  return problems;
}

/**
 * The defaults kube-apiserver applies when it decodes an object, before admission sees it (and again
 * after a mutating webhook changed it).
 */
export function defaulted(resource: FakeResource, object: JsonObject): JsonObject {
  switch (resource.kind) {
    case "Secret":
      return defaultedSecret(object);
    case "Job":
      return defaultedJob(object);
    default:
      return object;
  }
}

/** `batch/v1` `SetDefaults_Job` and the pod template's `SetDefaults_PodSpec` / `SetDefaults_Container`. */
function defaultedJob(job: JsonObject): JsonObject {
  const spec = { ...asObject(job.spec) };
  const template = asObject(spec.template);
  const templateMetadata = asObject(template.metadata);
  if (spec.completions === undefined && spec.parallelism === undefined) spec.completions = 1;
  spec.parallelism ??= 1;
  if (spec.backoffLimitPerIndex === undefined) spec.backoffLimit ??= 6;
  spec.completionMode ??= "NonIndexed";
  spec.suspend ??= false;
  if (spec.podFailurePolicy === undefined) spec.podReplacementPolicy ??= "TerminatingOrFailed";
  spec.template = { ...template, spec: defaultedPodSpec(asObject(template.spec)) };
  const metadata = asObject(job.metadata);
  // A Job without labels takes its pod template's.
  const labels =
    Object.keys(asObject(metadata.labels)).length === 0 && templateMetadata.labels !== undefined
      ? { labels: templateMetadata.labels }
      : {};
  return { ...job, metadata: { ...metadata, ...labels }, spec };
}

function defaultedPodSpec(spec: JsonObject): JsonObject {
  const containers = (list: unknown) =>
    Array.isArray(list) ? list.map((container) => defaultedContainer(asObject(container))) : list;
  return {
    ...spec,
    restartPolicy: spec.restartPolicy ?? "Always",
    terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds ?? 30,
    dnsPolicy: spec.dnsPolicy ?? "ClusterFirst",
    securityContext: spec.securityContext ?? {},
    schedulerName: spec.schedulerName ?? "default-scheduler",
    containers: containers(spec.containers ?? []),
    ...(spec.initContainers === undefined ? {} : { initContainers: containers(spec.initContainers) }),
  };
}

function defaultedContainer(container: JsonObject): JsonObject {
  const image = typeof container.image === "string" ? container.image : "";
  // An image without a tag, or tagged latest, is pulled every time.
  const untagged = !/:[^/]+$/.test(image.split("@")[0] ?? "") || image.endsWith(":latest");
  return {
    ...container,
    terminationMessagePath: container.terminationMessagePath ?? "/dev/termination-log",
    terminationMessagePolicy: container.terminationMessagePolicy ?? "File",
    imagePullPolicy:
      container.imagePullPolicy ?? (untagged && !image.includes("@") ? "Always" : "IfNotPresent"),
  };
}

/**
 * The Job strategy on create, after admission: no status, and (in its `Validate`, once the uid and the
 * name are known) a selector on the uid and the labels the Job controller finds its pods by.
 */
export function preparedForCreate(resource: FakeResource, object: JsonObject): JsonObject {
  if (resource.kind === "Pod") return { ...object, status: { phase: "Pending" } };
  if (resource.kind !== "Job") return object;
  const metadata = asObject(object.metadata);
  const spec = asObject(object.spec);
  const { status: _status, ...job } = object;
  if (spec.manualSelector === true) return { ...job, metadata: { ...metadata, generation: 1 }, status: {} };
  const uid = String(metadata.uid);
  const name = String(metadata.name);
  const template = asObject(spec.template);
  const templateMetadata = asObject(template.metadata);
  return {
    ...job,
    metadata: { ...metadata, generation: 1 },
    status: {},
    spec: {
      ...spec,
      selector: { matchLabels: { "batch.kubernetes.io/controller-uid": uid } },
      template: {
        ...template,
        metadata: {
          ...templateMetadata,
          labels: {
            ...asObject(templateMetadata.labels),
            "batch.kubernetes.io/controller-uid": uid,
            "batch.kubernetes.io/job-name": name,
            "controller-uid": uid,
            "job-name": name,
          },
        },
      },
    },
  };
}

/** `ValidateJobUpdate`: the selector and (once the Job has started) the pod template are immutable. */
function jobUpdateProblems(job: JsonObject, previous: JsonObject): string[] {
  const spec = asObject(job.spec);
  const before = asObject(previous.spec);
  const problems: string[] = [];
  if (!isDeepStrictEqual(spec.selector, before.selector)) {
    problems.push("spec.selector: Invalid value: field is immutable");
  }
  const startedBefore = asObject(previous.status).startTime !== undefined || before.suspend !== true;
  if (startedBefore && !isDeepStrictEqual(spec.template, before.template)) {
    problems.push("spec.template: Invalid value: field is immutable");
  }
  return problems;
}

function defaultedSecret(object: JsonObject): JsonObject {
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
