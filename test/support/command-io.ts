/** A command's I/O for tests: what it prints, captured; the files it may read, given. */
import type { CommandIo } from "../../runtime/command-io.ts";

export interface CapturedIo {
  readonly io: CommandIo;
  stdout(): string;
  stderr(): string;
}

export function capturedIo(
  options: {
    readonly files?: Readonly<Record<string, string>>;
    readonly env?: Readonly<Record<string, string | undefined>>;
  } = {},
): CapturedIo {
  let stdout = "";
  let stderr = "";
  return {
    io: {
      stdout: (text) => {
        stdout += text;
      },
      stderr: (text) => {
        stderr += text;
      },
      readInput: (path) => {
        const text = options.files?.[path];
        if (text === undefined) throw new Error(`ENOENT: no such file, open '${path}'`);
        return text;
      },
      env: options.env ?? {},
    },
    stdout: () => stdout,
    stderr: () => stderr,
  };
}
