/** Runs the `agent-stack-k8s` entry point in process, with its files, environment and output captured. */

import { main } from "../../cli/main.ts";
import type { CommandIo } from "../../runtime/command-io.ts";

export interface Run {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `files` are what `readInput` sees (`-` is stdin); any other path does not exist. */
export async function run(
  args: readonly string[],
  files: Readonly<Record<string, string>> = {},
  env: Readonly<Record<string, string>> = {},
): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const io: CommandIo = {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    readInput: (path) => {
      if (Object.hasOwn(files, path)) return files[path]!;
      throw new Error(`ENOENT: no such file or directory, open '${path}'`);
    },
    env,
  };
  const status = await main(args, io);
  return { status, stdout, stderr };
}
