/**
 * §2.12: the `copy-agent` init container puts `buildkite-agent` and `tini-static` into the workspace
 * for the command containers, and hands the workspace to the pod's user.
 */
import type { Container } from "../generated/k8s-types.ts";
import { ROOT_SECURITY_CONTEXT } from "./checkout-container.ts";
import { COPY_AGENT_CONTAINER } from "./names.ts";
import { stackImagePullPolicy } from "./pull-policy.ts";
import type { Draft, ExpansionInputs } from "./state.ts";
import { workspaceMount } from "./volumes.ts";

const COPY_SCRIPT = `
mkdir /workspace/build /workspace/plugins /workspace/sockets
chmod 777 /workspace/build /workspace/plugins /workspace/sockets
cp /usr/local/bin/buildkite-agent /workspace
# Copy tini-static from wherever it exists
# Alpine: /sbin/tini-static, Ubuntu/Debian: /usr/bin/tini-static
if [ -f /sbin/tini-static ]; then
    cp /sbin/tini-static /workspace/tini-static
elif [ -f /usr/bin/tini-static ]; then
    cp /usr/bin/tini-static /workspace/tini-static
else
    echo "Error: No tini-static binary found" >&2
    exit 1
fi
`;

export function copyAgentInitContainer(draft: Draft, inputs: ExpansionInputs): void {
  draft.stackInitContainers.push(copyAgentContainer(draft, inputs));
}

function copyAgentContainer(draft: Draft, inputs: ExpansionInputs): Container {
  const { uid, gid } = draft.podUser;
  const chown = uid === 0 ? "" : `chown -R ${gid !== 0 ? `${uid}:${gid}` : uid} /workspace\n`;
  const container: Container = {
    name: COPY_AGENT_CONTAINER,
    image: inputs.config.image,
    imagePullPolicy: stackImagePullPolicy(inputs.config),
    command: ["/bin/sh"],
    args: ["-cefx", `${chown}${COPY_SCRIPT}`],
    volumeMounts: [workspaceMount(inputs.config)],
  };
  if (uid !== 0) container.securityContext = { ...ROOT_SECURITY_CONTEXT };
  return container;
}
