/**
 * `lint`: every problem of a pipeline file that would stop a step from running on the stack, found
 * offline, each at the line and column where it is written. The checks, in order:
 *
 *   parse → interpolate → Buildkite's schema and the typed plugin → expand every job → API server
 *
 * 1. the YAML parses (else nothing more can be said: the file is unparseable);
 * 2. every `$` interpolates, as `buildkite-agent pipeline upload` would interpolate it;
 * 3. the pipeline matches Buildkite's pipeline schema, and the kubernetes plugin its own schema, the
 *    Kubernetes types in it the OpenAPI document's (unknown fields, types, enums, required fields);
 * 4. every job of every command step is expanded exactly as `render` and the webhook expand it:
 *    whatever would fail the Buildkite job is an error with the code the job would be failed with;
 * 5. the Job each step becomes is checked as kube-apiserver would check it.
 * One mistake found by two checks is reported once, by the first that names it best.
 */
import type { PipelineJob } from "../buildkite/pipeline.ts";
import type { InterpolatedPipeline } from "../buildkite/pipeline-interpolation.ts";
import {
  formatPosition,
  type PathSegment,
  type PipelineSource,
  PipelineSyntaxError,
  parsePath,
  parsePipelineSource,
} from "../buildkite/pipeline-source.ts";
import type { Config } from "../config/types.ts";
import { type AgentStackError, type ErrorCode, isAgentStackError } from "../errors.ts";
import { type InvalidImage, InvalidImagesError, invalidImageText } from "../expand/image-checks.ts";
import type { PodTemplateResolver } from "../expand/index.ts";
import type { Job } from "../generated/k8s-types.ts";
import { parseImageReference } from "../images/reference.ts";
import { errorLocation, imageLocation, jobPathLocation, stepPath } from "../render/locations.ts";
import {
  interpolatedDocument,
  jobsOfDocument,
  type PipelineJobsOptions,
  stepName,
} from "../render/pipeline-jobs.ts";
import { renderJob } from "../render/render-job.ts";
import { apiServerProblems, fieldPathText } from "./api-server.ts";
import type { SchemaProblem } from "./json-schema.ts";
import { isPluginDefinition, pipelineSchemaProblems } from "./pipeline-schema.ts";
import { oneLine, type Problem, type Severity, sortProblems } from "./problem.ts";

export interface LintContext {
  readonly config: Config;
  /** The `--pod-template` files; without any, a step's `podTemplate` cannot be found. */
  readonly podTemplates: PodTemplateResolver;
  readonly interpolate: boolean;
  readonly env?: Readonly<Record<string, string>>;
}

export interface LintResult {
  readonly problems: readonly Problem[];
  /** The YAML did not parse: nothing else could be checked (exit status 2). */
  readonly unparseable: boolean;
}

export function lintPipeline(file: string, text: string, context: LintContext): LintResult {
  let source: PipelineSource;
  try {
    source = parsePipelineSource(text);
  } catch (error) {
    if (!(error instanceof PipelineSyntaxError)) throw error;
    const { line, column } = error.position;
    const problem: Problem = {
      file,
      line,
      column,
      severity: "error",
      message: error.reason,
      code: error.code,
    };
    return { problems: [problem], unparseable: true };
  }
  const options: PipelineJobsOptions = {
    file,
    interpolate: context.interpolate,
    defaultAgentQueryRules: context.config.tags,
    ...(context.env === undefined ? {} : { env: context.env }),
  };
  const { document, problems: interpolation, renamedKeys } = interpolatedDocument(source, options);
  const report = new Report(file, source, renamedKeys);
  for (const problem of interpolation) {
    report.add(
      problem.path,
      "error",
      problem.message,
      "ASK_PIPELINE_INTERPOLATION",
      problem.key ? "key" : "value",
    );
  }
  for (const problem of pipelineSchemaProblems(document)) report.schema(problem);
  let jobs: PipelineJob[] = [];
  try {
    jobs = jobsOfDocument(document, options);
  } catch (error) {
    if (!isAgentStackError(error, "ASK_INPUT_INVALID")) throw error;
    report.add(error.path ?? "", "error", error.message, "ASK_INPUT_INVALID");
  }
  for (const job of jobs) expandAndCheck(job, context, report);
  return { problems: report.problems(), unparseable: false };
}

function expandAndCheck(job: PipelineJob, context: LintContext, report: Report): void {
  const result = renderJob(job.job, { config: context.config, podTemplates: context.podTemplates });
  const step = stepName({ step: job.step, variant: undefined });
  if (!result.ok) {
    const { error } = result;
    if (error instanceof InvalidImagesError) {
      for (const invalid of error.invalid) {
        report.add(
          imageLocation(job, invalid.container),
          "error",
          `${step}: ${invalidImageText(invalid)}`,
          error.code,
        );
      }
      return;
    }
    report.add(
      errorLocation(job, error),
      severityOf(error, context),
      `${step}: ${result.message}`,
      error.code,
    );
    return;
  }
  for (const warning of result.warnings) {
    // The schema check reports unknown fields as errors, where they are written.
    if (/^unknown field /.test(warning)) continue;
    report.add(stepPath(job), "warning", `${step}: ${warning}`, "ASK_LINT_EXPANSION_WARNING");
  }
  for (const invalid of unpullableImages(result.job)) {
    report.add(
      imageLocation(job, invalid.container, true),
      "error",
      `${step}: ${invalidImageText(invalid)}: the kubelet would refuse to pull it (InvalidImageName)`,
      "ASK_IMAGE_REFERENCE",
    );
  }
  for (const problem of apiServerProblems(result.job)) {
    report.add(
      jobPathLocation(job, result.job, problem.path),
      "error",
      `${step}: the API server would reject the Job: ${fieldPathText(problem.path)}: ${problem.message}`,
      "ASK_LINT_API_SERVER",
    );
  }
}

/**
 * The expansion checks images before patches and the step's `image` attribute apply (as upstream
 * does); an image they bring is checked here, in the Job as it would be created.
 */
function unpullableImages(job: Job): InvalidImage[] {
  const spec = job.spec?.template?.spec;
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])].flatMap((container) => {
    const image = container.image ?? "";
    const parsed = parseImageReference(image);
    return parsed.ok ? [] : [{ container: container.name, image, error: parsed.error }];
  });
}

/**
 * Resource classes are the stack's configuration: without `--config` giving any, lint cannot know
 * the cluster's, and says so instead of failing the step.
 */
function severityOf(error: AgentStackError, context: LintContext): Severity {
  const { resourceClasses, defaultResourceClassName } = context.config;
  if (error.code === "ASK_RESOURCE_CLASS" && resourceClasses === undefined && !defaultResourceClassName) {
    return "warning";
  }
  return "error";
}

/** Problems of one file, located, with one mistake found by several checks reported once. */
class Report {
  readonly #file: string;
  readonly #source: PipelineSource;
  readonly #renamed: ReadonlyArray<{ readonly interpolated: PathSegment[]; readonly written: PathSegment[] }>;
  readonly #problems: Array<Problem & { readonly layer: number }> = [];

  constructor(file: string, source: PipelineSource, renamedKeys: InterpolatedPipeline["renamedKeys"]) {
    this.#file = file;
    this.#source = source;
    this.#renamed = renamedKeys
      .map((renamed) => ({
        interpolated: parsePath(renamed.interpolated),
        written: parsePath(renamed.written),
      }))
      .sort((a, b) => a.interpolated.length - b.interpolated.length);
  }

  add(
    path: string | readonly PathSegment[],
    severity: Severity,
    message: string,
    code: ErrorCode,
    at: "value" | "key" = "value",
  ): void {
    const { line, column } = this.#source.locate(
      this.#written(typeof path === "string" ? parsePath(path) : path),
      at,
    );
    this.#problems.push({
      file: this.#file,
      line,
      column,
      severity,
      message: oneLine(message),
      code,
      layer: layerOf(code),
    });
  }

  /** A path in the interpolated document, with the keys interpolation changed as they are written. */
  #written(path: readonly PathSegment[]): readonly PathSegment[] {
    let result = path;
    for (const { interpolated, written } of this.#renamed) {
      if (
        interpolated.length <= result.length &&
        interpolated.every((segment, index) => result[index] === segment)
      ) {
        result = [...written, ...result.slice(interpolated.length)];
      }
    }
    return result;
  }

  schema(problem: SchemaProblem): void {
    const plugin = isPluginDefinition(problem.definition);
    const code: ErrorCode = !plugin
      ? "ASK_LINT_PIPELINE_SCHEMA"
      : problem.kind === "unknown-field"
        ? "ASK_LINT_UNKNOWN_FIELD"
        : problem.kind === "field-case"
          ? "ASK_LINT_FIELD_CASE"
          : "ASK_LINT_KUBERNETES_SCHEMA";
    this.add(
      problem.path,
      problem.kind === "field-case" ? "warning" : "error",
      problem.message,
      code,
      problem.at,
    );
  }

  problems(): Problem[] {
    const byPlace = new Map<string, Array<Problem & { readonly layer: number }>>();
    for (const problem of this.#problems) {
      const key = formatPosition(problem);
      byPlace.set(key, [...(byPlace.get(key) ?? []), problem]);
    }
    const kept: Problem[] = [];
    const seen = new Set<string>();
    for (const group of byPlace.values()) {
      // A value the expansion refuses (its code is the job's failure code) needs no schema error too,
      // and a value the schema refuses no API-server error.
      const best = Math.min(
        ...group.filter((problem) => problem.severity === "error").map((problem) => problem.layer),
      );
      for (const { layer, ...problem } of group) {
        if (problem.severity === "error" && layer > best) continue;
        // The API server refuses a value once per place however many containers or objects have it.
        const what = problem.code === "ASK_LINT_API_SERVER" ? "" : problem.message;
        const identity = `${problem.line}:${problem.column}:${problem.code}:${problem.severity}:${what}`;
        if (seen.has(identity)) continue;
        seen.add(identity);
        kept.push(problem);
      }
    }
    return sortProblems(kept);
  }
}

/**
 * At one place, the errors of the earliest layer are kept: what fails the job (expansion, upload's
 * interpolation), then Buildkite's schema, the pipeline's shape, the plugin's schema, the API server.
 */
function layerOf(code: ErrorCode): number {
  switch (code) {
    case "ASK_LINT_PIPELINE_SCHEMA":
      return 1;
    case "ASK_INPUT_INVALID":
      return 2;
    case "ASK_LINT_KUBERNETES_SCHEMA":
    case "ASK_LINT_UNKNOWN_FIELD":
      return 3;
    case "ASK_LINT_API_SERVER":
      return 4;
    default:
      return 0;
  }
}
