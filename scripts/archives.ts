/**
 * Reads one file out of a `.tgz` (an npm package tarball) or a `.zip`, in memory, with Node's zlib
 * only: the tests must not depend on `tar` or `unzip` being installed.
 */
import { crc32, gunzipSync, inflateRawSync } from "node:zlib";

const TAR_BLOCK = 512;

/** The bytes of `path` in a gzipped tar archive, or `undefined` when it has no such regular file. */
export function fileFromTgz(tgz: Buffer, path: string): Buffer | undefined {
  for (const entry of tgzEntries(tgz)) if (entry.path === path) return entry.content;
  return undefined;
}

/** Every regular file of a gzipped tar archive, in order. */
export function filesOfTgz(tgz: Buffer): Map<string, Buffer> {
  return new Map([...tgzEntries(tgz)].map((entry) => [entry.path, entry.content]));
}

function* tgzEntries(tgz: Buffer): Generator<{ path: string; content: Buffer }> {
  const tar = gunzipSync(tgz);
  let offset = 0;
  while (offset + TAR_BLOCK <= tar.length) {
    const header = tar.subarray(offset, offset + TAR_BLOCK);
    if (header.every((byte) => byte === 0)) return; // end-of-archive marker
    const name = tarString(header, 0, 100);
    const prefix = tarString(header, 345, 155);
    const size = Number.parseInt(tarString(header, 124, 12).trim() || "0", 8);
    const type = String.fromCharCode(header[156] ?? 0);
    const path = prefix === "" ? name : `${prefix}/${name}`;
    const dataStart = offset + TAR_BLOCK;
    if (type === "0" || type === "\0") {
      yield { path, content: Buffer.from(tar.subarray(dataStart, dataStart + size)) };
    }
    offset = dataStart + Math.ceil(size / TAR_BLOCK) * TAR_BLOCK;
  }
}

function tarString(header: Buffer, start: number, length: number): string {
  const field = header.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? field.length : end).toString("utf8");
}

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_DIRECTORY_ENTRY = 0x02014b50;
const LOCAL_FILE_HEADER = 0x04034b50;

/**
 * The bytes of `path` in a zip archive (stored or deflated entries; no zip64, no encryption), checked
 * against the CRC-32 the archive records; `undefined` when there is no such entry.
 */
export function fileFromZip(zip: Buffer, path: string): Buffer | undefined {
  const end = findEndOfCentralDirectory(zip);
  const entries = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  for (let i = 0; i < entries; i++) {
    if (zip.readUInt32LE(offset) !== CENTRAL_DIRECTORY_ENTRY) {
      throw new Error(`zip: no central directory entry at byte ${offset}`);
    }
    const method = zip.readUInt16LE(offset + 10);
    const crc = zip.readUInt32LE(offset + 16);
    const compressedSize = zip.readUInt32LE(offset + 20);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const localHeader = zip.readUInt32LE(offset + 42);
    const name = zip.subarray(offset + 46, offset + 46 + nameLength).toString("utf8");
    if (name === path) return readZipEntry(zip, localHeader, method, compressedSize, crc, name);
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return undefined;
}

function findEndOfCentralDirectory(zip: Buffer): number {
  // The record is 22 bytes plus a comment of at most 65,535 bytes, at the very end.
  const lowest = Math.max(0, zip.length - 22 - 65_535);
  for (let offset = zip.length - 22; offset >= lowest; offset--) {
    if (zip.readUInt32LE(offset) === END_OF_CENTRAL_DIRECTORY) return offset;
  }
  throw new Error("zip: no end-of-central-directory record (not a zip file?)");
}

function readZipEntry(
  zip: Buffer,
  localHeader: number,
  method: number,
  compressedSize: number,
  crc: number,
  name: string,
): Buffer {
  if (zip.readUInt32LE(localHeader) !== LOCAL_FILE_HEADER) {
    throw new Error(`zip: no local header for ${name} at byte ${localHeader}`);
  }
  const dataStart =
    localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
  const data = zip.subarray(dataStart, dataStart + compressedSize);
  let content: Buffer;
  if (method === 0) content = Buffer.from(data);
  else if (method === 8) content = inflateRawSync(data);
  else
    throw new Error(
      `zip: ${name} uses compression method ${method}; only stored (0) and deflate (8) are read`,
    );
  if (crc32(content) !== crc) throw new Error(`zip: ${name} fails its CRC-32 check`);
  return content;
}
