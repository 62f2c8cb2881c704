/**
 * The agent registration token the launcher fails Buildkite jobs with: key `BUILDKITE_AGENT_TOKEN` of
 * the Secret `agent-token-secret` in the launcher's namespace (controller-runtime.md §2.5.3).
 *
 * Upstream reads the Secret on every failure; here it is cached for `ttlMs` and read again after that,
 * or at once after `invalidate()` (call it when Buildkite refuses the token, say a 401 on register), so
 * a rotated token is picked up without a restart and without one API call per failure. Concurrent
 * callers share one read. When a read after the TTL fails, the last good token is still served (and the
 * failure logged): an API server hiccup should not stop jobs from being failed. The token itself is
 * never logged and never part of an error message.
 */
import type { KubeConfig, V1Secret } from "@kubernetes/client-node";
import type { Registry } from "prom-client";
import type { RetryPolicy } from "../../runtime/backoff.ts";
import { callKube, kubeClient } from "../../runtime/kube.ts";
import { isKubeApiError, KubeErrorKind } from "../../runtime/kube-api-error.ts";
import type { Logger } from "../../runtime/logger.ts";
import type { Config } from "../../src/config/types.ts";
import { AgentStackError } from "../../src/errors.ts";
import { type Clock, SYSTEM_CLOCK } from "./clock.ts";
import { kubernetesMetrics } from "./metrics.ts";

export const AGENT_TOKEN_KEY = "BUILDKITE_AGENT_TOKEN";

export interface AgentTokenProvider {
  (signal: AbortSignal): Promise<string>;
  /** Forget the cached token: the next call reads the Secret (after Buildkite refused the token). */
  invalidate(): void;
}

export interface AgentTokenOptions {
  readonly kubeConfig: KubeConfig;
  readonly config: Pick<Config, "namespace" | "agentTokenSecret">;
  readonly logger: Logger;
  readonly registry?: Registry;
  /** How long a token read is used; default 5 minutes. */
  readonly ttlMs?: number;
  /** Per attempt of the Secret read; default 10 s. */
  readonly timeoutMs?: number;
  /** Retries of a read that failed on our side (429, 5xx, timeouts); default runtime/kube's. */
  readonly retry?: RetryPolicy;
  readonly clock?: Clock;
}

const DEFAULT_TTL_MS = 5 * 60_000;

export function createAgentTokenProvider(options: AgentTokenOptions): AgentTokenProvider {
  const { namespace, agentTokenSecret: secretName } = options.config;
  const client = kubeClient(options.kubeConfig);
  const clock = options.clock ?? SYSTEM_CLOCK;
  const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
  const metrics = options.registry === undefined ? undefined : kubernetesMetrics(options.registry);
  const where = `Secret ${namespace}/${secretName}`;
  let cached: { token: string; readAt: number } | undefined;
  let reading: Promise<string> | undefined;

  async function read(signal: AbortSignal): Promise<string> {
    let secret: V1Secret;
    try {
      secret = await callKube(
        `get ${where}`,
        (call) =>
          client.request<V1Secret>(
            {
              method: "GET",
              path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(secretName)}`,
            },
            call,
          ),
        {
          signal,
          ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
          ...(options.retry === undefined ? {} : { retry: options.retry }),
        },
      );
    } catch (error) {
      const detail = isKubeApiError(error, KubeErrorKind.NotFound)
        ? `the agent token ${where} does not exist`
        : `cannot read the agent token ${where}: ${(error as Error).message}`;
      throw new AgentStackError("ASK_KUBERNETES_AGENT_TOKEN", detail, { cause: error });
    }
    const encoded = secret.data?.[AGENT_TOKEN_KEY];
    if (encoded === undefined) {
      throw new AgentStackError(
        "ASK_KUBERNETES_AGENT_TOKEN",
        `the agent token ${where} has no key ${AGENT_TOKEN_KEY}`,
      );
    }
    // A token written with `echo` into a file ends with a newline that no token has.
    const token = Buffer.from(encoded, "base64").toString("utf8").trim();
    if (token === "") {
      throw new AgentStackError(
        "ASK_KUBERNETES_AGENT_TOKEN",
        `agent token is empty (key ${AGENT_TOKEN_KEY} of ${where})`,
      );
    }
    return token;
  }

  const provider = (async (signal: AbortSignal): Promise<string> => {
    if (cached !== undefined && clock.now() - cached.readAt < ttlMs) return cached.token;
    reading ??= read(signal)
      .then(
        (token) => {
          cached = { token, readAt: clock.now() };
          metrics?.agentToken.reads.inc({ result: "ok" });
          return token;
        },
        (error: unknown) => {
          metrics?.agentToken.reads.inc({ result: "error" });
          if (cached === undefined) throw error;
          options.logger.warn(
            { err: (error as Error).message },
            "reading the agent token failed; using the one read before",
          );
          return cached.token;
        },
      )
      .finally(() => {
        reading = undefined;
      });
    return reading;
  }) as AgentTokenProvider;
  provider.invalidate = () => {
    cached = undefined;
  };
  return provider;
}
