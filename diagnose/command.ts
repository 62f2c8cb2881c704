/**
 * `agent-stack-k8s diagnose`: what support asks for, from a workstation with a kubeconfig, in one
 * archive: the stack's logs, Jobs, pods and Events, its configuration (redacted), its webhook
 * configuration and certificate, the webhook's readiness and the permissions of its service accounts.
 * A summary goes to stdout, one line per part. See run.ts for the parts.
 *
 * This module reads only the flags: the Kubernetes client is loaded with run.ts, once there is
 * something to run (`--help` does not pay for it).
 */
import type { CommandIo } from "../runtime/command-io.ts";
import type { CommandFlag } from "../src/config/args.ts";
import { DURATION_SYNTAX, parseDuration, SECOND } from "../src/config/duration.ts";
import { formatHelp } from "../src/config/help.ts";
import { loadConfig } from "../src/config/load.ts";
import { checkStringRule } from "../src/config/rules.ts";
import { AgentStackError } from "../src/errors.ts";
import { isLabelValue } from "../src/k8s/names.ts";
import type { DiagnoseRunContext } from "./run.ts";

export const DIAGNOSE_FLAGS = [
  {
    name: "release",
    valueName: "NAME",
    type: "string",
    description: "the Helm release to look at, when the namespace has more than one (default: the only one)",
  },
  {
    name: "job",
    valueName: "UUID",
    type: "stringList",
    description:
      "a Buildkite job: its Job, pods, Events and all its containers' logs (default: every Job of the stack, no logs)",
  },
  {
    name: "since",
    valueName: "DURATION",
    type: "string",
    description:
      "only the last DURATION of the launcher's, webhook's and certs keeper's logs, e.g. 1h (default: all kubelet kept)",
  },
  {
    name: "out",
    valueName: "FILE",
    type: "string",
    description: "the archive to write (default: agent-stack-k8s-diagnose-<namespace>-<time>.tar.gz here)",
  },
] as const satisfies readonly CommandFlag[];

/** `--namespace` is the configuration's flag, so the generated help does not list it here. */
const NAMESPACE_HELP =
  "The stack's namespace is --namespace NS ($NAMESPACE); without it, the kubeconfig context's, else default.";

export async function diagnoseCommand(
  args: readonly string[],
  io: CommandIo,
  context: DiagnoseRunContext = {},
): Promise<number> {
  const loaded = loadConfig({ args, env: io.env, commandFlags: DIAGNOSE_FLAGS, readFile: io.readInput });
  if (loaded.help) {
    io.stdout(`${formatHelp("diagnose", DIAGNOSE_FLAGS)}\n${NAMESPACE_HELP}\n`);
    return 0;
  }
  const { flags } = loaded;
  if (loaded.positionals.length > 0) usage(`unexpected argument ${JSON.stringify(loaded.positionals[0])}`);
  for (const uuid of flags.job) {
    const failure = checkStringRule("uuid", uuid);
    if (failure !== undefined)
      usage(`--job ${JSON.stringify(uuid)} ${failure.problem}; expected ${failure.expected}`);
  }
  if (flags.release !== undefined && !isLabelValue(flags.release)) {
    usage(`--release ${JSON.stringify(flags.release)} is not a release name`);
  }
  const { runDiagnose } = await import("./run.ts");
  return runDiagnose(
    {
      // The configuration's default namespace is no answer here: the kubeconfig context's is better.
      namespace: loaded.sources.namespace.kind === "default" ? undefined : loaded.config.namespace,
      release: flags.release,
      jobs: [...new Set(flags.job.map((uuid) => uuid.toLowerCase()))],
      sinceSeconds: flags.since === undefined ? undefined : sinceSeconds(flags.since),
      out: flags.out,
    },
    io,
    context,
  );
}

function sinceSeconds(text: string): number {
  const parsed = parseDuration(text);
  if (!parsed.ok) usage(`--since ${JSON.stringify(text)}: ${parsed.error}; expected ${DURATION_SYNTAX}`);
  if (parsed.nanoseconds <= 0) usage(`--since ${JSON.stringify(text)}: must be longer than 0`);
  return Math.ceil(parsed.nanoseconds / SECOND);
}

function usage(message: string): never {
  throw new AgentStackError("ASK_CLI_USAGE", `${message} (see agent-stack-k8s diagnose --help)`);
}
