/**
 * `npm run package-chart [-- --destination DIR]`: the chart archive `<DIR>/agent-stack-k8s-<version>.tgz`
 * (DIR defaults to dist/), made by `helm package` with the version and appVersion of package.json, ready
 * for `helm push <archive> oci://<registry>/<path>`. Prints the archive's path.
 *
 * The helm is the one the chart tests use (scripts/helm.ts): `AGENT_STACK_K8S_HELM=/path/to/helm`, or the pinned
 * helm fetched once and cached, so the archive is the one the chart tests check.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { findHelm, runHelm } from "./helm.ts";

const ROOT = resolve(import.meta.dirname, "..");
const CHART_NAME = "agent-stack-k8s";
const CHART = join(ROOT, "charts", CHART_NAME);
/** SemVer 2, which helm requires of a chart version (semver.org's regular expression). */
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
const HELM_TIMEOUT_MS = 120_000;

class PackageError extends Error {}

function packageVersion(): string {
  const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version?: unknown };
  if (typeof version !== "string" || !SEMVER.test(version)) {
    throw new PackageError(
      `package.json: version ${JSON.stringify(version)} is not a SemVer 2 version, which a chart's version must be`,
    );
  }
  return version;
}

export function packageChart(destination: string): string {
  const version = packageVersion();
  const helm = findHelm();
  if ("skip" in helm) throw new PackageError(`no helm: ${helm.skip}`);
  mkdirSync(destination, { recursive: true });
  const result = runHelm(
    helm.path,
    ["package", CHART, "--version", version, "--app-version", version, "--destination", destination],
    HELM_TIMEOUT_MS,
  );
  if (result.status !== 0) {
    throw new PackageError(
      `helm package exited ${result.status}: ${result.stderr.trim() || result.stdout.trim()}`,
    );
  }
  return join(destination, `${CHART_NAME}-${version}.tgz`);
}

function main(argv: readonly string[]): number {
  let destination: string;
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: { destination: { type: "string", short: "d" } },
      allowPositionals: false,
    });
    destination = resolve(values.destination ?? join(ROOT, "dist"));
  } catch (error) {
    process.stderr.write(
      `package-chart: ${(error as Error).message}\nusage: npm run package-chart [-- --destination DIR]\n`,
    );
    return 2;
  }
  try {
    const archive = packageChart(destination);
    // Relative to where it was run from when it is below it (dist/…), so a script can use it as is.
    const below = relative(process.cwd(), archive);
    process.stdout.write(`${below.startsWith("..") || isAbsolute(below) ? archive : below}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof PackageError)) throw error;
    process.stderr.write(`package-chart: ${error.message}\n`);
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
