/**
 * `agent-stack-k8s schema`: prints the JSON Schema of pipeline files with the kubernetes plugin fully
 * typed (`src/generated/pipeline-schema.json`), for editors: save it and point yaml-language-server at
 * it (`# yaml-language-server: $schema=./pipeline-schema.json`).
 */

import type { CommandIo } from "../runtime/command-io.ts";
import { pipelineSchemaText } from "../src/lint/pipeline-schema.ts";
import { usage } from "./pipeline-flags.ts";

const HELP = `Usage: agent-stack-k8s schema > pipeline-schema.json

Prints a JSON Schema (draft-07) for Buildkite pipeline files in which the kubernetes plugin is fully typed:
its own fields, and every Kubernetes type in it from the Kubernetes OpenAPI document. Point your editor at
the saved file, e.g. with this first line in the pipeline (yaml-language-server, as in VS Code's YAML
extension):

  # yaml-language-server: $schema=./pipeline-schema.json

Flags:
  -h, --help  show this help
`;

export function schemaCommand(args: readonly string[], io: CommandIo): number {
  if (args.includes("--help") || args.includes("-h")) {
    io.stdout(HELP);
    return 0;
  }
  if (args.length > 0) usage("schema", `unexpected argument ${JSON.stringify(args[0])}`);
  io.stdout(pipelineSchemaText());
  return 0;
}
