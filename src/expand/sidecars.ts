/**
 * §2.8: the plugin's sidecars become Kubernetes native sidecars (init containers with
 * `restartPolicy: Always`, Kubernetes ≥ 1.29): they start before the command containers and are
 * stopped when those finish, so a sidecar can never keep a finished job's pod alive.
 */

import type { Container } from "../generated/k8s-types.ts";
import { copyJson } from "../k8s/copy.ts";
import type { SidecarParams } from "../params/types.ts";
import { appendMounts } from "./command-containers.ts";
import { appendGitEnvFrom } from "./command-params.ts";
import { sidecarName } from "./names.ts";
import type { Draft, ExpansionInputs } from "./state.ts";
import { copyOfSharedMounts } from "./volumes.ts";

export function sidecars(draft: Draft, inputs: ExpansionInputs): void {
  const added = (inputs.plugin?.sidecars ?? []).map((original, index) => {
    const sidecar: Container = copyJson(original);
    sidecar.name ||= sidecarName(index);
    appendSidecarParams(sidecar, inputs.config.defaultSidecarParams);
    appendMounts(sidecar, copyOfSharedMounts(draft));
    appendSidecarParams(sidecar, inputs.plugin?.sidecarParams);
    appendGitEnvFrom(sidecar, inputs);
    draft.annotations[`buildkite.com/${sidecarName(index)}`] = sidecar.name;
    sidecar.restartPolicy = "Always";
    return sidecar;
  });
  if (added.length > 0) draft.podSpec.initContainers = [...(draft.podSpec.initContainers ?? []), ...added];
}

function appendSidecarParams(sidecar: Container, params: SidecarParams | undefined): void {
  if (params?.envFrom) sidecar.envFrom = [...(sidecar.envFrom ?? []), ...copyJson(params.envFrom)];
  appendMounts(sidecar, copyJson(params?.extraVolumeMounts ? [...params.extraVolumeMounts] : []));
}
