/**
 * §2.10: the `agent` container, which acquires the Buildkite job and drives every other container
 * through the bootstrap sockets. Its environment is a fixed list, then agent-config, then the checkout
 * parameters (the agent runs the checkout phase's git commands).
 */
import type { Container } from "../generated/k8s-types.ts";
import { agentConfigMounts, applyAgentConfigEnv } from "./agent-config.ts";
import { agentTagsText } from "./agent-tags.ts";
import { applyCheckoutEnv } from "./checkout-params.ts";
import { appendMounts } from "./command-containers.ts";
import { envVar, hasEnv } from "./env.ts";
import {
  AGENT_CONTAINER,
  AGENT_TOKEN_KEY,
  DEFAULT_HOOKS_PATH,
  DEFAULT_PLUGINS_PATH,
  socketsPath,
  WORKSPACE_PATH,
} from "./names.ts";
import { stackImagePullPolicy } from "./pull-policy.ts";
import type { Draft, ExpansionInputs } from "./state.ts";
import { copyOfSharedMounts } from "./volumes.ts";

/** The agent's BUILDKITE_REDACTED_VARS default: names whose values it redacts from job logs (diagnose too). */
export const DEFAULT_REDACTED_VARS = [
  "*_PASSWORD",
  "*_SECRET",
  "*_TOKEN",
  "*_PRIVATE_KEY",
  "*_SSH_KEY",
  "*_ACCESS_KEY",
  "*_SECRET_KEY",
  "*_CONNECTION_STRING",
  "*_API_KEY",
];

const fieldRef = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });

export function agentContainer(draft: Draft, inputs: ExpansionInputs): void {
  const { config, job, plugin } = inputs;
  const spec = draft.podSpec;
  const commandContainers = spec.containers.filter((container) =>
    hasEnv(container, "BUILDKITE_COMMAND"),
  ).length;
  const gracePeriod = spec.terminationGracePeriodSeconds ?? config.defaultTerminationGracePeriodSeconds;
  const agent: Container = {
    name: AGENT_CONTAINER,
    image: config.image,
    imagePullPolicy: stackImagePullPolicy(config),
    args: ["start"],
    workingDir: WORKSPACE_PATH,
    volumeMounts: copyOfSharedMounts(draft),
    env: [
      envVar("BUILDKITE_KUBERNETES_EXEC", "true"),
      envVar("BUILDKITE_CONTAINER_COUNT", String(commandContainers + draft.systemCount)),
      envVar("BUILDKITE_AGENT_TAGS", agentTagsText(draft)),
      fieldRef("BUILDKITE_K8S_NODE", "spec.nodeName"),
      fieldRef("BUILDKITE_K8S_NAMESPACE", "metadata.namespace"),
      fieldRef("BUILDKITE_K8S_SERVICE_ACCOUNT", "spec.serviceAccountName"),
      envVar("BUILDKITE_BUILD_PATH", "/workspace/build"),
      envVar("BUILDKITE_HOOKS_PATH", DEFAULT_HOOKS_PATH),
      envVar("BUILDKITE_PLUGINS_PATH", DEFAULT_PLUGINS_PATH),
      envVar("BUILDKITE_SOCKETS_PATH", socketsPath(AGENT_CONTAINER)),
      envVar("BUILDKITE_SHELL", "/bin/sh -ec"),
      {
        name: "BUILDKITE_AGENT_TOKEN",
        valueFrom: { secretKeyRef: { name: config.agentTokenSecret, key: AGENT_TOKEN_KEY } },
      },
      envVar("BUILDKITE_AGENT_ACQUIRE_JOB", job.uuid),
      envVar(
        "BUILDKITE_REDACTED_VARS",
        [...DEFAULT_REDACTED_VARS, ...config.additionalRedactedVars].join(","),
      ),
      envVar("BUILDKITE_CANCEL_GRACE_PERIOD", String(Math.max(gracePeriod, 1))),
      envVar("BUILDKITE_SIGNAL_GRACE_PERIOD_SECONDS", String(Math.max(0, gracePeriod - 10))),
    ],
  };
  applyAgentConfigEnv(agent, config.agentConfig);
  appendMounts(agent, agentConfigMounts(config.agentConfig, "agent"));
  applyCheckoutEnv(agent, config.defaultCheckoutParams);
  applyCheckoutEnv(agent, plugin?.checkout);
  spec.containers.push(agent);
}
