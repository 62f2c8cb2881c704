/**
 * The certificates as files in a directory (`--out-dir`): `ca.crt`, `tls.crt`, `tls.key`, and `ca.key`
 * when the directory is the only store (local runs), so renewals keep the CA. Keys are written with
 * mode 0600. Every file is written to a temporary file in the same directory and renamed over the
 * old one, so a webhook watching the directory never reads half a file; `tls.key` goes before
 * `tls.crt`, so the last rename completes the pair. Files whose content is already right are left
 * alone: their modification time does not make the webhook reload for nothing.
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { AgentStackError } from "../src/errors.ts";
import type { StoredCertificates } from "./inspect.ts";

export const FILE_NAMES = { caCert: "ca.crt", caKey: "ca.key", cert: "tls.crt", key: "tls.key" } as const;

/** In the order they are written: keys before the certificates that need them. */
const WRITE_ORDER = ["caKey", "key", "cert", "caCert"] as const;
const PRIVATE = new Set<keyof StoredCertificates>(["caKey", "key"]);

/**
 * What the directory holds; undefined when it holds none of the files. A missing file reads as empty
 * (`ca.key` as absent), which the inspection reports as unusable.
 */
export async function readCertificateFiles(directory: string): Promise<StoredCertificates | undefined> {
  try {
    if (!(await stat(directory)).isDirectory()) {
      throw new AgentStackError("ASK_CERTS_FILES", `--out-dir ${directory}: exists but is not a directory`);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    if (error instanceof AgentStackError) throw error;
    throw filesError(`--out-dir ${directory}: cannot read it`, error);
  }
  const [caCert, caKey, cert, key] = await Promise.all(
    [FILE_NAMES.caCert, FILE_NAMES.caKey, FILE_NAMES.cert, FILE_NAMES.key].map((name) =>
      readIfPresent(join(directory, name)),
    ),
  );
  if (caCert === undefined && caKey === undefined && cert === undefined && key === undefined)
    return undefined;
  return { caCert: caCert ?? "", caKey, cert: cert ?? "", key: key ?? "" };
}

/**
 * Writes what differs from `stored`; `ca.key` only when `stored` has it. Resolves with the names of
 * the files written.
 */
export async function writeCertificateFiles(
  directory: string,
  stored: StoredCertificates,
): Promise<string[]> {
  try {
    await mkdir(directory, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw filesError(`--out-dir ${directory}: cannot create the directory`, error);
  }
  const written: string[] = [];
  for (const field of WRITE_ORDER) {
    const content = stored[field];
    if (content === undefined) continue;
    const path = join(directory, FILE_NAMES[field]);
    if ((await readIfPresent(path)) === content) {
      // Right content, but a key must also be private whoever wrote it.
      if (PRIVATE.has(field)) await chmod(path, 0o600).catch(() => {});
      continue;
    }
    await writeAtomically(path, content, PRIVATE.has(field) ? 0o600 : 0o644);
    written.push(FILE_NAMES[field]);
  }
  return written;
}

async function writeAtomically(path: string, content: string, mode: number): Promise<void> {
  const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    const handle = await open(temporary, "wx", mode);
    try {
      await handle.writeFile(content, "utf8");
      // The mode given to open is masked by the umask; a key must be 0600 whatever the umask.
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw filesError(`${path}: cannot write it`, error);
  }
}

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw filesError(`${path}: cannot read it`, error);
  }
}

function filesError(message: string, cause: unknown): AgentStackError {
  const detail = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
  return new AgentStackError("ASK_CERTS_FILES", `${message} (${detail})`, { cause });
}
