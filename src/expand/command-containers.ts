/**
 * §2.6 and §2.7: command containers. Each container of the base pod spec runs the step's command
 * (or its own `command`, turned into `BUILDKITE_COMMAND` by the interposer) under the agent's
 * bootstrap; with no container at all, a default one runs the command verbatim.
 */
import type { Container } from "../generated/k8s-types.ts";
import { agentConfigMounts } from "./agent-config.ts";
import { appendCommandParams, appendGitEnvFrom, interposerOf } from "./command-params.ts";
import { appendEnv, envVar } from "./env.ts";
import { interpose } from "./interposer.ts";
import {
  COMMAND_ARGS,
  COMMAND_ENTRYPOINT,
  commandContainerName,
  socketsPath,
  WORKSPACE_PATH,
} from "./names.ts";
import type { Draft, ExpansionInputs } from "./state.ts";
import { copyOfSharedMounts } from "./volumes.ts";

export function commandContainers(draft: Draft, inputs: ExpansionInputs): void {
  draft.podSpec.containers.forEach((container, index) => {
    const command = container.command?.length
      ? interpose(interposerOf(inputs), container.command, container.args ?? [])
      : inputs.job.command;
    container.command = [...COMMAND_ENTRYPOINT];
    container.args = [...COMMAND_ARGS];
    appendEnv(
      container,
      envVar("BUILDKITE_BOOTSTRAP_PHASES", "plugin,command"),
      envVar("BUILDKITE_COMMAND", command),
      envVar("BUILDKITE_CONTAINER_ID", String(index + draft.systemCount)),
    );
    appendMounts(container, agentConfigMounts(inputs.config.agentConfig, "command"));
    appendCommandParams(container, inputs);
    container.name ||= commandContainerName(index);
    container.workingDir ||= WORKSPACE_PATH;
    appendEnv(container, envVar("BUILDKITE_SOCKETS_PATH", socketsPath(container.name)));
    appendMounts(container, copyOfSharedMounts(draft));
    appendGitEnvFrom(container, inputs);
  });
}

/** Only when the base pod spec has no containers. Its mounts start with `M`, unlike §2.6. */
export function defaultCommandContainer(draft: Draft, inputs: ExpansionInputs): void {
  if (draft.podSpec.containers.length > 0) return;
  const name = commandContainerName(0);
  const container: Container = {
    name,
    image: inputs.config.image,
    command: [...COMMAND_ENTRYPOINT],
    args: [...COMMAND_ARGS],
    workingDir: WORKSPACE_PATH,
    volumeMounts: copyOfSharedMounts(draft),
    env: [
      envVar("BUILDKITE_BOOTSTRAP_PHASES", "plugin,command"),
      envVar("BUILDKITE_COMMAND", inputs.job.command),
      envVar("BUILDKITE_CONTAINER_ID", String(draft.systemCount)),
      envVar("BUILDKITE_SOCKETS_PATH", socketsPath(name)),
    ],
  };
  appendMounts(container, agentConfigMounts(inputs.config.agentConfig, "command"));
  appendCommandParams(container, inputs);
  appendGitEnvFrom(container, inputs);
  draft.podSpec.containers.push(container);
}

export function appendMounts(container: Container, mounts: Container["volumeMounts"]): void {
  if (!mounts?.length) return;
  container.volumeMounts = [...(container.volumeMounts ?? []), ...mounts];
}
