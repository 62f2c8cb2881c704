/** The table of error codes in docs/errors.md, generated from the catalog in `src/errors.ts`. */
import { ERRORS } from "../src/errors.ts";
import { withBlock } from "./docs-block.ts";

export const ERROR_CODES_START = "<!-- error-codes:start -->";
export const ERROR_CODES_END = "<!-- error-codes:end -->";

const STAGE_EFFECT: Readonly<Record<string, string>> = {
  cli: "exit status 2",
  lint: "`lint`: an error (exit status 1), or a warning where the meaning says so",
  config: "exit status 2",
  job: "the job is refused (render: exit 1)",
  parse: "fails the Buildkite job: `agent-stack-k8s failed to parse the job: …`",
  build: "fails the Buildkite job: `agent-stack-k8s failed to build a podSpec for the job: …`",
  podTemplate: "fails the Buildkite job",
  smp: "reported inside `ASK_PATCH_FAILED` during expansion",
  admission: "HTTP 400 from the webhook",
  certs: "exit status 1 (`certs`)",
  diagnose: "exit status 1 (`diagnose`)",
  buildkite:
    "launcher: logged; the poll or the job is retried with back-off (an invalid organization stops the launcher)",
  "buildkite-identity": "launcher: does not start (exit status 1), saying what to set",
  kubernetes: "launcher: logged; retried with back-off",
};

export function errorCodesMarkdown(): string {
  const rows = Object.entries(ERRORS).map(
    ([code, { stage, summary }]) => `| \`${code}\` | ${summary} | ${STAGE_EFFECT[stage] ?? stage} |`,
  );
  return ["| code | meaning | effect |", "| --- | --- | --- |", ...rows].join("\n");
}

export function withErrorCodesTable(text: string): string {
  return withBlock(text, ERROR_CODES_START, ERROR_CODES_END, errorCodesMarkdown(), "docs/errors.md");
}
