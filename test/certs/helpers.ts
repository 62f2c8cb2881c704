/** Running `agent-stack-k8s certs` in-process, and what its tests check on every run. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubernetesObject, V1MutatingWebhookConfiguration } from "@kubernetes/client-node";
import { expect } from "vitest";
import { type CertsCommandContext, certsCommand } from "../../certs/command.ts";
import type { StoredCertificates } from "../../certs/inspect.ts";
import type { CommandIo } from "../../runtime/command-io.ts";
import { type AgentStackError, isAgentStackError } from "../../src/errors.ts";

export const DAY_MS = 24 * 60 * 60 * 1000;

/** Short waits so that retry tests take milliseconds. */
export const FAST_CONTEXT: CertsCommandContext = {
  call: { timeoutMs: 5_000, retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 5 } },
  caBundleRetry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 5 },
  watchRetry: { attempts: Number.POSITIVE_INFINITY, initialDelayMs: 5, maxDelayMs: 20 },
};

export interface CertsRun {
  /** The exit status, or the error the command threw (main turns it into 1 or 2). */
  readonly code: number | AgentStackError;
  readonly stdout: string;
  readonly stderr: string;
  /** The log lines, parsed (the runs log as JSON). */
  readonly logs: ReadonlyArray<Record<string, unknown>>;
}

/** Every run's whole output, for the check that no key material ever reaches a log. */
export const allOutput: string[] = [];

/** `onStdout` sees the output as it is written, for tests that wait on a running `--watch`. */
export async function runCerts(
  args: readonly string[],
  context: CertsCommandContext = {},
  onStdout: (text: string) => void = () => {},
): Promise<CertsRun> {
  let stdout = "";
  let stderr = "";
  const io: CommandIo = {
    stdout: (text) => {
      stdout += text;
      onStdout(text);
    },
    stderr: (text) => {
      stderr += text;
    },
    readInput: () => {
      throw new Error("no input files in these tests");
    },
    env: {},
  };
  let code: number | AgentStackError;
  try {
    code = await certsCommand(["--log-format", "json", "--namespace", "ns", ...args], io, {
      ...FAST_CONTEXT,
      ...context,
    });
  } catch (error) {
    if (!isAgentStackError(error)) throw error;
    code = error;
  }
  allOutput.push(stdout, stderr);
  const logs = stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { code, stdout, stderr, logs };
}

export function messages(run: CertsRun): string[] {
  return run.logs.map((line) => String(line.msg));
}

/** Fails unless `text` holds no PEM, no key and no base64 form of one, from any of `bundles`. */
export function expectNoKeyMaterial(text: string, bundles: readonly StoredCertificates[]): void {
  expect(text).not.toContain("-----BEGIN");
  expect(text).not.toContain("PRIVATE KEY");
  for (const bundle of bundles) {
    for (const pem of [bundle.key, bundle.caKey ?? "", bundle.cert, bundle.caCert]) {
      if (pem === "") continue;
      for (const line of pem.split("\n").filter((body) => body.length > 40 && !body.startsWith("-----"))) {
        expect(text).not.toContain(line);
      }
      expect(text).not.toContain(Buffer.from(pem).toString("base64").slice(0, 60));
    }
  }
}

export function temporaryDirectory(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), "certs-test-"));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function webhookConfiguration(
  name: string,
  caBundles: ReadonlyArray<string | undefined> = [undefined, undefined],
): V1MutatingWebhookConfiguration & KubernetesObject {
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    metadata: { name },
    webhooks: caBundles.map((caBundle, index) => ({
      name: `hook-${index}.buildkite.com`,
      admissionReviewVersions: ["v1"],
      sideEffects: "None",
      clientConfig: {
        service: { name: "hook", namespace: "ns", path: "/mutate" },
        ...(caBundle === undefined ? {} : { caBundle }),
      },
    })),
  };
}
