/**
 * The cluster configuration as kubectl finds it: KUBECONFIG, ~/.kube/config, or the pod's service
 * account. A configuration that does not load is an error with the caller's code, saying why (without
 * a code, the loader's own error).
 */
import { KubeConfig } from "@kubernetes/client-node";
import { AgentStackError, type ErrorCode } from "../src/errors.ts";

export function loadKubeConfig(code?: ErrorCode): KubeConfig {
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromDefault();
  } catch (error) {
    if (code === undefined) throw error;
    throw new AgentStackError(
      code,
      `cannot load the Kubernetes configuration (KUBECONFIG, ~/.kube/config or the pod's service account): ${(error as Error).message}`,
      { cause: error },
    );
  }
  return kubeConfig;
}
