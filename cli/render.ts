/**
 * `agent-stack-k8s render`: the Job a Buildkite job (`--job`) or each command step of a pipeline
 * (`--pipeline`) becomes, printed without a cluster. It goes through the same admission code as the
 * webhook. A job the stack would fail prints its reason on stderr and makes the exit status 1.
 */
import { randomUUID } from "node:crypto";
import { type BuildkiteJob, parseBuildkiteJob } from "../src/buildkite/job.ts";
import { pipelineToJobs } from "../src/buildkite/pipeline.ts";
import type { CommandFlag } from "../src/config/args.ts";
import { formatHelp } from "../src/config/help.ts";
import { loadConfig } from "../src/config/load.ts";
import type { Config } from "../src/config/types.ts";
import { AgentStackError } from "../src/errors.ts";
import { podTemplatesFrom } from "../src/render/pod-templates.ts";
import { renderJob } from "../src/render/render-job.ts";
import { type CommandIo, formatObjects, type OutputFormat, readInput } from "./io.ts";

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
  {
    name: "pod-template",
    valueName: "FILE",
    type: "stringList",
    description: "PodTemplate objects (YAML or JSON) that steps name with podTemplate; repeatable",
  },
  {
    name: "output",
    short: "o",
    valueName: "FORMAT",
    type: "string",
    values: ["yaml", "json"],
    default: "yaml",
    description: "output format",
  },
] as const satisfies readonly CommandFlag[];

/** Build env for pipeline jobs: clearly not a real build, but enough for every annotation. */
const PIPELINE_BUILD_ENV = {
  BUILDKITE_BUILD_URL: "https://buildkite.com/example-org/example-pipeline/builds/1",
  BUILDKITE_BRANCH: "main",
  BUILDKITE_REPO: "https://github.com/example-org/example-repo.git",
  BUILDKITE_PIPELINE_SLUG: "example-pipeline",
};

export function renderCommand(args: readonly string[], io: CommandIo): number {
  const loaded = loadConfig({
    args,
    env: io.env,
    commandFlags: RENDER_FLAGS,
    subcommand: "render",
    readFile: io.readInput,
  });
  if (loaded.help) {
    io.stdout(`${formatHelp("render", RENDER_FLAGS)}\n`);
    return 0;
  }
  for (const warning of loaded.warnings) io.stderr(`warning: ${warning}\n`);
  const { flags, config } = loaded;
  if (loaded.positionals.length > 0) usage(`unexpected argument ${JSON.stringify(loaded.positionals[0])}`);
  const jobs = jobsToRender(flags.job, flags.pipeline, config, io);
  const podTemplates = podTemplatesFrom(
    flags["pod-template"].map((path) => ({ path, text: readInput(io, path, "--pod-template") })),
  );
  const rendered: unknown[] = [];
  let failed = 0;
  for (const job of jobs) {
    const result = renderJob(job, { config, podTemplates });
    if (!result.ok) {
      failed += 1;
      io.stderr(`job ${result.uuid} would be failed (${result.code}):\n${result.message}\n`);
      continue;
    }
    for (const warning of result.warnings) io.stderr(`warning: job ${job.uuid}: ${warning}\n`);
    rendered.push(result.job);
  }
  if (rendered.length > 0) io.stdout(formatObjects(rendered, flags.output as OutputFormat));
  return failed > 0 ? 1 : 0;
}

function jobsToRender(
  job: string | undefined,
  pipeline: string | undefined,
  config: Config,
  io: CommandIo,
): BuildkiteJob[] {
  if ((job === undefined) === (pipeline === undefined))
    usage("give exactly one of --job FILE and --pipeline FILE");
  if (job !== undefined) return [parseBuildkiteJob(parseJson(readInput(io, job, "--job"), job), job)];
  const path = pipeline as string;
  return pipelineToJobs(readInput(io, path, "--pipeline"), {
    newUuid: randomUUID,
    defaultAgentQueryRules: config.tags,
    buildEnv: PIPELINE_BUILD_ENV,
    source: path,
  });
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

function usage(message: string): never {
  throw new AgentStackError("ASK_CLI_USAGE", `render: ${message} (see agent-stack-k8s render --help)`);
}
