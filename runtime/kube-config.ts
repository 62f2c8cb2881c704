/**
 * The cluster configuration as kubectl finds it: KUBECONFIG, ~/.kube/config, or the pod's service
 * account. A configuration that does not load is an error with the caller's code, saying why (without
 * a code, the loader's own error). This loads the Kubernetes client (runtime/kube.ts): import it only
 * on code paths that talk to a cluster.
 */
import { AgentStackError, type ErrorCode } from "../src/errors.ts";
import { KubeConfig } from "./kube.ts";

export function loadKubeConfig(code?: ErrorCode): InstanceType<typeof KubeConfig> {
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
