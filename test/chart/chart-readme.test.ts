/**
 * The chart as a published artifact: its README (what `helm show readme` prints) with values tables
 * generated from values.yaml and the values schema, and the Chart.yaml fields a chart registry and
 * Artifact Hub show.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  CONFIG_VALUES_END,
  CONFIG_VALUES_START,
  VALUES_END,
  VALUES_START,
  valuesTables,
  withChartValuesTables,
} from "../../scripts/chart-readme.ts";
import { chartValuesSchema } from "../../scripts/chart-values-schema.ts";
import { CHART, HELM, renderChart, SKIP_REASON } from "./render.ts";

const README = join(CHART, "README.md");
const VALUES_YAML = readFileSync(join(CHART, "values.yaml"), "utf8");
const ROOT = join(CHART, "../..");

interface ChartYaml {
  readonly home: string;
  readonly sources: readonly string[];
  readonly icon: string;
  readonly maintainers: readonly { readonly name: string; readonly url?: string; readonly email?: string }[];
  readonly kubeVersion: string;
}

function chartYaml(): ChartYaml {
  return parse(readFileSync(join(CHART, "Chart.yaml"), "utf8")) as ChartYaml;
}

function tableKeys(table: string): string[] {
  return [...table.matchAll(/^\| `([^`]+)` \|/gm)].map((match) => match[1] as string);
}

describe("the chart's README", () => {
  const readme = readFileSync(README, "utf8");

  it("has values tables generated from values.yaml and the schema (run npm run docs)", () => {
    for (const marker of [VALUES_START, VALUES_END, CONFIG_VALUES_START, CONFIG_VALUES_END])
      expect(readme).toContain(marker);
    expect(withChartValuesTables(readme), "charts/agent-stack-k8s/README.md: run npm run docs").toBe(readme);
  });

  it("lists every value of values.yaml and every configuration key of the schema", () => {
    const { values, config } = valuesTables(VALUES_YAML);
    const listed = tableKeys(values);
    const topLevel = Object.keys(parse(VALUES_YAML) as object);
    for (const key of topLevel)
      expect(
        listed.some((row) => row === key || row.startsWith(`${key}.`)),
        key,
      ).toBe(true);
    const schema = chartValuesSchema() as { properties: { config: { properties: object } } };
    expect(tableKeys(config)).toEqual(
      Object.keys(schema.properties.config.properties).map((key) => `config.${key}`),
    );
    expect(listed).toContain("monitoring.deployGrafanaDashboard");
    expect(listed).toContain("webhook.podDisruptionBudget.maxUnavailable");
    // A Kubernetes-shaped value is one row with its whole default.
    expect(values).toMatch(/^\| `resources` \| object \| `\{ requests: \{ cpu: 100m, memory: 320Mi \}/m);
  });

  it("describes each value with the comment above it, or the schema's description", () => {
    const { values } = valuesTables(VALUES_YAML);
    const row = (key: string) => values.split("\n").find((line) => line.startsWith(`| \`${key}\` |`));
    expect(row("agentToken")).toMatch(
      / \| The Buildkite agent token \(a cluster's agent token\)\. The chart stores it in the Secret \\<fullname>-secrets /,
    );
    expect(row("nodeSelector")).toBe("| `nodeSelector` | object | `{}` | nodeSelector of the stack's pods |");
    // A comment followed by a blank line is a heading over several values, not the first one's.
    expect(row("labels")).toBe("| `labels` | object | `{}` | Extra pod labels |");
    const piped = valuesTables(
      VALUES_YAML.replace("# The Buildkite agent token (a cluster's agent token).", "# Either | or."),
    );
    expect(piped.values).toContain('| `agentToken` | string | `""` | Either \\| or. The chart stores it');
  });

  it("will not be generated with a value nobody described", () => {
    const withNewKnob = VALUES_YAML.replace("\nlauncher:\n", "\nlauncher:\n  newKnob: 3\n");
    expect(withNewKnob).not.toBe(VALUES_YAML);
    expect(() => valuesTables(withNewKnob)).toThrow(
      "values launcher.newKnob have no description: add a comment right above it in values.yaml",
    );
  });

  it("says how to install from the OCI registry the release pipeline pushes to", () => {
    const pipeline = readFileSync(join(ROOT, ".buildkite/pipeline.yml"), "utf8");
    const chartRepository = /CHART_REPOSITORY: "?(oci:\/\/[^"\s]+)"?/.exec(pipeline)?.[1];
    expect(chartRepository).toBeDefined();
    expect(readme).toContain(`helm install agent-stack-k8s ${chartRepository}/agent-stack-k8s --version`);
  });
});

describe("Chart.yaml", () => {
  const chart = chartYaml();

  it("names the project's home, sources and maintainers", () => {
    expect(chart.home).toMatch(/^https:\/\/github\.com\/[\w.-]+\/[\w.-]+$/);
    expect(chart.sources).toContain(chart.home);
    expect(chart.maintainers.length).toBeGreaterThan(0);
    for (const maintainer of chart.maintainers) {
      expect(maintainer.name.trim()).not.toBe("");
      expect(maintainer.url ?? maintainer.email).toBeDefined();
    }
  });

  it("has an icon that is an SVG file of this repository's main branch", () => {
    const prefix = `${chart.home.replace("https://github.com/", "https://raw.githubusercontent.com/")}/main/`;
    expect(chart.icon.startsWith(prefix), chart.icon).toBe(true);
    const path = join(ROOT, chart.icon.slice(prefix.length));
    expect(existsSync(path), path).toBe(true);
    expect(readFileSync(path, "utf8")).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox=/);
  });

  it.skipIf(HELM === undefined)(`refuses a cluster older than kubeVersion${SKIP_REASON}`, () => {
    expect(chart.kubeVersion).toBe(">=1.29.0-0");
    const values = { agentToken: "a", graphqlToken: "b", config: { org: "x" } };
    const older = renderChart({ values, kubeVersion: "1.28.9" });
    expect(older.ok).toBe(false);
    if (!older.ok) expect(older.error).toMatch(/kubeVersion: >=1\.29\.0-0 which is incompatible/);
    expect(renderChart({ values, kubeVersion: "1.29.0" }).ok).toBe(true);
  });
});
