/**
 * `agent-stack-k8s render`: the Job a Buildkite job (`--job`) or each command step of a pipeline
 * (`--pipeline`) becomes, printed without a cluster. It goes through the same admission code as the
 * webhook. Fit for CI: the same input gives the same output (job uuids are derived from the file and
 * the step), and it is all or nothing — if any job would be failed, nothing is printed on stdout,
 * each failure is reported on stderr at its step's file:line, and the exit status is 1.
 */

import { type CommandIo, readInput } from "../runtime/command-io.ts";
import { type BuildkiteJob, parseBuildkiteJob } from "../src/buildkite/job.ts";
import type { PipelineJob } from "../src/buildkite/pipeline.ts";
import { type PipelineSource, parsePipelineSource } from "../src/buildkite/pipeline-source.ts";
import type { CommandFlag } from "../src/config/args.ts";
import { formatHelp } from "../src/config/help.ts";
import type { Config } from "../src/config/types.ts";
import { AgentStackError, isAgentStackError } from "../src/errors.ts";
import type { PodTemplateResolver } from "../src/expand/index.ts";
import { formatObjects, type OutputFormat } from "../src/render/format-objects.ts";
import { errorLocation, stepPath } from "../src/render/locations.ts";
import { fileLocation, interpolatedDocument, jobsOfDocument, stepName } from "../src/render/pipeline-jobs.ts";
import { renderJob } from "../src/render/render-job.ts";
import {
  envFlags,
  loadPipelineCommandConfig,
  PIPELINE_FLAGS,
  podTemplateFiles,
  usage,
} from "./pipeline-flags.ts";

export const RENDER_FLAGS = [
  {
    name: "job",
    valueName: "FILE",
    type: "string",
    description: "a Buildkite job as JSON (a GraphQL JobTypeCommand); - reads stdin",
  },
  {
    name: "pipeline",
    valueName: "FILE",
    type: "string",
    description: "a pipeline YAML: every command step gives one Job; - reads stdin",
  },
  ...PIPELINE_FLAGS,
  {
    name: "uuid-seed",
    valueName: "TEXT",
    type: "string",
    description:
      "job uuids are derived from TEXT and each step's position instead of from the --pipeline path (the same seed gives the same uuids)",
  },
  {
    name: "output",
    short: "o",
    type: "string",
    values: ["yaml", "json"],
    default: "yaml",
    description: "output format",
  },
] as const satisfies readonly CommandFlag[];

const HELP = {
  arguments: "(--job FILE | --pipeline FILE) [flags]",
  summary:
    "Prints the Job a Buildkite job, or each command step of a pipeline, becomes: the skeleton Job goes through the\nwebhook's admission code. If any job would be failed, nothing is printed and the exit status is 1.",
  refusesOtherCommandsFlags: true,
} as const;

/** A job to render and how messages name it: its step in a pipeline file, or the job file. */
interface RenderInput {
  readonly job: BuildkiteJob;
  /** `step "unit-tests"`, `job 0195…` */
  readonly name: string;
  /** `pipeline.yml:12:5` (the step's, or that of the place of an error), `job.json` */
  readonly where: (error?: AgentStackError) => string;
}

export function renderCommand(args: readonly string[], io: CommandIo): number {
  const loaded = loadPipelineCommandConfig("render", args, io, RENDER_FLAGS);
  if (loaded.help) {
    io.stdout(`${formatHelp("render", RENDER_FLAGS, HELP)}\n`);
    return 0;
  }
  for (const warning of loaded.warnings) io.stderr(`agent-stack-k8s render: warning: ${warning}\n`);
  const { flags, config } = loaded;
  const [extra] = loaded.positionals;
  if (extra !== undefined) {
    const hint =
      flags.job === undefined && flags.pipeline === undefined
        ? `; a pipeline is given with --pipeline ${extra}`
        : "";
    usage("render", `unexpected argument ${JSON.stringify(extra)}${hint}`);
  }
  if ((flags.job === undefined) === (flags.pipeline === undefined)) {
    usage("render", "give exactly one of --job FILE and --pipeline FILE");
  }
  const env = envFlags("render", flags.env);
  const inputs =
    flags.job !== undefined
      ? [jobFileInput(flags.job, io)]
      : pipelineInputs(flags.pipeline as string, io, config, {
          interpolate: !flags["no-interpolation"],
          env,
          ...(flags["uuid-seed"] === undefined ? {} : { uuidSeed: flags["uuid-seed"] }),
        });
  const podTemplates = podTemplateFiles(io, flags["pod-template"]);
  const output = flags.output as OutputFormat;
  if (inputs.length === 0) {
    io.stderr(`${flags.pipeline}: the pipeline has no command steps, so no Job to render\n`);
    if (output === "json") io.stdout(formatObjects([], "json"));
    return 0;
  }
  return renderAll(inputs, config, podTemplates, output, io);
}

function renderAll(
  inputs: readonly RenderInput[],
  config: Config,
  podTemplates: PodTemplateResolver,
  output: OutputFormat,
  io: CommandIo,
): number {
  const rendered: unknown[] = [];
  let failed = 0;
  for (const input of inputs) {
    const result = renderJob(input.job, { config, podTemplates });
    if (!result.ok) {
      failed += 1;
      io.stderr(
        `${input.where(result.error)}: error: ${input.name} would be failed: ${result.message} (${result.code})\n`,
      );
      continue;
    }
    for (const warning of result.warnings)
      io.stderr(`${input.where()}: warning: ${input.name}: ${warning}\n`);
    rendered.push(result.job);
  }
  if (failed > 0) {
    io.stderr(`${failed} of ${inputs.length} jobs would be failed; nothing was printed\n`);
    return 1;
  }
  io.stdout(formatObjects(rendered, output));
  return 0;
}

function jobFileInput(path: string, io: CommandIo): RenderInput {
  const job = parseBuildkiteJob(parseJson(readInput(io, path, "--job"), path), path);
  return { job, name: `job ${job.uuid}`, where: () => path };
}

function pipelineInputs(
  path: string,
  io: CommandIo,
  config: Config,
  options: { interpolate: boolean; env: Record<string, string>; uuidSeed?: string },
): RenderInput[] {
  const source = inFile(path, undefined, () => parsePipelineSource(readInput(io, path, "--pipeline")));
  const jobOptions = { file: path, defaultAgentQueryRules: config.tags, ...options };
  const { document, problems } = interpolatedDocument(source, jobOptions);
  if (problems.length > 0) {
    const lines = problems.map(
      (problem) => `${fileLocation(path, source.locate(problem.path))}: ${problem.message}`,
    );
    throw new AgentStackError(
      "ASK_PIPELINE_INTERPOLATION",
      `${path} cannot be interpolated as buildkite-agent pipeline upload would (write $$ for a literal $, or use --no-interpolation): ${lines.join("; ")}`,
    );
  }
  const jobs = inFile(path, source, () => jobsOfDocument(document, jobOptions));
  return jobs.map((job) => pipelineInput(path, source, job));
}

function pipelineInput(file: string, source: PipelineSource, job: PipelineJob): RenderInput {
  return {
    job: job.job,
    name: stepName(job),
    where: (error) =>
      fileLocation(file, source.locate(error === undefined ? stepPath(job) : errorLocation(job, error))),
  };
}

/** Input errors name the file, and the line and column when there is a place. */
function inFile<T>(file: string, source: PipelineSource | undefined, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (!isAgentStackError(error, "ASK_INPUT_INVALID")) throw error;
    const where = source !== undefined && error.path ? fileLocation(file, source.locate(error.path)) : file;
    throw new AgentStackError(error.code, `${where}: ${error.message}`, {
      ...(error.path === undefined ? {} : { path: error.path }),
      cause: error,
    });
  }
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AgentStackError("ASK_INPUT_INVALID", `${path}: not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
