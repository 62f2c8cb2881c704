/**
 * What kube-apiserver would refuse in an expanded Job (`pkg/apis/core/validation`), for the parts a
 * pipeline decides: container and volume names, mounts of volumes that do not exist, env entries,
 * envFrom sources, resources (requests above limits), the closed sets of values of `enums.ts`, the
 * pod's restart policy, labels and annotations. Upstream finds these when the API server refuses
 * the Job and fails the Buildkite job with "Kubernetes rejected the podSpec built by agent-stack-k8s".
 * Problems are kube-apiserver's own words at the field's path in the Job.
 */
import type { PathSegment } from "../buildkite/pipeline-source.ts";
import { K8S_SCHEMA } from "../generated/k8s-schema.ts";
import type { Container, Job, PodSpec } from "../generated/k8s-types.ts";
import { enumOf } from "../k8s/enums.ts";
import { isDnsLabel, isLabelValue, isQualifiedName } from "../k8s/names.ts";
import { quantityText, quantityValue } from "../k8s/quantity.ts";

export interface ApiServerProblem {
  /** The field in the Job: `spec.template.spec.containers[0].volumeMounts[1].name`. */
  readonly path: readonly PathSegment[];
  readonly message: string;
}

type Path = readonly PathSegment[];

const POD_SPEC: Path = ["spec", "template", "spec"];
const JOB_RESTART_POLICIES = ["OnFailure", "Never"];
const TOTAL_ANNOTATIONS_MAX = 256 * 1024;
/** Printable ASCII but `=`: the 1.36 rule for `EnvVar.name`. */
const ENV_VAR_NAME = /^[\x20-\x3c\x3e-\x7e]+$/;

const sourcesOf = (definition: string, except: readonly string[] = []): string[] =>
  Object.keys(K8S_SCHEMA[definition]?.fields ?? {}).filter((field) => !except.includes(field));
const VOLUME_SOURCES = sourcesOf("io.k8s.api.core.v1.Volume", ["name"]);
const ENV_VALUE_SOURCES = sourcesOf("io.k8s.api.core.v1.EnvVarSource");
const ENV_FROM_SOURCES = sourcesOf("io.k8s.api.core.v1.EnvFromSource", ["prefix"]);

export function apiServerProblems(job: Job): ApiServerProblem[] {
  const spec = job.spec?.template?.spec;
  return [
    ...metadataProblems(job.metadata, ["metadata"]),
    ...metadataProblems(job.spec?.template?.metadata, ["spec", "template", "metadata"]),
    ...(spec === undefined ? [] : podSpecProblems(spec)),
  ];
}

function podSpecProblems(spec: PodSpec): ApiServerProblem[] {
  const volumes = spec.volumes ?? [];
  const declared = new Set(volumes.map((volume) => volume.name));
  const problems: ApiServerProblem[] = [];
  if (spec.restartPolicy !== undefined && !JOB_RESTART_POLICIES.includes(spec.restartPolicy)) {
    problems.push(unsupported([...POD_SPEC, "restartPolicy"], spec.restartPolicy, JOB_RESTART_POLICIES));
  }
  const seenVolumes = new Set<string>();
  volumes.forEach((volume, index) => {
    const at = [...POD_SPEC, "volumes", index];
    problems.push(...uniqueName(volume.name, [...at, "name"], seenVolumes));
    const present = VOLUME_SOURCES.filter(
      (source) => (volume as unknown as Record<string, unknown>)[source] != null,
    );
    if (present.length === 0) problems.push(required(at, "must specify a volume type"));
    for (const extra of present.slice(1)) {
      problems.push({ path: [...at, extra], message: "Forbidden: may not specify more than 1 volume type" });
    }
  });
  const seenContainers = new Set<string>();
  // As kube-apiserver: containers first, then init containers checked against their names too.
  for (const list of ["containers", "initContainers"] as const) {
    (spec[list] ?? []).forEach((container, index) => {
      const at = [...POD_SPEC, list, index];
      problems.push(...uniqueName(container.name, [...at, "name"], seenContainers));
      problems.push(...containerProblems(container, at, declared, list === "initContainers"));
    });
  }
  problems.push(...resourceProblems(spec.resources, [...POD_SPEC, "resources"]));
  return problems;
}

function containerProblems(
  container: Container,
  at: Path,
  volumes: ReadonlySet<string>,
  init: boolean,
): ApiServerProblem[] {
  const problems: ApiServerProblem[] = [];
  for (const field of ["imagePullPolicy", "terminationMessagePolicy"] as const) {
    const value = container[field];
    const allowed = enumOf("io.k8s.api.core.v1.Container", field) ?? [];
    if (value !== undefined && value !== "" && !allowed.includes(value))
      problems.push(unsupported([...at, field], value, allowed));
  }
  if (init && container.restartPolicy !== undefined && container.restartPolicy !== "Always") {
    problems.push(unsupported([...at, "restartPolicy"], container.restartPolicy, ["Always"]));
  }
  const mountPaths = new Set<string>();
  (container.volumeMounts ?? []).forEach((mount, index) => {
    const mountAt = [...at, "volumeMounts", index];
    if (!volumes.has(mount.name))
      problems.push({ path: [...mountAt, "name"], message: `Not found: ${JSON.stringify(mount.name)}` });
    if (!mount.mountPath) problems.push(required([...mountAt, "mountPath"]));
    else if (mountPaths.has(mount.mountPath))
      problems.push(invalid([...mountAt, "mountPath"], mount.mountPath, "must be unique"));
    mountPaths.add(mount.mountPath);
  });
  (container.env ?? []).forEach((env, index) => {
    const envAt = [...at, "env", index];
    if (!env.name) problems.push(required([...envAt, "name"]));
    else if (!ENV_VAR_NAME.test(env.name)) {
      problems.push(
        invalid(
          [...envAt, "name"],
          env.name,
          "a valid environment variable name must consist only of printable ASCII characters other than '='",
        ),
      );
    }
    if (env.valueFrom != null) {
      if (env.value)
        problems.push(invalid([...envAt, "valueFrom"], "", "may not be specified when `value` is not empty"));
      problems.push(
        ...exactlyOne(env.valueFrom as unknown as Record<string, unknown>, ENV_VALUE_SOURCES, [
          ...envAt,
          "valueFrom",
        ]),
      );
    }
  });
  (container.envFrom ?? []).forEach((source, index) => {
    problems.push(
      ...exactlyOne(source as unknown as Record<string, unknown>, ENV_FROM_SOURCES, [
        ...at,
        "envFrom",
        index,
      ]),
    );
  });
  (container.ports ?? []).forEach((port, index) => {
    const portAt = [...at, "ports", index];
    if (!(port.containerPort >= 1 && port.containerPort <= 65535)) {
      problems.push(
        invalid([...portAt, "containerPort"], port.containerPort, "must be between 1 and 65535, inclusive"),
      );
    }
    const protocols = enumOf("io.k8s.api.core.v1.ContainerPort", "protocol") ?? [];
    if (port.protocol !== undefined && !protocols.includes(port.protocol))
      problems.push(unsupported([...portAt, "protocol"], port.protocol, protocols));
  });
  problems.push(...resourceProblems(container.resources, [...at, "resources"]));
  return problems;
}

/** Requests cannot exceed limits; a quantity must parse (the decoder checked its form already). */
function resourceProblems(resources: Container["resources"], at: Path): ApiServerProblem[] {
  const problems: ApiServerProblem[] = [];
  const requests = resources?.requests ?? {};
  const limits = resources?.limits ?? {};
  for (const [name, request] of Object.entries(requests)) {
    const limit = limits[name];
    if (limit === undefined) continue;
    const requested = quantityValue(quantityText(request));
    const limited = quantityValue(quantityText(limit));
    if (requested !== undefined && limited !== undefined && requested > limited) {
      problems.push(
        invalid(
          [...at, "requests", name],
          request,
          `must be less than or equal to ${name} limit of ${limit}`,
        ),
      );
    }
  }
  return problems;
}

function metadataProblems(
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> } | undefined,
  at: Path,
): ApiServerProblem[] {
  const problems: ApiServerProblem[] = [];
  for (const [key, value] of Object.entries(metadata?.labels ?? {})) {
    if (!isQualifiedName(key))
      problems.push(
        invalid(
          [...at, "labels", key],
          key,
          "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, with an optional DNS subdomain prefix and '/'",
        ),
      );
    if (!isLabelValue(value))
      problems.push(
        invalid(
          [...at, "labels", key],
          value,
          "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63)",
        ),
      );
  }
  let size = 0;
  for (const [key, value] of Object.entries(metadata?.annotations ?? {})) {
    if (!isQualifiedName(key.toLowerCase()))
      problems.push(
        invalid(
          [...at, "annotations", key],
          key,
          "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, with an optional DNS subdomain prefix and '/'",
        ),
      );
    size += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  if (size > TOTAL_ANNOTATIONS_MAX)
    problems.push({
      path: [...at, "annotations"],
      message: `Too long: must have at most ${TOTAL_ANNOTATIONS_MAX} bytes`,
    });
  return problems;
}

function uniqueName(name: string | undefined, at: Path, seen: Set<string>): ApiServerProblem[] {
  if (!name) return [required(at)];
  const problems: ApiServerProblem[] = [];
  if (!isDnsLabel(name)) {
    problems.push(
      invalid(
        at,
        name,
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
      ),
    );
  }
  if (seen.has(name)) problems.push({ path: at, message: `Duplicate value: ${JSON.stringify(name)}` });
  seen.add(name);
  return problems;
}

function exactlyOne(
  value: Record<string, unknown>,
  sources: readonly string[],
  at: Path,
): ApiServerProblem[] {
  const present = sources.filter((source) => value[source] != null);
  if (present.length === 0) return [required(at, `must specify one of: ${sources.join(", ")}`)];
  if (present.length > 1) {
    return [
      invalid(at, "", `may not have more than one field specified at a time (found: ${present.join(", ")})`),
    ];
  }
  return [];
}

function required(path: Path, detail?: string): ApiServerProblem {
  return { path, message: detail === undefined ? "Required value" : `Required value: ${detail}` };
}

function invalid(path: Path, value: unknown, reason: string): ApiServerProblem {
  return { path, message: `Invalid value: ${JSON.stringify(value)}: ${reason}` };
}

function unsupported(path: Path, value: unknown, allowed: readonly string[]): ApiServerProblem {
  const choices = allowed.map((choice) => JSON.stringify(choice)).join(", ");
  return { path, message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${choices}` };
}

/** `spec.template.spec.containers[0].volumeMounts[1].name`, as kube-apiserver prints a field. */
export function fieldPathText(path: Path): string {
  return path
    .map((segment, index) =>
      typeof segment === "number"
        ? `[${segment}]`
        : index === 0
          ? segment
          : /^[A-Za-z_][A-Za-z0-9_]*$/.test(segment)
            ? `.${segment}`
            : `[${segment}]`,
    )
    .join("");
}
