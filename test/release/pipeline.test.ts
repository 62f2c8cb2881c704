/**
 * The release pipeline (.buildkite/pipeline.yml) and the script its steps run (.buildkite/release.sh),
 * without Docker or a registry: the pipeline against Buildkite's pipeline schema, the script through
 * shellcheck (where installed), its dry run, and its real path with recording stand-ins for docker, npm
 * and helm on PATH.
 */
import { spawnSync } from "node:child_process";
import { accessSync, chmodSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Ajv } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { run as runCli } from "../support/cli.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const PIPELINE_FILE = join(ROOT, ".buildkite/pipeline.yml");
const SCRIPT = join(ROOT, ".buildkite/release.sh");
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const TAG = `v${VERSION}`;
const PASSWORD = "registry-password-3c1e9f";

interface Step {
  readonly key?: string;
  readonly label?: string;
  readonly command?: string;
  readonly depends_on?: string | readonly string[];
  readonly timeout_in_minutes?: number;
  readonly artifact_paths?: string;
}
interface Pipeline {
  readonly env: Record<string, string>;
  readonly steps: readonly Step[];
}

const pipeline = parse(readFileSync(PIPELINE_FILE, "utf8")) as Pipeline;

function pipelineValidator() {
  const schema = JSON.parse(
    readFileSync(join(ROOT, "reference/buildkite/pipeline-schema.json"), "utf8"),
  ) as object;
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addFormat("regex", (text: string) => {
    try {
      new RegExp(text);
      return true;
    } catch {
      return false;
    }
  });
  return ajv.compile(schema);
}

function step(key: string): Step {
  const found = pipeline.steps.find((candidate) => candidate.key === key);
  if (found === undefined) throw new Error(`no step ${key}`);
  return found;
}

describe("the release pipeline", () => {
  it("is valid against Buildkite's pipeline schema, which refuses a pipeline it does not describe", () => {
    const validate = pipelineValidator();
    expect(validate(pipeline), JSON.stringify(validate.errors, null, 2)).toBe(true);
    expect(validate({ steps: [{ command: "x", timeout_in_minutes: "an hour" }] })).toBe(false);
    expect(validate({ steps: [{ command: "x", depends_on: { step: 1 } }] })).toBe(false);
  });

  it("passes agent-stack-k8s lint --strict, which finds a step key Buildkite does not know in it", async () => {
    const text = readFileSync(PIPELINE_FILE, "utf8");
    const clean = await runCli(["lint", "--strict", ".buildkite/pipeline.yml"], {
      ".buildkite/pipeline.yml": text,
    });
    expect(clean.stdout + clean.stderr).toBe("");
    expect(clean.status).toBe(0);
    const broken = text.replace("timeout_in_minutes: 15", "timeout_in_minute: 15");
    const refused = await runCli(["lint", "--strict", "pipeline.yml"], { "pipeline.yml": broken });
    expect(refused.status).toBe(1);
    expect(refused.stdout).toMatch(/unknown field "timeout_in_minute".*\(ASK_LINT_PIPELINE_SCHEMA\)/);
  });

  it("tests, then builds the image, then the chart, each with a timeout", () => {
    expect(pipeline.steps.map((candidate) => candidate.key)).toEqual(["test", "image", "chart"]);
    expect(step("test").command).toBe(".ci/run");
    expect(step("image").depends_on).toBe("test");
    expect(step("chart").depends_on).toBe("image");
    for (const candidate of pipeline.steps)
      expect(candidate.timeout_in_minutes, candidate.key).toBeGreaterThan(0);
    expect(step("chart").artifact_paths).toBe("dist/*.tgz");
  });

  it("runs scripts of the repository that exist and are executable", () => {
    for (const candidate of pipeline.steps) {
      const script = (candidate.command ?? "").split(/\s+/)[0] as string;
      expect(
        () => accessSync(join(ROOT, script), constants.X_OK),
        `${candidate.key}: ${script}`,
      ).not.toThrow();
    }
  });

  it("pushes the image the chart installs by default, and the chart where its README installs it from", () => {
    const helpers = readFileSync(join(ROOT, "charts/agent-stack-k8s/templates/_helpers.tpl"), "utf8");
    const defaultImage = /default \(printf "([^"]+):%s" \.Chart\.AppVersion\)/.exec(helpers)?.[1];
    expect(pipeline.env.IMAGE_REPOSITORY).toBe(defaultImage);
    const readme = readFileSync(join(ROOT, "charts/agent-stack-k8s/README.md"), "utf8");
    expect(readme).toContain(`${pipeline.env.CHART_REPOSITORY}/agent-stack-k8s --version`);
    // The script's own defaults are the pipeline's, for a run by hand.
    const script = readFileSync(SCRIPT, "utf8");
    expect(script).toContain(`IMAGE_REPOSITORY="\${IMAGE_REPOSITORY:-${pipeline.env.IMAGE_REPOSITORY}}"`);
    expect(script).toContain(`CHART_REPOSITORY="\${CHART_REPOSITORY:-${pipeline.env.CHART_REPOSITORY}}"`);
  });
});

const shellcheck = spawnSync("shellcheck", ["--version"], { encoding: "utf8" });

describe("release.sh", () => {
  it.skipIf(shellcheck.status !== 0)(
    `is shellcheck-clean${shellcheck.status === 0 ? "" : " (skipped: no shellcheck; apt-get install shellcheck)"}`,
    () => {
      const result = spawnSync("shellcheck", ["--severity=style", SCRIPT], { encoding: "utf8" });
      expect(result.status, result.stdout + result.stderr).toBe(0);
    },
  );

  it("is valid bash", () => {
    const result = spawnSync("bash", ["-n", SCRIPT], { encoding: "utf8" });
    expect(result.status, result.stderr).toBe(0);
  });
});

/** Runs release.sh with the given environment on top of a PATH where `bin` comes first. */
function release(args: readonly string[], env: Record<string, string>, bin?: string) {
  const path = [bin, dirname(process.execPath), process.env.PATH].filter(Boolean).join(":");
  const result = spawnSync("bash", [SCRIPT, ...args], {
    encoding: "utf8",
    timeout: 30_000,
    input: "",
    env: { PATH: path, HOME: process.env.HOME ?? "/tmp", ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The commands a dry run prints (its `+ ` lines). */
function printed(stdout: string): string[] {
  return stdout
    .split("\n")
    .filter((line) => line.startsWith("+ "))
    .map((line) => line.slice(2));
}

describe("release.sh, dry run (DRY_RUN=1)", () => {
  const revision = spawnSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" }).stdout.trim();
  const image = `${pipeline.env.IMAGE_REPOSITORY}:${VERSION}`;

  it("builds the image for both platforms with the version and revision, without pushing, on a branch", () => {
    const result = release(["image"], { DRY_RUN: "1", ...pipeline.env });
    expect(result.status, result.stderr).toBe(0);
    const build = printed(result.stdout).find((command) => command.startsWith("docker buildx build"));
    expect(build).toBe(
      `docker buildx build --builder agent-stack-k8s --platform linux/amd64,linux/arm64 --build-arg VERSION=${VERSION} --build-arg REVISION=${revision} --tag ${image} .`,
    );
    expect(result.stdout).toContain("not a tag, so not pushing");
    expect(result.stdout).not.toMatch(/login|--push/);
  });

  it("logs in with the password on stdin and pushes the image on the tag of the version", () => {
    const result = release(["image"], {
      DRY_RUN: "1",
      ...pipeline.env,
      BUILDKITE_TAG: TAG,
      BUILDKITE_COMMIT: "0123456789abcdef0123456789abcdef01234567",
      REGISTRY_USERNAME: "release-bot",
      REGISTRY_PASSWORD: PASSWORD,
    });
    expect(result.status, result.stderr).toBe(0);
    const commands = printed(result.stdout);
    expect(commands).toContain("docker login ghcr.io --username release-bot --password-stdin");
    const build = commands.find((command) => command.startsWith("docker buildx build")) ?? "";
    expect(build).toContain("--build-arg REVISION=0123456789abcdef0123456789abcdef01234567");
    expect(build).toMatch(new RegExp(`--tag ${image} --push \\.$`));
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  });

  it("packages the chart on a branch, and pushes it to the OCI registry on the tag", () => {
    const branch = release(["chart"], { DRY_RUN: "1", ...pipeline.env });
    expect(branch.status, branch.stderr).toBe(0);
    expect(printed(branch.stdout)).toEqual(["npm ci --no-audit --no-fund", "npm run --silent package-chart"]);
    const tag = release(["chart"], {
      DRY_RUN: "1",
      ...pipeline.env,
      BUILDKITE_TAG: TAG,
      REGISTRY_USERNAME: "release-bot",
      REGISTRY_PASSWORD: PASSWORD,
    });
    expect(tag.status, tag.stderr).toBe(0);
    expect(printed(tag.stdout)).toEqual([
      "npm ci --no-audit --no-fund",
      "npm run --silent package-chart",
      "helm registry login ghcr.io --username release-bot --password-stdin",
      `helm push dist/agent-stack-k8s-${VERSION}.tgz ${pipeline.env.CHART_REPOSITORY}`,
    ]);
    expect(tag.stdout + tag.stderr).not.toContain(PASSWORD);
  });

  it.each([
    [
      ["image"],
      { BUILDKITE_TAG: "v99.0.0" },
      1,
      `tag v99.0.0 is not ${TAG}: set the version in package.json`,
    ],
    [["chart"], { BUILDKITE_TAG: TAG, REGISTRY_USERNAME: "only-a-name" }, 1, "go together: set both"],
    [["chart"], { CHART_REPOSITORY: "ghcr.io/charts" }, 1, "CHART_REPOSITORY must be an oci:// reference"],
    [["publish"], {}, 2, "usage: "],
    [[], {}, 2, "usage: "],
  ] as const)("refuses %j with %j: exit %i", (args, env, status, message) => {
    const result = release(args, { DRY_RUN: "1", ...env });
    expect(result.status).toBe(status);
    expect(result.stderr).toContain(message);
    expect(printed(result.stdout).filter((command) => /push|login/.test(command))).toEqual([]);
  });
});

/**
 * The path a real build takes, with stand-ins for docker, npm and helm that record their arguments
 * and what they read on stdin. The docker stand-in has a builder once `buildx create` made one (or the
 * test put it there), which builds FAKE_PLATFORMS.
 */
describe("release.sh, with recording stand-ins for docker, npm and helm", () => {
  const bin = mkdtempSync(join(tmpdir(), "release-bin-"));
  const log = join(bin, "calls.log");
  const recorder = `#!/usr/bin/env bash
set -euo pipefail
input="$(cat)"
printf '%s %s\\n' "$(basename "$0")" "$*" >> "$FAKE_LOG"
if [[ -n "$input" ]]; then printf 'stdin: %s\\n' "$input" >> "$FAKE_LOG"; fi
case "$(basename "$0") \${1:-} \${2:-}" in
  "docker buildx create") touch "$FAKE_LOG.builder" ;;
  "docker buildx inspect")
    if [[ ! -e "$FAKE_LOG.builder" ]]; then echo "ERROR: no builder" >&2; exit 1; fi
    if [[ "\${3:-}" == --bootstrap && -n "\${FAKE_BOOTSTRAP_FAILS:-}" ]]; then echo "ERROR: cannot connect" >&2; exit 1; fi
    printf 'Name:   agent-stack-k8s\\nDriver: docker-container\\nNodes:\\nPlatforms: %s\\n' "$FAKE_PLATFORMS" ;;
esac
`;

  beforeAll(() => {
    for (const tool of ["docker", "npm", "helm"]) {
      writeFileSync(join(bin, tool), recorder);
      chmodSync(join(bin, tool), 0o755);
    }
  });
  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  const calls = () =>
    readFileSync(log, "utf8")
      .split("\n")
      .filter((line) => line !== "");
  const both = "linux/amd64*, linux/amd64/v2, linux/arm64*, linux/386";
  const run = (
    args: readonly string[],
    env: Record<string, string>,
    builder: "exists" | "absent" = "exists",
  ) => {
    writeFileSync(log, "");
    rmSync(`${log}.builder`, { force: true });
    if (builder === "exists") writeFileSync(`${log}.builder`, "");
    return release(args, { FAKE_LOG: log, FAKE_PLATFORMS: both, ...pipeline.env, ...env }, bin);
  };

  it("builds with an existing builder that has both platforms, and pushes on the tag", () => {
    const result = run(["image"], {
      BUILDKITE_TAG: TAG,
      REGISTRY_USERNAME: "release-bot",
      REGISTRY_PASSWORD: PASSWORD,
    });
    expect(result.status, result.stderr).toBe(0);
    const recorded = calls();
    expect(recorded.filter((call) => call.startsWith("docker buildx create"))).toEqual([]);
    expect(recorded).toContain("docker login ghcr.io --username release-bot --password-stdin");
    expect(
      recorded[recorded.indexOf("docker login ghcr.io --username release-bot --password-stdin") + 1],
    ).toBe(`stdin: ${PASSWORD}`);
    expect(recorded.at(-1)).toMatch(/^docker buildx build .* --push \.$/);
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  });

  it("creates a docker-container builder when there is none, and builds without pushing on a branch", () => {
    const result = run(["image"], {}, "absent");
    expect(result.status, result.stderr).toBe(0);
    const recorded = calls();
    expect(recorded.slice(0, 3)).toEqual([
      "docker buildx inspect agent-stack-k8s",
      "docker buildx create --name agent-stack-k8s --driver docker-container",
      "docker buildx inspect --bootstrap agent-stack-k8s",
    ]);
    expect(recorded.at(-1)).toMatch(
      /^docker buildx build --builder agent-stack-k8s --platform linux\/amd64,linux\/arm64 .* \.$/,
    );
    expect(recorded.join("\n")).not.toMatch(/login|--push/);
  });

  it("says so when docker cannot inspect the builder", () => {
    const result = run(["image"], { FAKE_BOOTSTRAP_FAILS: "1" });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("ERROR: cannot connect");
    expect(result.stderr).toContain("docker buildx inspect --bootstrap agent-stack-k8s failed");
    expect(calls().filter((call) => call.startsWith("docker buildx build"))).toEqual([]);
  });

  it("stops before building when the builder cannot build linux/arm64, and says what to do", () => {
    const result = run(["image"], { FAKE_PLATFORMS: "linux/amd64, linux/386" });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      "the buildx builder agent-stack-k8s cannot build linux/arm64 (it builds: linux/amd64,linux/386): install QEMU's binfmt handlers",
    );
    expect(calls().filter((call) => call.startsWith("docker buildx build"))).toEqual([]);
  });

  it("packages and pushes the chart with helm, the password on stdin", () => {
    const result = run(["chart"], {
      BUILDKITE_TAG: TAG,
      REGISTRY_USERNAME: "release-bot",
      REGISTRY_PASSWORD: PASSWORD,
    });
    expect(result.status, result.stderr).toBe(0);
    expect(calls()).toEqual([
      "npm ci --no-audit --no-fund",
      "npm run --silent package-chart",
      "helm registry login ghcr.io --username release-bot --password-stdin",
      `stdin: ${PASSWORD}`,
      `helm push dist/agent-stack-k8s-${VERSION}.tgz ${pipeline.env.CHART_REPOSITORY}`,
    ]);
  });

  it("says which helm is missing before packaging a chart it could not push", () => {
    const result = run(["chart"], { BUILDKITE_TAG: TAG, HELM: "helm-3-not-installed" });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      "helm-3-not-installed not found: pushing the chart needs helm 3.8 or newer",
    );
    expect(calls()).toEqual([]);
  });
});
