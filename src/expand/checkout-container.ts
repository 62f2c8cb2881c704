/**
 * §2.11: the `checkout` container, which runs the bootstrap's checkout phase. When the pod runs as a
 * non-root user the container starts as root just long enough to create that user, so the files it
 * checks out belong to the user the command containers run as.
 */

import type { Container } from "../generated/k8s-types.ts";
import { copyJson } from "../k8s/copy.ts";
import type { CheckoutParams } from "../params/types.ts";
import { agentConfigMounts } from "./agent-config.ts";
import { gitMirrorsVolume } from "./checkout-params.ts";
import { appendMounts } from "./command-containers.ts";
import { appendGitEnvFrom } from "./command-params.ts";
import { envVar } from "./env.ts";
import { CHECKOUT_CONTAINER, socketsPath, WORKSPACE_PATH } from "./names.ts";
import { stackImagePullPolicy } from "./pull-policy.ts";
import type { Draft, ExpansionInputs } from "./state.ts";
import { copyOfSharedMounts } from "./volumes.ts";

const GIT_CREDENTIALS_RO = "/buildkite/git-credentials-ro";
const GIT_CREDENTIALS = "/buildkite/git-credentials";
const GIT_CREDENTIALS_SCRIPT =
  `cp ${GIT_CREDENTIALS_RO}/.git-credentials ${GIT_CREDENTIALS} && ` +
  `git config --global credential.helper 'store --file ${GIT_CREDENTIALS}/.git-credentials'`;

export const ROOT_SECURITY_CONTEXT = { runAsUser: 0, runAsGroup: 0, runAsNonRoot: false } as const;

export function checkoutContainer(draft: Draft, inputs: ExpansionInputs): void {
  if (draft.skipCheckout) return;
  const { config, plugin } = inputs;
  const checkout: Container = {
    name: CHECKOUT_CONTAINER,
    image: config.image,
    imagePullPolicy: stackImagePullPolicy(config),
    workingDir: WORKSPACE_PATH,
    volumeMounts: copyOfSharedMounts(draft),
    env: [
      envVar("BUILDKITE_BOOTSTRAP_PHASES", "plugin,checkout"),
      envVar("BUILDKITE_CONTAINER_ID", "0"),
      envVar("BUILDKITE_SOCKETS_PATH", socketsPath(CHECKOUT_CONTAINER)),
    ],
  };
  appendMounts(checkout, agentConfigMounts(config.agentConfig, "checkout"));
  for (const params of [config.defaultCheckoutParams, plugin?.checkout])
    applyCheckoutParams(draft, checkout, params);
  appendGitEnvFrom(checkout, inputs);
  const gitScript = addGitCredentials(
    draft,
    checkout,
    plugin?.checkout?.gitCredentialsSecret ?? config.defaultCheckoutParams?.gitCredentialsSecret,
  );
  setCheckoutCommand(checkout, draft.podUser, gitScript);
  draft.podSpec.containers.push(checkout);
}

function applyCheckoutParams(draft: Draft, checkout: Container, params: CheckoutParams | undefined): void {
  if (!params) return;
  const mirrors = gitMirrorsVolume(params);
  if (mirrors) {
    draft.podSpec.volumes = [...(draft.podSpec.volumes ?? []), mirrors.volume];
    appendMounts(checkout, [mirrors.mount]);
  }
  if (params.envFrom) checkout.envFrom = [...(checkout.envFrom ?? []), ...copyJson(params.envFrom)];
  appendMounts(checkout, copyJson(params.extraVolumeMounts ? [...params.extraVolumeMounts] : []));
}

/** The secret's `.git-credentials` is copied to a memory volume git can write its store to. */
function addGitCredentials(
  draft: Draft,
  checkout: Container,
  secret: CheckoutParams["gitCredentialsSecret"],
): string {
  if (!secret) return "true";
  draft.podSpec.volumes = [
    ...(draft.podSpec.volumes ?? []),
    { name: "git-credentials-ro", secret: copyJson(secret) },
    { name: "git-credentials", emptyDir: { medium: "Memory" } },
  ];
  appendMounts(checkout, [
    { name: "git-credentials-ro", mountPath: GIT_CREDENTIALS_RO },
    { name: "git-credentials", mountPath: GIT_CREDENTIALS },
  ]);
  return GIT_CREDENTIALS_SCRIPT;
}

function setCheckoutCommand(
  checkout: Container,
  user: { uid: number; gid: number },
  gitScript: string,
): void {
  checkout.command = ["/bin/sh", "-c"];
  if (user.uid === 0) {
    checkout.args = [`set -exuf\n${gitScript}\nbuildkite-agent-entrypoint kubernetes-bootstrap`];
    return;
  }
  checkout.securityContext = { ...ROOT_SECURITY_CONTEXT };
  checkout.args = [
    `set -exuf\n${createUserScript(user)}\nsu buildkite-agent -c "${gitScript} && buildkite-agent-entrypoint kubernetes-bootstrap"`,
  ];
}

/** Works with BusyBox (`adduser`) and with shadow-utils (`useradd`) images. Ends with a newline. */
export function createUserScript({ uid, gid }: { uid: number; gid: number }): string {
  const group = gid !== 0 ? "buildkite-agent" : "root";
  const lines = [
    "# Portable user/group creation",
    "if command -v adduser >/dev/null 2>&1 && adduser --help 2>&1 | grep -q BusyBox; then",
    ...(gid !== 0 ? [`    addgroup -g ${gid} buildkite-agent 2>/dev/null || true`] : []),
    `    adduser -D -u ${uid} -G ${group} -h /workspace buildkite-agent`,
    "elif command -v useradd >/dev/null 2>&1; then",
    ...(gid !== 0 ? [`    groupadd -g ${gid} buildkite-agent 2>/dev/null || true`] : []),
    `    useradd -M -u ${uid} -g ${group} -d /workspace -s /bin/sh buildkite-agent`,
    "else",
    '    echo "Error: No supported user creation tool found" >&2',
    "    exit 1",
    "fi",
  ];
  return `${lines.join("\n")}\n`;
}
