/**
 * What each field of the kubernetes plugin and of its parameter structs does, for the JSON Schema
 * editors show (`agent-stack-k8s schema`). Keyed like `PLUGIN_SCHEMAS`; a test checks that the two list
 * the same fields.
 */
export const PLUGIN_DOCS: Readonly<
  Record<string, { readonly type: string; readonly fields: Readonly<Record<string, string>> }>
> = {
  "buildkite.KubernetesPlugin": {
    type: "How agent-stack-k8s builds this step's pod. Field names are those of upstream's kubernetes plugin.",
    fields: {
      podSpec:
        "The pod spec to start from. Every entry of `containers` is a command container: it runs the step's command (or its own `command`) under the agent.",
      podTemplate:
        "The name of a PodTemplate in the stack's namespace whose spec to start from, when `podSpec` is not given.",
      podSpecPatch:
        "A strategic merge patch applied to the built pod spec, after the stack's own `pod-spec-patch`. Directives (`$patch: delete`…) and `null`s are honoured.",
      gitEnvFrom:
        "Environment sources added to the checkout container, the command containers and the sidecars.",
      sidecars:
        "Containers that run beside the command containers for the whole job (native sidecars: stopped when the job is done).",
      metadata: "Labels and annotations added to the Job and its pod.",
      extraVolumeMounts: "Volume mounts added to the command, sidecar, agent and checkout containers.",
      checkout: "How the checkout container clones the repository; `skip: true` leaves it out.",
      commandParams: "Settings of the command containers.",
      sidecarParams: "Settings of the sidecars.",
      jobActiveDeadlineSeconds:
        "The Job's activeDeadlineSeconds, when positive; otherwise the stack's job-active-deadline-seconds.",
    },
  },
  "buildkite.CheckoutParams": {
    type: "How the checkout container clones the repository.",
    fields: {
      skip: "Leave the checkout container out: the step does not need the repository.",
      checkoutFlags: "Flags for git checkout (BUILDKITE_GIT_CHECKOUT_FLAGS).",
      cleanFlags: "Flags for git clean (BUILDKITE_GIT_CLEAN_FLAGS).",
      cloneFlags: "Flags for git clone (BUILDKITE_GIT_CLONE_FLAGS).",
      fetchFlags: "Flags for git fetch (BUILDKITE_GIT_FETCH_FLAGS).",
      noSubmodules: "Do not check out git submodules (BUILDKITE_NO_GIT_SUBMODULES).",
      submoduleCloneConfig:
        "git config settings for cloning submodules (BUILDKITE_GIT_SUBMODULE_CLONE_CONFIG).",
      gitMirrors: "A git mirrors directory shared between jobs.",
      gitCredentialsSecret: "A Secret holding a git-credentials file for cloning over HTTPS.",
      envFrom: "Environment sources added to the checkout container.",
      extraVolumeMounts: "Volume mounts added to the checkout container.",
    },
  },
  "buildkite.GitMirrors": {
    type: "A git mirrors directory shared between jobs.",
    fields: {
      path: "Where the mirrors are (BUILDKITE_GIT_MIRRORS_PATH); /buildkite/git-mirrors when a volume is given.",
      volume: "The volume that holds the mirrors, mounted in the checkout container.",
      cloneFlags: "Flags for cloning a mirror (BUILDKITE_GIT_CLONE_MIRROR_FLAGS).",
      lockTimeout: "Seconds to wait for a mirror's lock (BUILDKITE_GIT_MIRRORS_LOCK_TIMEOUT).",
      skipUpdate: "Do not update existing mirrors (BUILDKITE_GIT_MIRRORS_SKIP_UPDATE).",
    },
  },
  "buildkite.CommandParams": {
    type: "Settings of the command containers.",
    fields: {
      interposer:
        "How a container's own command and args become the command the agent runs: buildkite (the default: commands joined by newlines, args appended), vector (one shell-quoted command) or legacy (joined by spaces).",
      envFrom: "Environment sources added to the command containers.",
      extraVolumeMounts: "Volume mounts added to the command containers.",
    },
  },
  "buildkite.SidecarParams": {
    type: "Settings of the sidecars.",
    fields: {
      envFrom: "Environment sources added to the sidecars.",
      extraVolumeMounts: "Volume mounts added to the sidecars.",
    },
  },
  "buildkite.Metadata": {
    type: "Labels and annotations added to the Job and its pod.",
    fields: {
      labels: "Labels of the Job and its pod.",
      annotations: "Annotations of the Job and its pod.",
    },
  },
};
