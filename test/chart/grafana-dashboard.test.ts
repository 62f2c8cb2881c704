/**
 * The optional Grafana dashboard: a file Grafana's dashboard sidecar can load as it is (no import-time
 * inputs, every variable defined, panels on the grid), queries that are PromQL and select metrics, and
 * the ConfigMap the chart renders around it. That its queries use only metrics the stack serves is
 * checked where the stack runs, in install.test.ts.
 */
import { describe, expect, it } from "vitest";
import { definitionForKind } from "../support/k8s-openapi.ts";
import { validateK8sObject } from "../support/k8s-validate.ts";
import { promqlMetricNames } from "../support/promql.ts";
import { allPanels, dashboardQueries, readDashboard } from "./dashboard.ts";
import {
  HELM,
  type K8sObject,
  NAMESPACE,
  objectsOfKind,
  oneOf,
  RELEASE,
  renderObjects,
  SKIP_REASON,
} from "./render.ts";

const FULLNAME = `${RELEASE}-agent-stack-k8s`;
const TOKENS = { agentToken: "a", graphqlToken: "b", config: { org: "my-org" } };
/** Variables Grafana defines itself. */
const BUILT_IN = new Set([
  "__rate_interval",
  "__interval",
  "__interval_ms",
  "__range",
  "__range_s",
  "__from",
  "__to",
]);
/** The data source the user picks (Grafana's variable syntax, not a template literal's). */
const DATASOURCE_UID = `\${datasource}`;
/** A ConfigMap holds at most 1 MiB. */
const CONFIGMAP_LIMIT = 1024 * 1024;

describe("the Grafana dashboard file", () => {
  const dashboard = readDashboard();
  const panels = allPanels(dashboard);

  it("has a fixed uid and title and no import-time inputs, which a provisioned dashboard cannot fill", () => {
    expect(dashboard.uid).toBe("agent-stack-k8s");
    expect(dashboard.title).toMatch(/agent-stack-k8s/);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard).not.toHaveProperty("__inputs");
    expect(JSON.stringify(dashboard)).not.toMatch(/\$\{DS_[A-Z_]+\}/);
  });

  it("asks for the data source, the namespace and the stack, and uses no variable it does not define", () => {
    const defined = new Set(dashboard.templating.list.map((variable) => variable.name));
    expect([...defined]).toEqual(["datasource", "namespace", "stack"]);
    expect(dashboard.templating.list[0]).toMatchObject({ type: "datasource", query: "prometheus" });
    const used = [...JSON.stringify(dashboard).matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)].map(
      (match) => match[1],
    );
    for (const name of new Set(used))
      expect(BUILT_IN.has(name as string) || defined.has(name as string), `$${name}`).toBe(true);
  });

  it("gives every panel a unique id and a place on the 24-column grid that no other panel takes", () => {
    const ids = panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    const taken = new Map<string, string>();
    for (const panel of panels) {
      const { x, y, w, h } = panel.gridPos;
      expect(
        x >= 0 && w > 0 && h > 0 && x + w <= 24,
        `${panel.title}: ${JSON.stringify(panel.gridPos)}`,
      ).toBe(true);
      for (let column = x; column < x + w; column++) {
        for (let row = y; row < y + h; row++) {
          const cell = `${column},${row}`;
          expect(taken.get(cell), `${panel.title} overlaps ${taken.get(cell)}`).toBeUndefined();
          taken.set(cell, panel.title);
        }
      }
    }
  });

  it("queries the chosen data source, with one refId per target, in every panel that is not a row", () => {
    const graphs = panels.filter((panel) => panel.type !== "row");
    expect(graphs.length).toBeGreaterThan(20);
    for (const panel of graphs) {
      expect(panel.datasource, panel.title).toEqual({ type: "prometheus", uid: DATASOURCE_UID });
      const targets = panel.targets ?? [];
      expect(targets.length, panel.title).toBeGreaterThan(0);
      expect(new Set(targets.map((target) => target.refId)).size, panel.title).toBe(targets.length);
      for (const target of targets) expect(target.datasource?.uid, panel.title).toBe(DATASOURCE_UID);
    }
  });

  it("has well-formed queries that each select a metric of this stack (namespace and job)", () => {
    const queries = dashboardQueries(dashboard);
    for (const query of queries) {
      const { metrics, problems } = promqlMetricNames(query.expr);
      expect(problems, `${query.where}: ${query.expr}`).toEqual([]);
      expect(metrics.length, `${query.where} selects no metric: ${query.expr}`).toBeGreaterThan(0);
      if (!query.where.startsWith("panel")) continue;
      // Every selector of a panel is narrowed to the stack the variables choose.
      for (const metric of metrics) {
        const selectors = [...query.expr.matchAll(new RegExp(`(?<![\\w:])${metric}(\\{[^}]*\\})?`, "g"))];
        for (const [selector] of selectors)
          expect(selector, `${query.where}: ${query.expr}`).toMatch(
            /\{namespace="\$namespace", job="\$stack"[,}]/,
          );
      }
    }
    expect(queries.length).toBeGreaterThan(40);
  });
});

describe.skipIf(HELM === undefined)(`the dashboard's ConfigMap${SKIP_REASON}`, () => {
  const dashboardConfigMaps = (objects: readonly K8sObject[]) =>
    objectsOfKind(objects, "ConfigMap").filter((object) =>
      object.metadata.name.endsWith("-grafana-dashboard"),
    );

  it("is not rendered unless asked for", () => {
    expect(dashboardConfigMaps(renderObjects({ values: TOKENS }))).toEqual([]);
  });

  it("carries the file as it is, labelled for Grafana's sidecar, valid for Kubernetes", () => {
    const objects = renderObjects({ values: { ...TOKENS, monitoring: { deployGrafanaDashboard: true } } });
    const configMap = oneOf(objects, "ConfigMap", `${FULLNAME}-grafana-dashboard`);
    expect(configMap.metadata.namespace).toBe(NAMESPACE);
    expect(configMap.metadata.labels).toMatchObject({
      grafana_dashboard: "1",
      "app.kubernetes.io/instance": RELEASE,
    });
    const data = configMap.data as Record<string, string>;
    expect(Object.keys(data)).toEqual(["agent-stack-k8s.json"]);
    expect(JSON.parse(data["agent-stack-k8s.json"] as string)).toEqual(readDashboard());
    expect(Buffer.byteLength(JSON.stringify(configMap))).toBeLessThan(CONFIGMAP_LIMIT);
    const definition = definitionForKind("v1", "ConfigMap");
    expect(definition).toBeDefined();
    expect(validateK8sObject(configMap, definition as NonNullable<typeof definition>)).toEqual([]);
  });

  it("goes where the PodMonitor goes when monitoring.namespace is set", () => {
    const objects = renderObjects({
      values: {
        ...TOKENS,
        monitoring: { namespace: "monitoring", deployGrafanaDashboard: true, podMonitor: { deploy: true } },
      },
    });
    expect(dashboardConfigMaps(objects).map((object) => object.metadata.namespace)).toEqual(["monitoring"]);
    expect(oneOf(objects, "PodMonitor").metadata.namespace).toBe("monitoring");
  });

  it("is upstream's option: upstream's production values with deployGrafanaDashboard render", () => {
    const objects = renderObjects({
      values: {
        agentToken: "a",
        graphqlToken: "b",
        config: { org: "my-org", "max-in-flight": 100 },
        monitoring: { deployGrafanaDashboard: true, podMonitor: { deploy: true, scrapeInterval: "30s" } },
      },
    });
    expect(dashboardConfigMaps(objects)).toHaveLength(1);
  });
});

describe.skipIf(HELM === undefined)(`the PodMonitor the dashboard reads${SKIP_REASON}`, () => {
  type Endpoint = { port: string; relabelings?: { sourceLabels: string[]; regex: string; action: string }[] };
  type Container = { ports?: { name: string }[] };

  it("scrapes the launcher and the webhook on their metrics port and the certs keeper on its own", () => {
    const objects = renderObjects({ values: { ...TOKENS, monitoring: { podMonitor: { deploy: true } } } });
    const spec = oneOf(objects, "PodMonitor").spec as {
      jobLabel: string;
      selector: { matchLabels: Record<string, string> };
      podMetricsEndpoints: Endpoint[];
    };
    expect(spec.jobLabel).toBe("app");
    const scraped = new Map<string, string[]>();
    for (const deployment of objectsOfKind(objects, "Deployment")) {
      const template = (
        deployment.spec as {
          template: { metadata: { labels: Record<string, string> }; spec: { containers: Container[] } };
        }
      ).template;
      const labels = template.metadata.labels;
      if (!Object.entries(spec.selector.matchLabels).every(([key, value]) => labels[key] === value)) continue;
      expect(labels.app, "the job label the dashboard's $stack picks").toBe(FULLNAME);
      const ports = template.spec.containers
        .flatMap((container) => container.ports ?? [])
        .map((port) => port.name);
      for (const endpoint of spec.podMetricsEndpoints) {
        const kept = (endpoint.relabelings ?? []).every(
          (relabel) =>
            relabel.action !== "keep" ||
            (relabel.sourceLabels[0] === "__meta_kubernetes_pod_label_app_kubernetes_io_component" &&
              new RegExp(`^(?:${relabel.regex})$`).test(labels["app.kubernetes.io/component"] ?? "")),
        );
        if (kept && ports.includes(endpoint.port)) {
          const component = labels["app.kubernetes.io/component"] as string;
          scraped.set(component, [...(scraped.get(component) ?? []), endpoint.port]);
        }
      }
    }
    expect(Object.fromEntries(scraped)).toEqual({
      launcher: ["metrics"],
      webhook: ["metrics"],
      certs: ["http"],
    });
  });

  it("has no certs keeper to scrape when the certificates are not self-managed", () => {
    const objects = renderObjects({
      values: {
        ...TOKENS,
        certificates: { mode: "certManager" },
        monitoring: { podMonitor: { deploy: true } },
      },
    });
    const endpoints = (oneOf(objects, "PodMonitor").spec as { podMetricsEndpoints: Endpoint[] })
      .podMetricsEndpoints;
    expect(endpoints.map((endpoint) => endpoint.port)).toEqual(["metrics"]);
  });
});
