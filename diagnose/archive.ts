/**
 * The diagnose archive: a gzipped POSIX ustar file, written with Node's zlib and nothing else, one
 * entry at a time as the parts produce them (a job's logs can be large; they are never all in memory).
 * Every entry sits under one directory named like the archive, so unpacking it makes one folder.
 *
 * It is written to `<path>.partial` and renamed at the end: a run that stops half way never leaves a
 * file that looks complete.
 */
import { once } from "node:events";
import { createWriteStream, renameSync, rmSync, type WriteStream } from "node:fs";
import { createGzip } from "node:zlib";
import { AgentStackError } from "../src/errors.ts";

const BLOCK = 512;

export interface ArchiveEntry {
  readonly path: string;
  readonly bytes: number;
}

export interface ArchiveWriter {
  /** The directory every entry is under. */
  readonly root: string;
  /** Adds a regular file at `path` (relative to the root). */
  add(path: string, content: string | Buffer): Promise<void>;
  readonly entries: readonly ArchiveEntry[];
  /** Ends the archive and moves it into place; returns its size in bytes. */
  close(): Promise<number>;
  /** Removes what was written (the run is being abandoned). */
  abandon(): void;
}

/** Opens `path` for writing: fails at once, with `ASK_DIAGNOSE_OUTPUT`, if it cannot be created. */
export async function openArchive(path: string, root: string, mtime: Date): Promise<ArchiveWriter> {
  const partial = `${path}.partial`;
  const file = createWriteStream(partial, { flags: "w", mode: 0o600 });
  try {
    await once(file, "open");
  } catch (error) {
    throw new AgentStackError(
      "ASK_DIAGNOSE_OUTPUT",
      `--out ${path}: cannot write it: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const gzip = createGzip();
  gzip.pipe(file);
  const failed = new Promise<never>((_, reject) => {
    const fail = (error: Error) =>
      reject(
        new AgentStackError("ASK_DIAGNOSE_OUTPUT", `--out ${path}: writing failed: ${error.message}`, {
          cause: error,
        }),
      );
    gzip.on("error", fail);
    file.on("error", fail);
  });
  failed.catch(() => {});
  const entries: ArchiveEntry[] = [];
  const seconds = Math.floor(mtime.getTime() / 1000);

  const write = async (chunk: Buffer) => {
    if (!gzip.write(chunk)) await Promise.race([once(gzip, "drain"), failed]);
  };

  return {
    root,
    entries,
    async add(relativePath, content) {
      const data = typeof content === "string" ? Buffer.from(content, "utf8") : content;
      await write(header(`${root}/${relativePath}`, data.length, seconds));
      await write(data);
      const padding = (BLOCK - (data.length % BLOCK)) % BLOCK;
      if (padding > 0) await write(Buffer.alloc(padding));
      entries.push({ path: relativePath, bytes: data.length });
    },
    async close() {
      // Two zero blocks end a tar archive.
      gzip.end(Buffer.alloc(2 * BLOCK));
      await Promise.race([finished(file), failed]);
      renameSync(partial, path);
      return file.bytesWritten;
    },
    abandon() {
      gzip.destroy();
      file.destroy();
      rmSync(partial, { force: true });
    },
  };
}

function finished(file: WriteStream): Promise<void> {
  return file.closed ? Promise.resolve() : once(file, "close").then(() => undefined);
}

/** A ustar header for a regular file, mode 0644, owned by nobody in particular. */
function header(path: string, size: number, mtimeSeconds: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  const { name, prefix } = splitPath(path);
  block.write(name, 0, 100, "utf8");
  block.write(octal(0o644, 8), 100, "ascii");
  block.write(octal(0, 8), 108, "ascii");
  block.write(octal(0, 8), 116, "ascii");
  block.write(octal(size, 12), 124, "ascii");
  block.write(octal(mtimeSeconds, 12), 136, "ascii");
  block.fill(" ", 148, 156); // the checksum counts its own field as spaces
  block.write("0", 156, "ascii");
  block.write("ustar\u000000", 257, "ascii");
  block.write(prefix, 345, 155, "utf8");
  let checksum = 0;
  for (const byte of block) checksum += byte;
  block.write(`${checksum.toString(8).padStart(6, "0")}\u0000 `, 148, "ascii");
  return block;
}

/** `size` as the zero-padded octal of a field `width` bytes wide, NUL-terminated. */
function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, "0")}\u0000`;
}

/** ustar keeps a path of up to 255 bytes as a prefix (≤ 155) and a name (≤ 100) split at a `/`. */
function splitPath(path: string): { name: string; prefix: string } {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: "" };
  for (let slash = path.indexOf("/"); slash !== -1; slash = path.indexOf("/", slash + 1)) {
    const prefix = path.slice(0, slash);
    const name = path.slice(slash + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return { name, prefix };
  }
  throw new Error(`archive path too long for ustar: ${path}`);
}
