/**
 * §2.4 and §2.5: the pod's volumes (workspace, then agent-config's) and `M`, the mount list every
 * container the stack runs shares. Volumes are not de-duplicated: two of one name is the user's error,
 * which Kubernetes reports.
 */

import type { Config } from "../config/types.ts";
import type { Volume, VolumeMount } from "../generated/k8s-types.ts";
import { copyJson } from "../k8s/copy.ts";
import { agentConfigVolumes } from "./agent-config.ts";
import { WORKSPACE_PATH, WORKSPACE_VOLUME } from "./names.ts";
import type { Draft, ExpansionInputs } from "./state.ts";

export function workspaceVolume(config: Config): Volume {
  return config.workspaceVolume ? copyJson(config.workspaceVolume) : { name: WORKSPACE_VOLUME, emptyDir: {} };
}

/** The `/workspace` mount of every container the stack creates, with the configured `subPathExpr`. */
export function workspaceMount(config: Config): VolumeMount {
  const mount: VolumeMount = { name: workspaceVolume(config).name, mountPath: WORKSPACE_PATH };
  if (config.workspaceMountSubPathExpr) mount.subPathExpr = config.workspaceMountSubPathExpr;
  return mount;
}

export function podVolumes(draft: Draft, inputs: ExpansionInputs): void {
  const { config } = inputs;
  draft.podSpec.volumes = [
    ...(draft.podSpec.volumes ?? []),
    workspaceVolume(config),
    ...agentConfigVolumes(config.agentConfig),
  ];
}

export function sharedMounts(draft: Draft, inputs: ExpansionInputs): void {
  draft.workspaceMounts = [
    workspaceMount(inputs.config),
    ...copyJson(inputs.plugin?.extraVolumeMounts ?? []),
  ];
}

/** A fresh copy of `M` for one container: upstream shares one slice, which is an aliasing bug. */
export function copyOfSharedMounts(draft: Draft): VolumeMount[] {
  return copyJson(draft.workspaceMounts);
}
