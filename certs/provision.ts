/**
 * One pass of `agent-stack-k8s certs`: make sure the store holds usable certificates (renewing them
 * when due), then bring the copies up to date: the files of `--out-dir` and the `caBundle` of the
 * webhook configuration. Two stores:
 *
 * - files only (`--out-dir` alone): the directory is the store, `ca.key` included;
 * - cluster (`--secret`): the Secret is the store, shared by every replica; `--out-dir` then gets a
 *   copy without `ca.key`, for a webhook container that reads files.
 *
 * Logs say what happened and when the next renewal is due; never a key or a certificate.
 */
import type { RetryPolicy } from "../runtime/backoff.ts";
import type { KubeCallOptions, KubeClient } from "../runtime/kube.ts";
import type { Logger } from "../runtime/logger.ts";
import { readCertificateFiles, writeCertificateFiles } from "./files.ts";
import { type ServingCertificateOptions, servingNames } from "./generate.ts";
import { inspectCertificates, renewalSchedule, type StoredCertificates } from "./inspect.ts";
import { renewCertificates } from "./renew.ts";
import type { SecretAction } from "./secret.ts";

export interface ClusterStore {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly secretName: string;
  /** The MutatingWebhookConfiguration whose caBundle to keep; none: leave it to someone else. */
  readonly webhookConfiguration: string | undefined;
  readonly call?: KubeCallOptions;
  readonly caBundleRetry?: RetryPolicy;
}

export interface ProvisionOptions {
  readonly certificates: Omit<ServingCertificateOptions, "now">;
  readonly renewFraction?: number;
  readonly now: () => Date;
  readonly outDir: string | undefined;
  readonly cluster: ClusterStore | undefined;
  readonly logger: Logger;
}

export interface Provisioned {
  readonly action: SecretAction;
  readonly renewAt: Date;
  readonly notAfter: Date;
}

export async function provisionOnce(options: ProvisionOptions): Promise<Provisioned> {
  if (options.cluster !== undefined) return provisionInCluster(options, options.cluster);
  if (options.outDir === undefined) throw new Error("provisionOnce needs an out-dir or a cluster store");
  return provisionFiles(options, options.outDir);
}

async function provisionInCluster(options: ProvisionOptions, cluster: ClusterStore): Promise<Provisioned> {
  // The Kubernetes client comes with these; files alone never load it.
  const [{ ensureCertificateSecret }, { ensureCaBundle }] = await Promise.all([
    import("./secret.ts"),
    import("./ca-bundle.ts"),
  ]);
  const secret = `${cluster.namespace}/${cluster.secretName}`;
  const ensured = await ensureCertificateSecret({
    client: cluster.client,
    namespace: cluster.namespace,
    name: cluster.secretName,
    certificates: options.certificates,
    now: options.now,
    logger: options.logger,
    ...(options.renewFraction === undefined ? {} : { renewFraction: options.renewFraction }),
    ...(cluster.call === undefined ? {} : { call: cluster.call }),
  });
  logOutcome(options.logger, ensured.action, ensured.reason, {
    secret,
    notAfter: ensured.notAfter.toISOString(),
    renewAt: ensured.renewAt.toISOString(),
  });
  if (options.outDir !== undefined) {
    // The webhook needs no CA key: it stays in the Secret.
    await writeFiles(options, options.outDir, { ...ensured.stored, caKey: undefined });
  }
  if (cluster.webhookConfiguration !== undefined) {
    const result = await ensureCaBundle({
      client: cluster.client,
      name: cluster.webhookConfiguration,
      caCert: ensured.stored.caCert,
      logger: options.logger,
      ...(cluster.call === undefined ? {} : { call: cluster.call }),
      ...(cluster.caBundleRetry === undefined ? {} : { retry: cluster.caBundleRetry }),
    });
    const fields = { webhookConfiguration: cluster.webhookConfiguration, webhooks: result.webhooks };
    if (result.patched.length > 0) {
      options.logger.info({ ...fields, patched: result.patched }, "caBundle updated");
    } else if (result.webhooks === 0) {
      options.logger.warn(fields, "the webhook configuration has no webhooks: no caBundle to set");
    } else {
      options.logger.debug(fields, "caBundle already up to date");
    }
  }
  return ensured;
}

async function provisionFiles(options: ProvisionOptions, directory: string): Promise<Provisioned> {
  const names = servingNames(options.certificates);
  const current = await readCertificateFiles(directory);
  const inspection =
    current === undefined
      ? undefined
      : inspectCertificates(current, {
          ...names,
          now: options.now(),
          source: directory,
          ...(options.renewFraction === undefined ? {} : { renewFraction: options.renewFraction }),
        });
  if (current !== undefined && inspection?.decision === "reuse") {
    logOutcome(options.logger, "reused", undefined, {
      directory,
      notAfter: inspection.notAfter.toISOString(),
      renewAt: inspection.renewAt.toISOString(),
    });
    return { action: "reused", renewAt: inspection.renewAt, notAfter: inspection.notAfter };
  }
  const next = await renewCertificates(current, inspection?.decision === "reuse" ? undefined : inspection, {
    ...options.certificates,
    now: options.now(),
  });
  await writeFiles(options, directory, next.stored);
  const written = renewalSchedule(next.stored, options.renewFraction);
  logOutcome(options.logger, next.action, inspection?.decision === "reuse" ? undefined : inspection?.reason, {
    directory,
    notAfter: written.notAfter.toISOString(),
    renewAt: written.renewAt.toISOString(),
  });
  return { action: next.action, renewAt: written.renewAt, notAfter: written.notAfter };
}

async function writeFiles(
  options: ProvisionOptions,
  directory: string,
  stored: StoredCertificates,
): Promise<void> {
  const written = await writeCertificateFiles(directory, stored);
  if (written.length > 0) options.logger.info({ directory, files: written }, "certificate files written");
}

const MESSAGES: Readonly<Record<SecretAction, string>> = {
  created: "certificates created",
  reused: "certificates valid; reusing them",
  renewed: "serving certificate renewed (same CA)",
  replaced: "CA and serving certificate replaced",
};

function logOutcome(
  logger: Logger,
  action: SecretAction,
  reason: string | undefined,
  fields: Record<string, string>,
): void {
  logger.info({ ...fields, action, ...(reason === undefined ? {} : { reason }) }, MESSAGES[action]);
}
