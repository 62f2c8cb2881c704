/**
 * The validation kube-apiserver applies beyond the schema (`pkg/apis/core/validation`,
 * `pkg/apis/batch/validation`), limited to the parts of a Job this project produces: names, labels
 * and annotations, containers, volumes and their mounts, env and envFrom, restart and pull policies.
 * Values of the wrong type are left to the structural check, which reports them already.
 */
import { Buffer } from "node:buffer";
import { quantityValue } from "../../src/k8s/quantity.ts";
import {
  DNS1123_LABEL_MAX,
  dns1123LabelErrors,
  dns1123SubdomainErrors,
  labelValueErrors,
  qualifiedNameErrors,
} from "./k8s-names.ts";
import { propertyNames } from "./k8s-openapi.ts";
import {
  duplicate,
  fieldPath,
  invalid,
  isRecord,
  isUnset,
  itemPath,
  keyPath,
  problem,
  required,
  unsupported,
} from "./k8s-problems.ts";

export const JOB_DEFINITION = "io.k8s.api.batch.v1.Job";
const POD_DEFINITION = "io.k8s.api.core.v1.Pod";
const POD_SPEC_DEFINITION = "io.k8s.api.core.v1.PodSpec";
const DEPLOYMENT_DEFINITION = "io.k8s.api.apps.v1.Deployment";

interface RestartPolicyRule {
  /** A Job's pod must choose: the API server would default it to Always, which a Job refuses. */
  readonly required: boolean;
  readonly supported: readonly string[];
}

const JOB_RESTART: RestartPolicyRule = { required: true, supported: ["OnFailure", "Never"] };
const POD_RESTART: RestartPolicyRule = { required: false, supported: ["Always", "OnFailure", "Never"] };
const DEPLOYMENT_RESTART: RestartPolicyRule = { required: false, supported: ["Always"] };
const PULL_POLICIES = ["Always", "IfNotPresent", "Never"];
/** An init container may only set `Always`, which makes it a native sidecar. */
const INIT_CONTAINER_RESTART_POLICIES = ["Always"];
const TOTAL_ANNOTATION_SIZE_MAX = 256 * 1024;
/** Printable ASCII except `=`: the rule the 1.36 schema documents for `EnvVar.name`. */
const ENV_VAR_NAME = /^[\x20-\x3c\x3e-\x7e]+$/;

/** The sources of a volume, an env value and an envFrom entry, straight from the schema. */
const volumeSources = () => propertyNames("io.k8s.api.core.v1.Volume").filter((name) => name !== "name");
const envValueSources = () => propertyNames("io.k8s.api.core.v1.EnvVarSource");
const envFromSources = () =>
  propertyNames("io.k8s.api.core.v1.EnvFromSource").filter((name) => name !== "prefix");

export function semanticProblems(value: unknown, definitionName: string): string[] {
  if (!isRecord(value)) return [];
  switch (definitionName) {
    case JOB_DEFINITION:
      return jobProblems(value);
    case POD_DEFINITION:
      return podProblems(value);
    case POD_SPEC_DEFINITION:
      return podSpecProblems(value, "", POD_RESTART);
    case DEPLOYMENT_DEFINITION:
      return deploymentProblems(value);
    default:
      return [];
  }
}

function jobProblems(job: Record<string, unknown>): string[] {
  const metadata = asRecord(job.metadata);
  const template = asRecord(asRecord(job.spec).template);
  return [
    ...jobNameProblems(metadata),
    ...objectMetaProblems(metadata, "metadata"),
    ...objectMetaProblems(asRecord(template.metadata), "spec.template.metadata"),
    ...podSpecProblems(asRecord(template.spec), "spec.template.spec", JOB_RESTART),
  ];
}

function deploymentProblems(deployment: Record<string, unknown>): string[] {
  const metadata = asRecord(deployment.metadata);
  const template = asRecord(asRecord(deployment.spec).template);
  return [
    ...objectMetaProblems(metadata, "metadata"),
    ...objectMetaProblems(asRecord(template.metadata), "spec.template.metadata"),
    // A Deployment's pods must restart: Always is the only policy apps/v1 accepts.
    ...podSpecProblems(asRecord(template.spec), "spec.template.spec", DEPLOYMENT_RESTART),
  ];
}

function podProblems(pod: Record<string, unknown>): string[] {
  const metadata = asRecord(pod.metadata);
  return [
    ...objectNameProblems(metadata, dns1123SubdomainErrors),
    ...objectMetaProblems(metadata, "metadata"),
    ...podSpecProblems(asRecord(pod.spec), "spec", POD_RESTART),
  ];
}

/** The Job controller labels its pods with the Job's name, so the name must also fit a label value. */
function jobNameProblems(metadata: Record<string, unknown>): string[] {
  return objectNameProblems(metadata, (name) => [
    ...dns1123SubdomainErrors(name),
    ...(name.length > DNS1123_LABEL_MAX
      ? [`must be no more than ${DNS1123_LABEL_MAX} characters (it becomes the job-name label of the pods)`]
      : []),
  ]);
}

/** `name`, or a `generateName` prefix the API server completes with random characters. */
function objectNameProblems(
  metadata: Record<string, unknown>,
  nameErrors: (name: string) => string[],
): string[] {
  const { name, generateName } = metadata;
  if (typeof name === "string" && name !== "") {
    return nameErrors(name).map((error) => invalid("metadata.name", name, error));
  }
  if (typeof generateName === "string" && generateName !== "") {
    // A prefix may end with a dash: the random suffix follows it.
    const completed = generateName.replace(/-$/, "a");
    return dns1123SubdomainErrors(completed).map((error) =>
      invalid("metadata.generateName", generateName, error),
    );
  }
  return [required("metadata.name", "name or generateName is required")];
}

function objectMetaProblems(metadata: Record<string, unknown>, path: string): string[] {
  return [
    ...labelProblems(asRecord(metadata.labels), fieldPath(path, "labels")),
    ...annotationProblems(asRecord(metadata.annotations), fieldPath(path, "annotations")),
  ];
}

function labelProblems(labels: Record<string, unknown>, path: string): string[] {
  return Object.entries(labels).flatMap(([key, value]) => [
    ...qualifiedNameErrors(key).map((error) => invalid(path, key, error)),
    ...(typeof value === "string"
      ? labelValueErrors(value).map((error) => invalid(keyPath(path, key), value, error))
      : []),
  ]);
}

/** Annotation keys are checked lower-cased, as the API server does; their total size is capped. */
function annotationProblems(annotations: Record<string, unknown>, path: string): string[] {
  let totalSize = 0;
  const problems: string[] = [];
  for (const [key, value] of Object.entries(annotations)) {
    problems.push(...qualifiedNameErrors(key.toLowerCase()).map((error) => invalid(path, key, error)));
    totalSize += Buffer.byteLength(key) + (typeof value === "string" ? Buffer.byteLength(value) : 0);
  }
  if (totalSize > TOTAL_ANNOTATION_SIZE_MAX) {
    problems.push(problem(path, `Too long: must have at most ${TOTAL_ANNOTATION_SIZE_MAX} bytes`));
  }
  return problems;
}

function podSpecProblems(spec: Record<string, unknown>, path: string, restart: RestartPolicyRule): string[] {
  const volumes = asList(spec.volumes);
  const volumeNames = new Set(volumes.map((volume) => asRecord(volume).name).filter(isString));
  const containers = asList(spec.containers);
  const initContainers = asList(spec.initContainers);
  const containersPath = fieldPath(path, "containers");
  const initContainersPath = fieldPath(path, "initContainers");
  return [
    ...(containers.length === 0 ? [required(containersPath)] : []),
    ...restartPolicyProblems(spec.restartPolicy, fieldPath(path, "restartPolicy"), restart),
    ...volumeProblems(volumes, fieldPath(path, "volumes")),
    ...containerNameProblems([
      ...containers.map((container, index) => ({ container, path: itemPath(containersPath, index) })),
      ...initContainers.map((container, index) => ({ container, path: itemPath(initContainersPath, index) })),
    ]),
    ...containers.flatMap((container, index) =>
      containerProblems(asRecord(container), itemPath(containersPath, index), volumeNames),
    ),
    ...initContainers.flatMap((container, index) => [
      ...containerProblems(asRecord(container), itemPath(initContainersPath, index), volumeNames),
      ...initContainerRestartPolicyProblems(asRecord(container), itemPath(initContainersPath, index)),
    ]),
  ];
}

function restartPolicyProblems(policy: unknown, path: string, rule: RestartPolicyRule): string[] {
  if (isUnset(policy) || policy === "") {
    return rule.required ? [required(path, `supported values: ${rule.supported.join(", ")}`)] : [];
  }
  return typeof policy === "string" && !rule.supported.includes(policy)
    ? [unsupported(path, policy, rule.supported)]
    : [];
}

function volumeProblems(volumes: readonly unknown[], path: string): string[] {
  const sources = volumeSources();
  const seen = new Set<string>();
  return volumes.flatMap((entry, index) => {
    const volume = asRecord(entry);
    const volumePath = itemPath(path, index);
    return [
      ...uniqueDnsLabelProblems(volume.name, fieldPath(volumePath, "name"), seen),
      ...exactlyOneVolumeSourceProblems(volume, volumePath, sources),
    ];
  });
}

function exactlyOneVolumeSourceProblems(
  volume: Record<string, unknown>,
  path: string,
  sources: readonly string[],
): string[] {
  const present = sources.filter((source) => !isUnset(volume[source]));
  if (present.length === 0) return [required(path, "must specify a volume type")];
  return present
    .slice(1)
    .map((extra) => problem(fieldPath(path, extra), "Forbidden: may not specify more than 1 volume type"));
}

/** Container names are unique across regular and init containers together. */
function containerNameProblems(containers: ReadonlyArray<{ container: unknown; path: string }>): string[] {
  const seen = new Set<string>();
  return containers.flatMap(({ container, path }) =>
    uniqueDnsLabelProblems(asRecord(container).name, fieldPath(path, "name"), seen),
  );
}

function uniqueDnsLabelProblems(name: unknown, path: string, seen: Set<string>): string[] {
  if (typeof name !== "string") return [];
  if (name === "") return [required(path)];
  const problems = dns1123LabelErrors(name).map((error) => invalid(path, name, error));
  if (seen.has(name)) problems.push(duplicate(path, name));
  seen.add(name);
  return problems;
}

function containerProblems(
  container: Record<string, unknown>,
  path: string,
  volumeNames: ReadonlySet<string>,
): string[] {
  return [
    ...(isUnset(container.image) || container.image === "" ? [required(fieldPath(path, "image"))] : []),
    ...pullPolicyProblems(container.imagePullPolicy, fieldPath(path, "imagePullPolicy")),
    ...volumeMountProblems(asList(container.volumeMounts), fieldPath(path, "volumeMounts"), volumeNames),
    ...asList(container.env).flatMap((env, index) =>
      envVarProblems(asRecord(env), itemPath(fieldPath(path, "env"), index)),
    ),
    ...asList(container.envFrom).flatMap((envFrom, index) =>
      envFromProblems(asRecord(envFrom), itemPath(fieldPath(path, "envFrom"), index)),
    ),
    ...requestOverLimitProblems(asRecord(container.resources), fieldPath(path, "resources")),
  ];
}

/** `ValidateResourceRequirements`: a request above the limit of the same resource. */
function requestOverLimitProblems(resources: Record<string, unknown>, path: string): string[] {
  const requests = asRecord(resources.requests);
  const limits = asRecord(resources.limits);
  return Object.entries(requests).flatMap(([resource, request]) => {
    const limit = limits[resource];
    const requested = quantityValue(String(request));
    const allowed = limit === undefined ? undefined : quantityValue(String(limit));
    if (requested === undefined || allowed === undefined || requested <= allowed) return [];
    return [
      invalid(
        `${fieldPath(path, "requests")}[${resource}]`,
        String(request),
        `must be less than or equal to ${resource} limit of ${String(limit)}`,
      ),
    ];
  });
}

function pullPolicyProblems(policy: unknown, path: string): string[] {
  // An empty policy is defaulted by the API server before it validates.
  return typeof policy === "string" && policy !== "" && !PULL_POLICIES.includes(policy)
    ? [unsupported(path, policy, PULL_POLICIES)]
    : [];
}

function initContainerRestartPolicyProblems(container: Record<string, unknown>, path: string): string[] {
  const policy = container.restartPolicy;
  return isUnset(policy) || (typeof policy === "string" && INIT_CONTAINER_RESTART_POLICIES.includes(policy))
    ? []
    : [unsupported(fieldPath(path, "restartPolicy"), policy, INIT_CONTAINER_RESTART_POLICIES)];
}

function volumeMountProblems(
  mounts: readonly unknown[],
  path: string,
  volumeNames: ReadonlySet<string>,
): string[] {
  const mountPaths = new Set<string>();
  return mounts.flatMap((entry, index) => {
    const mount = asRecord(entry);
    const mountPath = itemPath(path, index);
    const problems: string[] = [];
    if (typeof mount.name === "string" && !volumeNames.has(mount.name)) {
      problems.push(problem(fieldPath(mountPath, "name"), `Not found: ${JSON.stringify(mount.name)}`));
    }
    if (typeof mount.mountPath === "string") {
      if (mount.mountPath === "") problems.push(required(fieldPath(mountPath, "mountPath")));
      else if (mountPaths.has(mount.mountPath)) {
        problems.push(invalid(fieldPath(mountPath, "mountPath"), mount.mountPath, "must be unique"));
      }
      mountPaths.add(mount.mountPath);
    }
    return problems;
  });
}

function envVarProblems(env: Record<string, unknown>, path: string): string[] {
  return [
    ...envVarNameProblems(env.name, fieldPath(path, "name")),
    ...valueFromProblems(env, fieldPath(path, "valueFrom")),
  ];
}

function envVarNameProblems(name: unknown, path: string): string[] {
  if (typeof name !== "string") return [];
  if (name === "") return [required(path)];
  return ENV_VAR_NAME.test(name)
    ? []
    : [
        invalid(
          path,
          name,
          "a valid environment variable name must consist only of printable ASCII characters other than '='",
        ),
      ];
}

function valueFromProblems(env: Record<string, unknown>, path: string): string[] {
  if (isUnset(env.valueFrom)) return [];
  const valueFrom = asRecord(env.valueFrom);
  const sources = envValueSources();
  const present = sources.filter((source) => !isUnset(valueFrom[source]));
  return [
    ...(typeof env.value === "string" && env.value !== ""
      ? [invalid(path, "", "may not be specified when `value` is not empty")]
      : []),
    ...exactlyOneProblems(present, sources, path),
  ];
}

function envFromProblems(envFrom: Record<string, unknown>, path: string): string[] {
  const sources = envFromSources();
  return exactlyOneProblems(
    sources.filter((source) => !isUnset(envFrom[source])),
    sources,
    path,
  );
}

function exactlyOneProblems(present: readonly string[], sources: readonly string[], path: string): string[] {
  if (present.length === 0) return [required(path, `must specify one of: ${sources.join(", ")}`)];
  if (present.length > 1) {
    return [
      invalid(
        path,
        "",
        `may not have more than one field specified at a time (found: ${present.join(", ")})`,
      ),
    ];
  }
  return [];
}

function asRecord(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}

function asList(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

function isString(value: unknown): value is string {
  return typeof value === "string";
}
