/**
 * §2.17: the first mount of each `mountPath` wins in every container. Mount lists are built from
 * several sources (the user's, `M`, params, agent-config), and Kubernetes rejects a pod that mounts
 * two volumes at one path.
 */
import type { Container } from "../generated/k8s-types.ts";
import type { Draft } from "./state.ts";

export function dedupeVolumeMounts(draft: Draft): void {
  for (const container of [...(draft.podSpec.initContainers ?? []), ...draft.podSpec.containers]) {
    dedupeContainerMounts(container);
  }
}

function dedupeContainerMounts(container: Container): void {
  if (!container.volumeMounts) return;
  const seen = new Set<string>();
  container.volumeMounts = container.volumeMounts.filter((mount) => {
    if (seen.has(mount.mountPath)) return false;
    seen.add(mount.mountPath);
    return true;
  });
}
