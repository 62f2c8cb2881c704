/**
 * Puts the CA into `webhooks[*].clientConfig.caBundle` of the webhook's MutatingWebhookConfiguration,
 * so that kube-apiserver trusts the serving certificate. Only webhooks whose bundle differs are
 * patched, with one JSON Patch that first tests each webhook's name at its index: if the list changed
 * since we read it (a Helm upgrade), the test fails, nothing is written, and we read it again.
 *
 * The configuration may not exist yet (the chart can create it after the certificates), so a missing
 * one is retried with back-off within a bound before it becomes an error.
 */
import type { V1MutatingWebhookConfiguration } from "@kubernetes/client-node";
import { type RetryPolicy, retryDelayMs } from "../runtime/backoff.ts";
import { callKube, type KubeCallOptions, type KubeClient } from "../runtime/kube.ts";
import { isKubeApiError } from "../runtime/kube-api-error.ts";
import type { Logger } from "../runtime/logger.ts";
import { sleep } from "../runtime/sleep.ts";
import { AgentStackError } from "../src/errors.ts";
import { apiFailure } from "./api-failure.ts";

export interface CaBundleOptions {
  readonly client: KubeClient;
  /** The MutatingWebhookConfiguration (cluster-scoped). */
  readonly name: string;
  /** `ca.crt`: PEM of the CAs to trust. */
  readonly caCert: string;
  readonly call?: KubeCallOptions;
  /**
   * Reads in all while the configuration is missing or its webhooks keep changing under the patch;
   * default 5 attempts from 1 s, doubling, up to 10 s between them.
   */
  readonly retry?: RetryPolicy;
  readonly logger?: Logger;
}

export const DEFAULT_CA_BUNDLE_RETRY: RetryPolicy = {
  attempts: 5,
  initialDelayMs: 1_000,
  maxDelayMs: 10_000,
};

export interface CaBundleResult {
  /** Names of the webhooks whose caBundle was changed; empty when all were already right. */
  readonly patched: readonly string[];
  readonly webhooks: number;
}

export async function ensureCaBundle(options: CaBundleOptions): Promise<CaBundleResult> {
  const where = `MutatingWebhookConfiguration ${options.name}`;
  const desired = Buffer.from(options.caCert, "utf8").toString("base64");
  const retry = options.retry ?? DEFAULT_CA_BUNDLE_RETRY;
  let lastProblem = "";
  for (let attempt = 1; attempt <= Math.max(1, retry.attempts); attempt += 1) {
    if (attempt > 1) await sleep(retryDelayMs(retry, attempt - 1), options.call?.signal);
    const configuration = await readConfiguration(options, where);
    if (configuration === undefined) {
      lastProblem = "not found";
      options.logger?.info(
        { webhookConfiguration: options.name, attempt },
        `${where} not found yet; waiting for it`,
      );
      continue;
    }
    const webhooks = configuration.webhooks ?? [];
    const stale = webhooks.flatMap((webhook, index) =>
      webhook.clientConfig?.caBundle === desired ? [] : [{ index, name: webhook.name }],
    );
    if (stale.length === 0) return { patched: [], webhooks: webhooks.length };
    const patch = stale.flatMap(({ index, name }) => [
      { op: "test", path: `/webhooks/${index}/name`, value: name },
      { op: "add", path: `/webhooks/${index}/clientConfig/caBundle`, value: desired },
    ]);
    try {
      await callKube(
        `patch ${where}`,
        (call) =>
          options.client.request(
            {
              method: "PATCH",
              path: `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${encodeURIComponent(options.name)}`,
              body: patch,
              discardBody: true,
            },
            call,
          ),
        options.call,
      );
      return { patched: stale.map(({ name }) => name), webhooks: webhooks.length };
    } catch (error) {
      // A failed `test` (the webhooks changed since we read them) is 422; a deletion meanwhile is 404.
      if (!isKubeApiError(error, "Invalid") && !isKubeApiError(error, "NotFound")) throw apiFailure(error);
      lastProblem = error.message;
      options.logger?.info(
        { webhookConfiguration: options.name, attempt },
        `${where} changed while patching; reading it again`,
      );
    }
  }
  if (lastProblem === "not found") {
    throw new AgentStackError(
      "ASK_CERTS_WEBHOOK_CONFIGURATION_NOT_FOUND",
      `${where} does not exist (looked ${retry.attempts} times); create it (the Helm chart does) or fix --webhook-configuration`,
    );
  }
  throw new AgentStackError(
    "ASK_CERTS_KUBERNETES_API",
    `${where}: its webhooks kept changing while we patched their caBundle (${retry.attempts} attempts); last: ${lastProblem}`,
  );
}

async function readConfiguration(
  options: CaBundleOptions,
  where: string,
): Promise<V1MutatingWebhookConfiguration | undefined> {
  try {
    return await callKube(
      `get ${where}`,
      (call) =>
        options.client.request<V1MutatingWebhookConfiguration>(
          {
            method: "GET",
            path: `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${encodeURIComponent(options.name)}`,
          },
          call,
        ),
      options.call,
    );
  } catch (error) {
    if (isKubeApiError(error, "NotFound")) return undefined;
    throw apiFailure(error);
  }
}
