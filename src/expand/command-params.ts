/** The interposer in force and the `envFrom`/mounts command containers get from command params. */

import type { Container } from "../generated/k8s-types.ts";
import { copyJson } from "../k8s/copy.ts";
import type { Interposer } from "../params/types.ts";
import type { ExpansionInputs } from "./state.ts";

/** The plugin's when set, else the controller default's; `""` means `buildkite`. */
export function interposerOf(inputs: ExpansionInputs): Interposer {
  return (
    inputs.plugin?.commandParams?.interposer || inputs.config.defaultCommandParams?.interposer || "buildkite"
  );
}

/** Default params first, then the plugin's: both are appended. */
export function appendCommandParams(container: Container, inputs: ExpansionInputs): void {
  for (const params of [inputs.config.defaultCommandParams, inputs.plugin?.commandParams]) {
    if (params?.envFrom) container.envFrom = [...(container.envFrom ?? []), ...copyJson(params.envFrom)];
    if (params?.extraVolumeMounts) {
      container.volumeMounts = [...(container.volumeMounts ?? []), ...copyJson(params.extraVolumeMounts)];
    }
  }
}

export function appendGitEnvFrom(container: Container, inputs: ExpansionInputs): void {
  const gitEnvFrom = inputs.plugin?.gitEnvFrom;
  if (gitEnvFrom?.length) container.envFrom = [...(container.envFrom ?? []), ...copyJson(gitEnvFrom)];
}
