/**
 * What every part of `diagnose` shares: the context it reads the cluster through and writes files to,
 * what earlier parts found, and the outcome it reports (one summary line, and details under it).
 */
import type { V1Deployment, V1Job, V1MutatingWebhookConfiguration, V1Pod } from "@kubernetes/client-node";
import type { Config } from "../src/config/types.ts";
import type { StackComponent } from "../src/k8s/permissions.ts";
import type { DiagnoseCluster } from "./cluster.ts";
import type { Redactor } from "./redaction.ts";

/**
 * - `ok`: collected, nothing wrong seen;
 * - `problem`: collected, and it shows something wrong with the stack (a missing permission…);
 * - `partial`: some of it could not be collected (each piece says why);
 * - `not-collected`: none of it could be collected (it says why);
 * - `skipped`: it needs what an earlier part could not collect, or was not asked for.
 */
export type PartStatus = "ok" | "problem" | "partial" | "not-collected" | "skipped";

export interface PartOutcome {
  readonly status: PartStatus;
  readonly summary: string;
  readonly details?: readonly string[];
}

/** One Deployment of the chart: the launcher, the webhook or the certificate keeper. */
export interface StackDeployment {
  readonly component: StackComponent;
  readonly deployment: V1Deployment;
  /** `app.kubernetes.io/...=...`: its pods. */
  readonly podSelector: string;
  readonly serviceAccount: string;
}

export interface Stack {
  readonly release: string;
  readonly deployments: readonly StackDeployment[];
}

/** What the parts found, for the parts after them. */
export interface Findings {
  stack?: Stack;
  config?: Config;
  stackPods?: readonly V1Pod[];
  jobs?: readonly V1Job[];
  jobPods?: readonly V1Pod[];
  webhookConfigurations?: readonly V1MutatingWebhookConfiguration[];
}

export interface DiagnoseOptions {
  readonly namespace: string;
  /** `--release`: which release of the chart, when the namespace has several. */
  readonly release: string | undefined;
  /** `--job`: Buildkite job UUIDs; empty: every Job of the stack, without their logs. */
  readonly jobs: readonly string[];
  /** `--since`, for the stack's logs. */
  readonly sinceSeconds: number | undefined;
}

export interface DiagnoseContext {
  readonly cluster: DiagnoseCluster;
  readonly options: DiagnoseOptions;
  readonly redactor: Redactor;
  readonly found: Findings;
  readonly now: Date;
  /** Writes a file of the archive (relative path); its text goes through the redactor first. */
  write(path: string, content: string): Promise<void>;
  /** Writes objects as one YAML `List`, secret env values redacted. */
  writeObjects(path: string, objects: readonly unknown[]): Promise<void>;
}

export interface Part {
  /** As the summary shows it: `stack logs`. */
  readonly name: string;
  run(context: DiagnoseContext): Promise<PartOutcome>;
}

/** Thrown by a part that needs what an earlier one did not find: the part is `skipped`. */
export class PartSkipped extends Error {}

export function needs<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new PartSkipped(`needs ${what}, which could not be collected`);
  return value;
}
