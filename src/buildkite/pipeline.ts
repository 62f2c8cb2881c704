/**
 * A pipeline YAML → the Buildkite jobs Buildkite would schedule for it, one per command step (times its
 * matrix combinations or its parallelism), each as a `JobTypeCommand`. `render --pipeline` feeds them
 * through the same expansion as the cluster does.
 *
 * The env of a job, from lowest to highest precedence. Buildkite merges pipeline env, then the env given
 * when a build is created, then step env, then its own `BUILDKITE_*` variables, which a pipeline cannot
 * override (forum.buildkite.community, "Changes to Environment Variable Precedence"; the environment
 * variables page marks them "cannot be modified"). `options.buildEnv` stands for the build-level
 * variables Buildkite sets, so it sits with Buildkite's own:
 * 1. the pipeline's `env`;
 * 2. the step's `env`;
 * 3. `options.buildEnv` (`BUILDKITE_BUILD_URL`, `BUILDKITE_BRANCH`, `BUILDKITE_REPO`…);
 * 4. what Buildkite derives from the step: `BUILDKITE_COMMAND`, `BUILDKITE_LABEL`, `BUILDKITE_STEP_KEY`,
 *    `BUILDKITE_PLUGINS`, `BUILDKITE_IMAGE` (step `image`, else the pipeline's), `BUILDKITE_ARTIFACT_PATHS`,
 *    `BUILDKITE_PARALLEL_JOB` / `BUILDKITE_PARALLEL_JOB_COUNT`.
 * The list is sorted by name (UTF-16 code units), so it never depends on the order of keys.
 *
 * Not done here: `$VAR` interpolation (`pipeline-interpolation.ts`, applied to the document first, as
 * `pipeline upload` does) and conditions that need a live build (`if`, `branches`); every command step
 * that is not `skip`ped gives its jobs.
 */
import { AgentStackError, isAgentStackError } from "../errors.ts";
import { type AgentRule, agentQueryRules, mergeAgentRules, parseAgents } from "./agent-query-rules.ts";
import { type BuildkiteJob, isJobUuid } from "./job.ts";
import { interpolateMatrix, interpolateMatrixDeep, type MatrixCombination } from "./matrix.ts";
import {
  describe,
  inputError,
  keyPath,
  lookup,
  mappingEntries,
  optionalScalarText,
  requireList,
} from "./pipeline-input.ts";
import { parsePipelineSource } from "./pipeline-source.ts";
import {
  type CommandStep,
  checkEnvName,
  commandSteps,
  type EnvEntry,
  parseEnv,
  parsePriority,
} from "./pipeline-steps.ts";
import { buildkitePluginsJson } from "./step-plugins.ts";

export interface PipelineToJobsOptions {
  /** Makes each job's uuid from where the job comes from (`render` derives it), or a counter in tests. */
  readonly newUuid: (origin: JobOrigin) => string;
  /** The stack's rules (`queue=kubernetes`) for jobs that name no queue. */
  readonly defaultAgentQueryRules: readonly string[];
  /** Build-level env Buildkite sets on every job of the build. */
  readonly buildEnv?: Readonly<Record<string, string>>;
  /** The file the pipeline came from, named at the start of error messages. */
  readonly source?: string;
}

/** The step a job comes from, for messages and for uuids that do not change between runs. */
export interface StepRef {
  /** `steps[2]`, `steps[1].steps[0]`, or `steps[2].command` for the nested form. */
  readonly path: string;
  readonly key: string | undefined;
  readonly label: string | undefined;
}

export interface JobOrigin {
  readonly step: StepRef;
  /** The job's position among its step's jobs (matrix combinations, parallel jobs); 0 for most. */
  readonly index: number;
  /** `parallel job 2 of 4`, `matrix os=linux, arch=arm64`; undefined for a step's only job. */
  readonly variant: string | undefined;
}

export interface PipelineJob extends JobOrigin {
  readonly job: BuildkiteJob;
  /** The step's plugins (matrix values filled in), in `BUILDKITE_PLUGINS` order, and where they are written. */
  readonly plugins: CommandStep["plugins"];
  /** Where `BUILDKITE_IMAGE` comes from: the step's `image`, the pipeline's, or neither. */
  readonly imageFrom: "step" | "pipeline" | undefined;
}

/** What the pipeline sets for all its steps. */
interface PipelineDefaults {
  readonly env: readonly EnvEntry[];
  readonly agents: readonly AgentRule[];
  readonly image: string | undefined;
  readonly priority: number | undefined;
}

const NO_DEFAULTS: PipelineDefaults = { env: [], agents: [], image: undefined, priority: undefined };

export function pipelineToJobs(yamlText: string, options: PipelineToJobsOptions): BuildkiteJob[] {
  return namingSource(options.source, () => jobsOf(parsePipelineYaml(yamlText), options)).map(
    (entry) => entry.job,
  );
}

/**
 * Parses pipeline YAML as Buildkite's agent does (YAML 1.2 core schema, anchors and `<<` merge keys,
 * duplicate keys refused). Mappings become `Map`s so that key order survives.
 */
export function parsePipelineYaml(yamlText: string): unknown {
  return parsePipelineSource(yamlText).document;
}

/** The jobs of an already parsed pipeline (from `parsePipelineYaml`, or `JSON.parse` of a pipeline.json). */
export function pipelineDocumentToJobs(document: unknown, options: PipelineToJobsOptions): BuildkiteJob[] {
  return pipelineJobs(document, options).map((entry) => entry.job);
}

/** Each job of an already parsed pipeline, with the step it comes from. */
export function pipelineJobs(document: unknown, options: PipelineToJobsOptions): PipelineJob[] {
  return namingSource(options.source, () => jobsOf(document, options));
}

function jobsOf(document: unknown, options: PipelineToJobsOptions): PipelineJob[] {
  const buildEnv = buildEnvEntries(options.buildEnv ?? {});
  const { defaults, steps, stepsPath } = readPipeline(document);
  return commandSteps(steps, stepsPath).flatMap((step) => stepJobs(step, defaults, buildEnv, options));
}

function readPipeline(document: unknown): {
  defaults: PipelineDefaults;
  steps: readonly unknown[];
  stepsPath: string;
} {
  if (Array.isArray(document)) return { defaults: NO_DEFAULTS, steps: document, stepsPath: "" };
  const entries = mappingEntries(document, "");
  if (entries === undefined) {
    throw inputError(
      "",
      `expected a pipeline (a mapping with \`steps\`, or a list of steps), got ${describe(document)}`,
    );
  }
  const defaults: PipelineDefaults = {
    env: parseEnv(lookup(entries, "env"), "env"),
    agents: parseAgents(lookup(entries, "agents"), "agents"),
    image: optionalScalarText(lookup(entries, "image"), "image"),
    priority: parsePriority(lookup(entries, "priority"), "priority"),
  };
  return {
    defaults,
    steps: requireList(lookup(entries, "steps"), "steps", "a list of steps"),
    stepsPath: "steps",
  };
}

function buildEnvEntries(buildEnv: Readonly<Record<string, string>>): EnvEntry[] {
  return Object.entries(buildEnv).map(([name, value]) => {
    checkEnvName(name, keyPath("buildEnv", name));
    return [name, value] as const;
  });
}

function stepJobs(
  step: CommandStep,
  defaults: PipelineDefaults,
  buildEnv: readonly EnvEntry[],
  options: PipelineToJobsOptions,
): PipelineJob[] {
  if (step.skipped) return [];
  const ref: StepRef = { path: step.path, key: step.key, label: step.label };
  const job = (
    variant: CommandStep,
    index: number,
    variantText: string | undefined,
    parallelEnv: readonly EnvEntry[] = [],
  ): PipelineJob => {
    const origin: JobOrigin = { step: ref, index, variant: variantText };
    const env = [...buildEnv, ...buildkiteStepEnv(variant, defaults), ...parallelEnv];
    const imageFrom = variant.image ? "step" : defaults.image ? "pipeline" : undefined;
    return {
      ...origin,
      job: commandJob(variant, defaults, env, origin, options),
      plugins: variant.plugins,
      imageFrom,
    };
  };
  if (step.matrix !== undefined) {
    return step.matrix.map((combination, index) =>
      job(withMatrix(step, combination), index, `matrix ${matrixText(combination)}`),
    );
  }
  if (step.parallelism !== undefined) {
    const count = step.parallelism;
    return Array.from({ length: count }, (_, index) =>
      job(step, index, `parallel job ${index + 1} of ${count}`, [
        ["BUILDKITE_PARALLEL_JOB", String(index)],
        ["BUILDKITE_PARALLEL_JOB_COUNT", String(count)],
      ]),
    );
  }
  return [job(step, 0, undefined)];
}

/** `os=linux, arch=arm64`, or the value alone for a list matrix. */
function matrixText(combination: MatrixCombination): string {
  return [...combination]
    .map(([dimension, value]) => (dimension === "" ? value : `${dimension}=${value}`))
    .join(", ");
}

function commandJob(
  step: CommandStep,
  defaults: PipelineDefaults,
  buildkiteEnv: readonly EnvEntry[],
  origin: JobOrigin,
  options: PipelineToJobsOptions,
): BuildkiteJob {
  const env = new Map<string, string>([...defaults.env, ...step.env, ...buildkiteEnv]);
  return {
    uuid: newJobUuid(options, origin),
    command: step.command,
    env: [...env].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, value]) => `${name}=${value}`),
    agentQueryRules: agentQueryRules(
      mergeAgentRules(defaults.agents, step.agents),
      options.defaultAgentQueryRules,
    ),
    priority: { number: step.priority ?? defaults.priority ?? 0 },
  };
}

/** The variables Buildkite sets from the step itself. */
function buildkiteStepEnv(step: CommandStep, defaults: PipelineDefaults): EnvEntry[] {
  const env: EnvEntry[] = [["BUILDKITE_COMMAND", step.command]];
  const optional: Array<readonly [string, string | undefined]> = [
    ["BUILDKITE_LABEL", step.label],
    ["BUILDKITE_STEP_KEY", step.key],
    ["BUILDKITE_PLUGINS", buildkitePluginsJson(step.plugins)],
    ["BUILDKITE_IMAGE", step.image || defaults.image || undefined],
    ["BUILDKITE_ARTIFACT_PATHS", step.artifactPaths],
  ];
  for (const [name, value] of optional) if (value !== undefined) env.push([name, value]);
  return env;
}

/**
 * The step with one combination's values in the attributes Buildkite interpolates: command, label, env
 * values (not names), plugins (names and configuration) and agents; also `image` and `artifact_paths`,
 * which go-pipeline interpolates with the step's other attributes.
 */
function withMatrix(step: CommandStep, combination: MatrixCombination): CommandStep {
  const at = (key: string): string => keyPath(step.path, key);
  const text = (value: string | undefined, path: string): string | undefined =>
    value === undefined ? undefined : interpolateMatrix(value, combination, path);
  return {
    ...step,
    command: interpolateMatrix(step.command, combination, at("command")),
    label: text(step.label, at("label")),
    image: text(step.image, at("image")),
    artifactPaths: text(step.artifactPaths, at("artifact_paths")),
    env: step.env.map(([name, value]) => [
      name,
      interpolateMatrix(value, combination, keyPath(at("env"), name)),
    ]),
    plugins: step.plugins.map((plugin) => ({
      ...plugin,
      name: interpolateMatrix(plugin.name, combination, plugin.path),
      config: interpolateMatrixDeep(plugin.config, combination, plugin.path),
    })),
    agents: step.agents.map(([key, value]) => {
      const path = keyPath(at("agents"), key);
      return [interpolateMatrix(key, combination, path), interpolateMatrix(value, combination, path)];
    }),
  };
}

function newJobUuid(options: PipelineToJobsOptions, origin: JobOrigin): string {
  const uuid = options.newUuid(origin);
  if (!isJobUuid(uuid)) {
    throw new AgentStackError(
      "ASK_JOB_INVALID",
      `the uuid factory returned ${JSON.stringify(uuid)}, which is not a job UUID (lowercase hex digits and dashes)`,
      { path: "$.uuid" },
    );
  }
  return uuid;
}

/** Prefixes input errors with the file they are about. */
function namingSource<T>(source: string | undefined, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (source === undefined || !isAgentStackError(error, "ASK_INPUT_INVALID")) throw error;
    throw new AgentStackError(error.code, `${source}: ${error.message}`, {
      path: error.path,
      cause: error.cause,
    });
  }
}
