import { X509Certificate } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { writeCertificateFiles } from "../../certs/files.ts";
import { servingNames } from "../../certs/generate.ts";
import { inspectCertificates, type StoredCertificates } from "../../certs/inspect.ts";
import { main } from "../../cli/main.ts";
import { isAgentStackError } from "../../src/errors.ts";
import { allOutput, DAY_MS, expectNoKeyMaterial, messages, runCerts, temporaryDirectory } from "./helpers.ts";

let directory: { path: string; remove: () => void };
let tls: string;
const seen: StoredCertificates[] = [];

beforeEach(() => {
  directory = temporaryDirectory();
  tls = join(directory.path, "tls");
});

afterEach(() => {
  directory.remove();
});

const ARGS = () => [
  "--out-dir",
  tls,
  "--service",
  "hook",
  "--dns-name",
  "localhost",
  "--ip-address",
  "127.0.0.1",
];

function files(): StoredCertificates {
  const read = (name: string) => readFileSync(join(tls, name), "utf8");
  const stored = {
    caCert: read("ca.crt"),
    caKey: read("ca.key"),
    cert: read("tls.crt"),
    key: read("tls.key"),
  };
  seen.push(stored);
  return stored;
}

const mode = (name: string) => statSync(join(tls, name)).mode & 0o777;
const inode = (name: string) => statSync(join(tls, name)).ino;

describe("--out-dir alone", () => {
  test("creates the CA, the serving certificate and the keys, keys readable by the owner only", async () => {
    const run = await runCerts(ARGS());
    expect(run.code).toBe(0);
    expect(readdirSync(tls).sort()).toEqual(["ca.crt", "ca.key", "tls.crt", "tls.key"]);
    expect([mode("tls.key"), mode("ca.key"), mode("tls.crt"), mode("ca.crt")]).toEqual([
      0o600, 0o600, 0o644, 0o644,
    ]);
    expect(statSync(tls).mode & 0o777).toBe(0o700);
    const stored = files();
    const names = servingNames({
      serviceName: "hook",
      namespace: "ns",
      dnsNames: ["localhost"],
      ipAddresses: ["127.0.0.1"],
    });
    expect(inspectCertificates(stored, names).decision).toBe("reuse");
    expect(messages(run)).toContain("certificates created");
  });

  test("a second run reuses valid files and does not touch them", async () => {
    await runCerts(ARGS());
    const before = files();
    const inodes = ["ca.crt", "ca.key", "tls.crt", "tls.key"].map(inode);
    const run = await runCerts(ARGS());
    expect(run.code).toBe(0);
    expect(files()).toEqual(before);
    expect(["ca.crt", "ca.key", "tls.crt", "tls.key"].map(inode)).toEqual(inodes);
    expect(messages(run)).toEqual(["certificates valid; reusing them"]);
  });

  test("a corrupted serving certificate is replaced from the same CA", async () => {
    await runCerts(ARGS());
    const before = files();
    writeFileSync(join(tls, "tls.crt"), "-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n");
    const run = await runCerts(ARGS());
    expect(run.code).toBe(0);
    const after = files();
    expect(after.caCert).toBe(before.caCert);
    expect(after.key).not.toBe(before.key);
    expect(new X509Certificate(after.cert).verify(new X509Certificate(after.caCert).publicKey)).toBe(true);
    const renewed = run.logs.find((line) => line.action === "renewed");
    expect(renewed?.reason).toMatch(new RegExp(`^${tls}/?.* tls\\.crt: certificate 1 does not parse`));
  });

  test("certificates due for renewal are renewed; past the CA's renewal time everything is replaced", async () => {
    await runCerts(ARGS());
    const first = files();
    const renewed = await runCerts(ARGS(), { now: () => new Date(Date.now() + 250 * DAY_MS) });
    expect(renewed.logs.find((line) => line.action === "renewed")?.reason).toMatch(
      /tls\.crt: due for renewal since/,
    );
    expect(files().caCert).toBe(first.caCert);
    const replaced = await runCerts(ARGS(), { now: () => new Date(Date.now() + 2500 * DAY_MS) });
    expect(replaced.logs.find((line) => line.action === "replaced")?.reason).toMatch(
      /ca\.crt: the CA is due for renewal/,
    );
    expect(files().caCert).not.toBe(first.caCert);
  });

  test("names added on the command line make the next run reissue the certificate", async () => {
    await runCerts(ARGS());
    const run = await runCerts([...ARGS(), "--dns-name", "hook.example.com"]);
    expect(run.logs.find((line) => line.action === "renewed")?.reason).toMatch(
      /does not cover "hook\.example\.com"/,
    );
    expect(new X509Certificate(files().cert).checkHost("hook.example.com")).toBe("hook.example.com");
  });

  test("a directory that cannot be written is a clear error naming it", async () => {
    writeFileSync(tls, "a file where the directory should be");
    const run = await runCerts(ARGS());
    expect(isAgentStackError(run.code, "ASK_CERTS_FILES")).toBe(true);
    expect((run.code as Error).message).toBe(`--out-dir ${tls}: exists but is not a directory`);
  });
});

describe("atomic writes", () => {
  test("files are replaced by rename, leave no temporary files, and unchanged files are not rewritten", async () => {
    await runCerts(ARGS());
    const stored = files();
    const caInode = inode("ca.crt");
    const certInode = inode("tls.crt");
    const written = await writeCertificateFiles(tls, { ...stored, cert: `${stored.cert}\n` });
    expect(written).toEqual(["tls.crt"]);
    expect(inode("tls.crt")).not.toBe(certInode);
    expect(inode("ca.crt")).toBe(caInode);
    expect(readdirSync(tls).sort()).toEqual(["ca.crt", "ca.key", "tls.crt", "tls.key"]);
  });

  test("a key file with loose permissions is tightened to 0600 even when its content is right", async () => {
    await runCerts(ARGS());
    const stored = files();
    const { chmodSync } = await import("node:fs");
    chmodSync(join(tls, "tls.key"), 0o644);
    expect(await writeCertificateFiles(tls, stored)).toEqual([]);
    expect(mode("tls.key")).toBe(0o600);
  });
});

describe("usage", () => {
  async function exitOf(args: string[]): Promise<{ code: number; stderr: string }> {
    let stderr = "";
    const code = await main(["certs", ...args], {
      stdout: () => {},
      stderr: (text) => {
        stderr += text;
      },
      readInput: () => "",
      env: {},
    });
    return { code, stderr };
  }

  test.each([
    [[], "give --out-dir DIR, --secret NAME, or both"],
    [["--secret", "s"], "--secret needs --service NAME"],
    [["--out-dir", "d", "--webhook-configuration", "w"], "--webhook-configuration needs --secret"],
    [
      ["--out-dir", "d", "--serving-validity", "1y"],
      '--serving-validity "1y": time: unknown unit "y" in duration "1y"',
    ],
    [["--out-dir", "d", "--renew-fraction", "1.5"], '--renew-fraction "1.5": expected a number in (0, 1]'],
    [["--out-dir", "d", "--dns-name", "not a name"], 'DNS name "not a name" is not a valid DNS name'],
    [["--out-dir", "d", "--bogus"], "--bogus"],
  ])("%j exits 2 and says what is wrong", async (args, message) => {
    const { code, stderr } = await exitOf(args);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
  });
});

test("no run above printed a key or a certificate, not even one line of one", () => {
  expect(allOutput.length).toBeGreaterThan(10);
  expectNoKeyMaterial(allOutput.join("\n"), seen);
});
