/** Kubernetes API failures of the certificate commands, as catalog errors. */
import { isKubeApiError } from "../runtime/kube-api-error.ts";
import { AgentStackError } from "../src/errors.ts";

/**
 * A failed API call as `ASK_CERTS_KUBERNETES_API`, the `KubeApiError` kept as the cause (its
 * `transient` decides whether `--watch` tries again); any other error as it is.
 */
export function apiFailure(error: unknown): unknown {
  return isKubeApiError(error)
    ? new AgentStackError("ASK_CERTS_KUBERNETES_API", error.message, { cause: error })
    : error;
}
