/**
 * What the benchmarks measure processes with: the CLI started as users start it (`node
 * bin/agent-stack-k8s.js …`, no extra flags), wall time, resident memory from Linux's /proc, readiness
 * over HTTPS, medians. Figures are read from outside the process, as `kubectl top` or the OOM killer
 * would see them.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ROOT = new URL("../../", import.meta.url).pathname;
export const CLI = join(ROOT, "bin/agent-stack-k8s.js");

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

export function mb(bytes: number): number {
  return bytes / 1024 / 1024;
}

export interface Rss {
  /** VmRSS: resident now, MB. */
  readonly rssMb: number;
  /** VmHWM: the highest resident set so far, MB. */
  readonly peakMb: number;
}

/** Resident set of a running process, from /proc/PID/status. */
export function rssOf(pid: number): Rss {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN);
  return { rssMb: kb("VmRSS") / 1024, peakMb: kb("VmHWM") / 1024 };
}

export interface Finished {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

/** Runs `node ARGS` to its end, timed from spawn to exit. */
export function runNode(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Finished {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { encoding: "utf8", env, timeout: 120_000 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, seconds };
}

/**
 * Runs `node ARGS` to its end and reports its peak resident set, MB: VmHWM, read every 2 ms while it
 * runs (it only grows, so the last reading is the peak but for the last moments before exit), with
 * nothing loaded into the process to measure it.
 */
export async function peakOfRun(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const child = spawn(process.execPath, args, { env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  let peak = 0;
  let running = true;
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => {
      running = false;
      resolve(code);
    }),
  );
  while (running) {
    try {
      // A process that has ended but is not reaped yet has no VmHWM any more.
      const reading = rssOf(child.pid!).peakMb;
      if (Number.isFinite(reading)) peak = Math.max(peak, reading);
    } catch {
      // gone between the check and the read
    }
    await sleep(2);
  }
  const status = await exited;
  if (status !== 0) throw new Error(`node ${args.join(" ")} exited ${status}: ${stderr.slice(-2000)}`);
  return peak;
}

/** A long-running `node ARGS`, its output kept (the tail of it) for when something goes wrong. */
export interface Server {
  readonly child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

export function startNode(
  args: readonly string[],
  options: {
    env?: NodeJS.ProcessEnv;
    pinToCore?: number | undefined;
    /** A file descriptor for its standard output (a log file), instead of keeping the tail of it. */
    stdout?: number;
  } = {},
): Server {
  const pinned = options.pinToCore !== undefined && canPin();
  const command = pinned ? "taskset" : process.execPath;
  const argv = pinned ? ["-c", String(options.pinToCore), process.execPath, ...args] : [...args];
  const child = spawn(command, argv, {
    env: options.env ?? process.env,
    stdio: ["ignore", options.stdout ?? "pipe", "pipe"],
  });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return {
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

let pinnable: boolean | undefined;
export function canPin(): boolean {
  if (pinnable === undefined) {
    pinnable = spawnSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" }).status === 0;
  }
  return pinnable;
}

/** GET over HTTPS, any certificate; resolves with the status, or undefined when nothing answered. */
export function httpsStatus(port: number, path: string, timeoutMs = 2_000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = httpsRequest(
      { host: "127.0.0.1", port, path, method: "GET", rejectUnauthorized: false, timeout: timeoutMs },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode));
      },
    );
    req.on("error", () => resolve(undefined));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

/** Polls `GET path` every few milliseconds until it answers 200; the seconds since `since`. */
export async function waitFor200(
  server: Server,
  port: number,
  path: string,
  since: bigint,
  timeoutMs = 60_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (server.child.exitCode !== null) {
      throw new Error(
        `the server exited (${server.child.exitCode}) before ${path} answered 200:\n${server.output()}`,
      );
    }
    if ((await httpsStatus(port, path)) === 200) return Number(process.hrtime.bigint() - since) / 1e9;
    if (Date.now() > deadline)
      throw new Error(`${path} did not answer 200 in ${timeoutMs} ms:\n${server.output()}`);
    await sleep(5);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export { freePort } from "../../test/support/free-port.ts";

export function scratchDirectory(name: string): string {
  return mkdtempSync(join(tmpdir(), `bench-${name}-`));
}

export interface TlsFiles {
  readonly directory: string;
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

let tls: TlsFiles | undefined;

/** A CA and a serving certificate for 127.0.0.1 and localhost, made once by `certs --out-dir`. */
export function tlsFiles(): TlsFiles {
  if (tls) return tls;
  const directory = scratchDirectory("tls");
  const made = runNode([
    CLI,
    "certs",
    "--out-dir",
    directory,
    "--dns-name",
    "localhost",
    "--ip-address",
    "127.0.0.1",
  ]);
  if (made.status !== 0) throw new Error(`certs --out-dir failed: ${made.stderr}`);
  tls = {
    directory,
    cert: join(directory, "tls.crt"),
    key: join(directory, "tls.key"),
    ca: readFileSync(join(directory, "ca.crt"), "utf8"),
  };
  return tls;
}

/** `agent-stack-k8s webhook` on 127.0.0.1:PORT with the bench's certificate: the node arguments. */
export function webhookArgs(port: number, ...extra: readonly string[]): string[] {
  const { cert, key } = tlsFiles();
  return [
    CLI,
    "webhook",
    "--tls-cert-file",
    cert,
    "--tls-key-file",
    key,
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    ...extra,
  ];
}

export function writeFile(directory: string, name: string, text: string): string {
  const path = join(directory, name);
  writeFileSync(path, text);
  return path;
}

/** A bare Node process doing nothing, as the baseline of resident-memory figures. */
export async function bareNodeIdleRss(): Promise<Rss> {
  const idle = startNode(["-e", "setTimeout(() => {}, 600_000)"]);
  try {
    await sleep(1_000);
    return rssOf(idle.child.pid!);
  } finally {
    await idle.stop();
  }
}
