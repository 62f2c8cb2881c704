/**
 * Checkout parameters (podspec-expansion.md §1.3, HEAD): the git settings become environment of the
 * **agent** container (the agent runs the checkout phase's git commands through the bootstrap); the
 * mirrors volume, `envFrom` and mounts go on the checkout container.
 */

import type { Container, Volume, VolumeMount } from "../generated/k8s-types.ts";
import { copyJson } from "../k8s/copy.ts";
import type { CheckoutParams } from "../params/types.ts";
import { boolText, envVar, setEnv } from "./env.ts";
import { DEFAULT_GIT_MIRRORS_PATH } from "./names.ts";

type EnvRule = readonly [variable: string, value: (params: CheckoutParams) => string | undefined];

const bool = (value: boolean | undefined): string | undefined =>
  value === undefined ? undefined : boolText(value);

const CHECKOUT_ENV_RULES: readonly EnvRule[] = [
  ["BUILDKITE_GIT_CHECKOUT_FLAGS", (p) => p.checkoutFlags],
  ["BUILDKITE_GIT_CLEAN_FLAGS", (p) => p.cleanFlags],
  ["BUILDKITE_GIT_CLONE_FLAGS", (p) => p.cloneFlags],
  ["BUILDKITE_GIT_FETCH_FLAGS", (p) => p.fetchFlags],
  ["BUILDKITE_NO_GIT_SUBMODULES", (p) => bool(p.noSubmodules)],
  [
    "BUILDKITE_GIT_SUBMODULE_CLONE_CONFIG",
    (p) => (p.submoduleCloneConfig?.length ? p.submoduleCloneConfig.join(",") : undefined),
  ],
  ["BUILDKITE_GIT_MIRRORS_PATH", (p) => gitMirrorsPath(p)],
  ["BUILDKITE_GIT_CLONE_MIRROR_FLAGS", (p) => p.gitMirrors?.cloneFlags],
  [
    "BUILDKITE_GIT_MIRRORS_LOCK_TIMEOUT",
    (p) => ((p.gitMirrors?.lockTimeout ?? 0) > 0 ? String(p.gitMirrors?.lockTimeout) : undefined),
  ],
  ["BUILDKITE_GIT_MIRRORS_SKIP_UPDATE", (p) => bool(p.gitMirrors?.skipUpdate)],
];

export function gitMirrorsPath(params: CheckoutParams): string | undefined {
  const mirrors = params.gitMirrors;
  if (mirrors?.path) return mirrors.path;
  return mirrors?.volume ? DEFAULT_GIT_MIRRORS_PATH : undefined;
}

/** Controller defaults first, then the plugin's, which overwrite them in place. */
export function applyCheckoutEnv(agent: Container, params: CheckoutParams | undefined): void {
  if (!params) return;
  for (const [variable, value] of CHECKOUT_ENV_RULES) {
    const text = value(params);
    if (text !== undefined) setEnv(agent, envVar(variable, text));
  }
}

/** The git mirrors volume and where the checkout container mounts it. */
export function gitMirrorsVolume(
  params: CheckoutParams | undefined,
): { volume: Volume; mount: VolumeMount } | undefined {
  const volume = params?.gitMirrors?.volume;
  if (!params || !volume) return undefined;
  return {
    volume: copyJson(volume),
    mount: { name: volume.name, mountPath: gitMirrorsPath(params) ?? DEFAULT_GIT_MIRRORS_PATH },
  };
}
