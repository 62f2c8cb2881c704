/**
 * The chart's Grafana dashboard (`dashboards/agent-stack-k8s.json`) and the PromQL it runs: every
 * panel's targets and every query variable's `label_values(…)` selector.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CHART } from "./render.ts";

export const DASHBOARD_FILE = join(CHART, "dashboards/agent-stack-k8s.json");

export interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly gridPos: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  readonly datasource?: { readonly type: string; readonly uid: string };
  readonly targets?: readonly {
    readonly refId: string;
    readonly expr: string;
    readonly datasource?: { readonly uid: string };
  }[];
  readonly panels?: readonly Panel[];
}

export interface Variable {
  readonly name: string;
  readonly type: string;
  readonly definition?: string;
  readonly query?: string | { readonly query: string };
  readonly datasource?: { readonly uid: string };
}

export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly schemaVersion: number;
  readonly panels: readonly Panel[];
  readonly templating: { readonly list: readonly Variable[] };
  readonly [key: string]: unknown;
}

export function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_FILE, "utf8")) as Dashboard;
}

/** Every panel, those inside collapsed rows too. */
export function allPanels(dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

export interface Query {
  /** Where it is, for messages: the panel's title and refId, or the variable's name. */
  readonly where: string;
  readonly expr: string;
}

const LABEL_VALUES = /^\s*label_values\(\s*(.*?)\s*,\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$/s;

export function dashboardQueries(dashboard: Dashboard): Query[] {
  const queries: Query[] = [];
  for (const panel of allPanels(dashboard)) {
    for (const target of panel.targets ?? []) {
      queries.push({ where: `panel "${panel.title}" ${target.refId}`, expr: target.expr });
    }
  }
  for (const variable of dashboard.templating.list) {
    if (variable.type !== "query") continue;
    const text = typeof variable.query === "string" ? variable.query : (variable.query?.query ?? "");
    const selector = LABEL_VALUES.exec(text)?.[1];
    if (selector === undefined)
      throw new Error(`variable ${variable.name}: not label_values(…, label): ${text}`);
    queries.push({ where: `variable ${variable.name}`, expr: selector });
  }
  return queries;
}
