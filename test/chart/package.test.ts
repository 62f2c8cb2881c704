/**
 * `npm run package-chart`: the archive `helm push` publishes. It is run as a user runs it, and the
 * archive is then what helm itself reads: `helm lint --strict`, `helm template` (the same objects as the
 * chart's directory), `helm show chart` and `helm show readme`.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { filesOfTgz } from "../../scripts/archives.ts";
import { runHelm } from "../../scripts/helm.ts";
import { CHART, HELM, NAMESPACE, RELEASE, renderObjects, SKIP_REASON } from "./render.ts";

const ROOT = join(CHART, "../..");
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const VALUES_FILES = ["ci/default-values.yaml", "ci/monitoring-values.yaml", "ci/cert-manager-values.yaml"];
const NPM_TIMEOUT_MS = 180_000;

function packageChart(root: string, args: readonly string[]) {
  return spawnSync("npm", ["run", "--silent", "package-chart", "--", ...args], {
    cwd: root,
    encoding: "utf8",
    timeout: NPM_TIMEOUT_MS,
    env: { ...process.env, ...(HELM ? { AGENT_STACK_K8S_HELM: HELM } : {}) },
  });
}

describe.skipIf(HELM === undefined)(`npm run package-chart${SKIP_REASON}`, () => {
  const work = mkdtempSync(join(tmpdir(), "package-chart-"));
  let archive: string;

  beforeAll(() => {
    const packaged = packageChart(ROOT, ["--destination", work]);
    expect(packaged.status, packaged.stderr).toBe(0);
    archive = join(work, `agent-stack-k8s-${VERSION}.tgz`);
    expect(packaged.stdout.trim()).toBe(archive);
  }, NPM_TIMEOUT_MS);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const helm = (args: readonly string[]) => runHelm(HELM as string, args);

  it("makes agent-stack-k8s-<version>.tgz with the chart under agent-stack-k8s/, without its test values", () => {
    const files = filesOfTgz(readFileSync(archive));
    const names = [...files.keys()];
    for (const name of names) expect(name.startsWith("agent-stack-k8s/"), name).toBe(true);
    for (const file of [
      "Chart.yaml",
      "values.yaml",
      "values.schema.json",
      "README.md",
      "dashboards/agent-stack-k8s.json",
      "templates/grafana-dashboard.yaml",
      "templates/NOTES.txt",
    ])
      expect(names).toContain(`agent-stack-k8s/${file}`);
    expect(names.filter((name) => name.startsWith("agent-stack-k8s/ci/"))).toEqual([]);
    const chart = parse(files.get("agent-stack-k8s/Chart.yaml")?.toString("utf8") ?? "") as Record<
      string,
      unknown
    >;
    expect(chart).toMatchObject({ name: "agent-stack-k8s", version: VERSION, appVersion: VERSION });
    expect(files.get("agent-stack-k8s/values.schema.json")?.toString("utf8")).toBe(
      readFileSync(join(CHART, "values.schema.json"), "utf8"),
    );
  });

  it.each(VALUES_FILES)("passes helm lint --strict with %s", (file) => {
    const result = helm([
      "lint",
      "--strict",
      archive,
      "--namespace",
      NAMESPACE,
      "--values",
      join(CHART, file),
    ]);
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });

  it.each(VALUES_FILES)("renders with helm template what the chart's directory renders, with %s", (file) => {
    const result = helm([
      "template",
      RELEASE,
      archive,
      "--namespace",
      NAMESPACE,
      "--values",
      join(CHART, file),
    ]);
    expect(result.status, result.stderr).toBe(0);
    const objects = parseAllDocuments(result.stdout)
      .map((document) => document.toJS() as unknown)
      .filter((object) => object !== null);
    expect(objects.length).toBeGreaterThan(10);
    expect(objects).toEqual(renderObjects({ valuesFiles: [file] }));
  });

  it("shows the chart's metadata with helm show chart", () => {
    const result = helm(["show", "chart", archive]);
    expect(result.status, result.stderr).toBe(0);
    const shown = parse(result.stdout) as Record<string, unknown>;
    const source = parse(readFileSync(join(CHART, "Chart.yaml"), "utf8")) as Record<string, unknown>;
    expect(shown).toEqual({ ...source, version: VERSION, appVersion: VERSION });
    for (const field of ["home", "sources", "icon", "maintainers", "kubeVersion"])
      expect(shown).toHaveProperty(field);
  });

  it("shows the chart's README with helm show readme", () => {
    const result = helm(["show", "readme", archive]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe(readFileSync(join(CHART, "README.md"), "utf8").trim());
    expect(result.stdout).toContain("| `monitoring.deployGrafanaDashboard` |");
  });
});

/**
 * package.json decides the version, whatever Chart.yaml says: the script runs in a copy of the pieces it
 * needs, whose package.json carries another version.
 */
describe.skipIf(HELM === undefined)(`the archive's version${SKIP_REASON}`, () => {
  const copy = mkdtempSync(join(tmpdir(), "package-chart-version-"));

  beforeAll(() => {
    const pieces = [
      "bin/node-version.js",
      "scripts/package-chart.ts",
      "scripts/helm.ts",
      "scripts/archives.ts",
    ];
    for (const path of pieces) {
      mkdirSync(join(copy, path, ".."), { recursive: true });
      cpSync(join(ROOT, path), join(copy, path));
    }
    cpSync(CHART, join(copy, "charts/agent-stack-k8s"), { recursive: true });
    symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"));
  });

  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  const withVersion = (version: string) => {
    const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(copy, "package.json"), JSON.stringify({ ...manifest, version }, null, 2));
  };

  it(
    "is package.json's, for version and appVersion",
    () => {
      withVersion("1.2.3-rc.1");
      const packaged = packageChart(copy, []);
      expect(packaged.status, packaged.stderr).toBe(0);
      expect(packaged.stdout.trim()).toBe(join("dist", "agent-stack-k8s-1.2.3-rc.1.tgz"));
      const shown = runHelm(HELM as string, [
        "show",
        "chart",
        join(copy, "dist/agent-stack-k8s-1.2.3-rc.1.tgz"),
      ]);
      expect(parse(shown.stdout)).toMatchObject({ version: "1.2.3-rc.1", appVersion: "1.2.3-rc.1" });
    },
    NPM_TIMEOUT_MS,
  );

  it(
    "must be one a chart can have, or nothing is packaged",
    () => {
      withVersion("1.2");
      const packaged = packageChart(copy, ["--destination", "out"]);
      expect(packaged.status).toBe(1);
      expect(packaged.stderr).toContain('package.json: version "1.2" is not a SemVer 2 version');
    },
    NPM_TIMEOUT_MS,
  );
});
