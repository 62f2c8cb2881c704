/**
 * `agent-stack-k8s webhook`: bad flags and certificates stop it before it listens (exit 2); as a real
 * process, SIGTERM stops new connections, lets the admission in flight finish and exits 0, and a second
 * signal exits at once.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import { main } from "../../cli/main.ts";
import type { CommandIo } from "../../runtime/command-io.ts";
import { buildSkeleton } from "../../src/admission/skeleton.ts";
import { admissionReview, testConfig, testJob } from "../support/fixtures.ts";
import { eventually, newCertificates } from "./harness.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const body = JSON.stringify(admissionReview(buildSkeleton(testJob(), testConfig()), "sigterm-uid"));

let certificates: Awaited<ReturnType<typeof newCertificates>>;
let directory: string;
let certFile: string;
let keyFile: string;
beforeAll(async () => {
  certificates = await newCertificates();
  directory = mkdtempSync(join(tmpdir(), "webhook-command-"));
  certFile = join(directory, "tls.crt");
  keyFile = join(directory, "tls.key");
  writeFileSync(certFile, certificates.cert);
  writeFileSync(keyFile, certificates.key);
});

async function run(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CommandIo = {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    readInput: () => {
      throw new Error("no input files here");
    },
    env: {},
  };
  const status = await main(["webhook", ...args], io);
  return { status, stdout, stderr };
}

describe("refuses to start, with exit status 2", () => {
  test("without --tls-cert-file and --tls-key-file", async () => {
    const result = await run([]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("required flag --tls-cert-file is missing");
  });

  test("with a certificate file that cannot be read", async () => {
    const result = await run(["--tls-cert-file", join(directory, "missing.crt"), "--tls-key-file", keyFile]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /--tls-cert-file .*missing\.crt: cannot read it: ENOENT.*\(ASK_WEBHOOK_TLS_INVALID\)/,
    );
  });

  test("with a key that is not the certificate's", async () => {
    const other = await newCertificates();
    const otherKey = join(directory, "other.key");
    writeFileSync(otherKey, other.key);
    const result = await run(["--tls-cert-file", certFile, "--tls-key-file", otherKey]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /--tls-key-file .*other\.key with --tls-cert-file .*: the pair does not load: .*key values mismatch/,
    );
  });

  test("with a bad port or request timeout", async () => {
    const tls = ["--tls-cert-file", certFile, "--tls-key-file", keyFile];
    expect((await run([...tls, "--port", "https"])).stderr).toContain(
      '--port "https": expected a port 0–65535',
    );
    const timeout = await run([...tls, "--request-timeout", "45s"]);
    expect(timeout.status).toBe(2);
    expect(timeout.stderr).toContain("--request-timeout 45s: expected more than 0 and at most 30s");
  });

  test("--help lists the webhook's flags", async () => {
    const result = await run(["--help"]);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("--tls-cert-file FILE");
    expect(result.stdout).toContain("--request-timeout DURATION");
  });
});

interface Process {
  readonly child: ChildProcess;
  readonly lines: Array<Record<string, unknown>>;
  readonly exited: Promise<number | null>;
  waitFor(message: string): Promise<Record<string, unknown>>;
}

function startProcess(): Process {
  const child = spawn(
    process.execPath,
    [
      join(ROOT, "bin/agent-stack-k8s.js"),
      "webhook",
      "--tls-cert-file",
      certFile,
      "--tls-key-file",
      keyFile,
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      "--pod-templates",
      "none",
      "--log-format",
      "json",
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<{ message: string; resolve: (line: Record<string, unknown>) => void }> = [];
  createInterface({ input: child.stdout! }).on("line", (text) => {
    const line = JSON.parse(text) as Record<string, unknown>;
    lines.push(line);
    for (const waiter of waiters.filter((w) => String(line.msg).startsWith(w.message))) waiter.resolve(line);
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    waitFor: (message) => {
      const seen = lines.find((line) => String(line.msg).startsWith(message));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ message, resolve }));
    },
  };
}

/** Sends the headers and half the body; the rest when `finish` is called. */
function requestInFlight(port: number) {
  let finish = () => {};
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/mutate",
        method: "POST",
        ca: certificates.caCert,
        servername: "localhost",
        headers: { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) },
      },
      (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => {
          text += chunk.toString();
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.write(body.slice(0, 100));
    finish = () => req.end(body.slice(100));
  });
  return { answer, finish: () => finish() };
}

function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.destroy();
      resolve(false);
    });
    socket.on("error", () => resolve(true));
  });
}

describe("as a process", () => {
  let running: Process | undefined;
  afterEach(() => {
    running?.child.kill("SIGKILL");
    running = undefined;
  });

  test("SIGTERM: no new connections, the admission in flight finishes, exit 0", async () => {
    running = startProcess();
    const listening = await running.waitFor("webhook listening");
    const port = listening.port as number;
    const inFlight = requestInFlight(port);
    inFlight.answer.catch(() => {});
    // Give the half-sent request time to reach the server before the signal.
    await new Promise((resolve) => setTimeout(resolve, 200));
    running.child.kill("SIGTERM");
    await running.waitFor("shutting down");
    await eventually("new connections refused", () => connectionRefused(port));
    inFlight.finish();
    const answer = await inFlight.answer;
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ response: { uid: "sigterm-uid", allowed: true } });
    expect(await running.exited).toBe(0);
    expect(running.lines.at(-1)?.msg).toBe("shut down");
  });

  test("a second signal exits at once, with the request still in flight", async () => {
    running = startProcess();
    const listening = await running.waitFor("webhook listening");
    const inFlight = requestInFlight(listening.port as number);
    inFlight.answer.catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 200));
    running.child.kill("SIGTERM");
    await running.waitFor("shutting down");
    running.child.kill("SIGINT");
    expect(await running.exited).toBe(130);
  });
});
