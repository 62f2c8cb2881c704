/**
 * A pipeline file becomes the jobs `render` and `lint` expand, the way a build would see them: the
 * text is parsed, interpolated as `buildkite-agent pipeline upload` does it (with the example build's
 * env, and `--env` on top), and each command step gives its jobs. Job uuids are derived from the file
 * and the step's position, so the same input always gives the same Jobs and two renders can be diffed.
 */
import { createHash } from "node:crypto";
import { type JobOrigin, type PipelineJob, pipelineJobs } from "../buildkite/pipeline.ts";
import { type InterpolatedPipeline, interpolatePipeline } from "../buildkite/pipeline-interpolation.ts";
import { formatPosition, type PipelineSource, type Position } from "../buildkite/pipeline-source.ts";

/**
 * The build every pipeline job is rendered in: clearly not a real one, but with every variable the
 * stack reads (annotations) and the ones pipelines commonly interpolate.
 */
export const EXAMPLE_BUILD_ENV: Readonly<Record<string, string>> = {
  BUILDKITE: "true",
  BUILDKITE_BRANCH: "main",
  BUILDKITE_BUILD_ID: "00000000-0000-4000-8000-000000000000",
  BUILDKITE_BUILD_NUMBER: "1",
  BUILDKITE_BUILD_URL: "https://buildkite.com/example-org/example-pipeline/builds/1",
  BUILDKITE_COMMIT: "0000000000000000000000000000000000000000",
  BUILDKITE_MESSAGE: "Example build",
  BUILDKITE_ORGANIZATION_SLUG: "example-org",
  BUILDKITE_PIPELINE_DEFAULT_BRANCH: "main",
  BUILDKITE_PIPELINE_SLUG: "example-pipeline",
  BUILDKITE_REPO: "https://github.com/example-org/example-repo.git",
  BUILDKITE_SOURCE: "ui",
  BUILDKITE_TAG: "",
  CI: "true",
};

export interface PipelineJobsOptions {
  /** The file, as named in messages and, unless `uuidSeed` is given, in job uuids. */
  readonly file: string;
  /** Replaces the file name in the uuids: the same seed and step always give the same uuid. */
  readonly uuidSeed?: string;
  /** `false` leaves `$VAR`s as written, as `pipeline upload --no-interpolation` does. */
  readonly interpolate: boolean;
  /** Added to (and overriding) the example build's env. */
  readonly env?: Readonly<Record<string, string>>;
  /** The stack's rules (`queue=kubernetes`) for steps that name no queue. */
  readonly defaultAgentQueryRules: readonly string[];
}

/** The document with `$VAR`s interpolated (or not), and what could not be interpolated. */
export function interpolatedDocument(
  source: PipelineSource,
  options: PipelineJobsOptions,
): InterpolatedPipeline {
  if (!options.interpolate) return { document: source.document, problems: [], renamedKeys: [] };
  return interpolatePipeline(source.document, new Map(Object.entries(buildEnv(options))));
}

/** Throws `ASK_INPUT_INVALID` (with its `path`) for a pipeline of the wrong shape. */
export function jobsOfDocument(document: unknown, options: PipelineJobsOptions): PipelineJob[] {
  const seed = options.uuidSeed ?? options.file;
  return pipelineJobs(document, {
    newUuid: (origin) => jobUuid(seed, origin),
    defaultAgentQueryRules: options.defaultAgentQueryRules,
    buildEnv: buildEnv(options),
  });
}

function buildEnv(options: PipelineJobsOptions): Record<string, string> {
  return { ...EXAMPLE_BUILD_ENV, ...options.env };
}

/** Fixed: changing it would change every rendered uuid. */
const UUID_NAMESPACE = "9b1c5d2e-4f0a-4e7b-8c3d-6a2f1e0b7c54";

/**
 * An RFC 9562 version-5 (name-based, SHA-1) uuid of the seed, the step's path and the job's index
 * within its step: stable across runs, different for every job of a file.
 */
export function jobUuid(seed: string, origin: Pick<JobOrigin, "step" | "index">): string {
  const hash = createHash("sha1")
    .update(Buffer.from(UUID_NAMESPACE.replaceAll("-", ""), "hex"))
    .update(`${seed}\n${origin.step.path}\n${origin.index}`)
    .digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** `step "unit-tests"` (its key), else `step ":golang: Vet"` (its label), else `step steps[3]`. */
export function stepName(origin: Pick<JobOrigin, "step" | "variant">): string {
  const { key, label, path } = origin.step;
  const name = key !== undefined ? JSON.stringify(key) : label !== undefined ? JSON.stringify(label) : path;
  return origin.variant === undefined ? `step ${name}` : `step ${name} (${origin.variant})`;
}

/** `pipeline.yml:12:5` */
export function fileLocation(file: string, position: Position): string {
  return `${file}:${formatPosition(position)}`;
}
