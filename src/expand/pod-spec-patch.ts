/**
 * §4: applying a pod spec patch (the controller's `pod-spec-patch` or a step's `podSpecPatch`).
 * Patches are full strategic merge patches, directives included. Before merging, §4.2's command rules
 * protect the containers the stack owns and turn a command container's new `command`/`args` into its
 * `BUILDKITE_COMMAND`, so the container keeps running under the agent's bootstrap.
 */

import { AgentStackError, isAgentStackError } from "../errors.ts";
import type { Container, PodSpec } from "../generated/k8s-types.ts";
import { decodeDefinition, isPlainObject, type JsonObject, type JsonValue } from "../k8s/decode.ts";
import type { Interposer } from "../params/types.ts";
import { strategicMergePatch } from "../smp/index.ts";
import { interpose } from "./interposer.ts";
import {
  AGENT_CONTAINER,
  CHECKOUT_CONTAINER,
  COMMAND_ARGS,
  COMMAND_ENTRYPOINT,
  COPY_AGENT_CONTAINER,
  IMAGE_CHECK_PREFIX,
} from "./names.ts";

export type PatchSource = "controller" | "k8s plugin";

export interface PatchRules {
  readonly interposer: Interposer;
  readonly allowUnsafeCommandModification: boolean;
}

const POD_SPEC = "io.k8s.api.core.v1.PodSpec";

export interface PatchedPodSpec {
  readonly podSpec: PodSpec;
  readonly warnings: readonly string[];
}

export function patchPodSpec(
  original: PodSpec,
  patch: JsonObject,
  source: PatchSource,
  rules: PatchRules,
): PatchedPodSpec {
  const rootPath = source === "controller" ? "pod-spec-patch" : "podSpecPatch";
  const wrap = (error: AgentStackError, detail: string): AgentStackError => {
    const commandRule = error.code === "ASK_PATCH_COMMAND_MODIFICATION";
    // Command-rule paths are within the patch; strategic merge patch paths start with the root already.
    const path = commandRule && error.path !== undefined ? `${rootPath}.${error.path}` : error.path;
    return new AgentStackError(
      commandRule ? error.code : "ASK_PATCH_FAILED",
      `failed to apply podSpec patch from ${source}: ${detail}`,
      { ...(path === undefined ? {} : { path }), cause: error },
    );
  };
  let checked: JsonObject;
  let merged: JsonObject;
  try {
    checked = applyCommandRules(original, patch, rules);
    // The draft's pod spec is replaced by the result: the merge need not copy it.
    merged = strategicMergePatch(original, checked, POD_SPEC, { rootPath, consumeOriginal: true });
  } catch (error) {
    if (!isAgentStackError(error)) throw error;
    throw wrap(
      error,
      error.code === "ASK_PATCH_COMMAND_MODIFICATION"
        ? error.message
        : `error applying strategic patch: ${error.message}`,
    );
  }
  // Only a patch with nulls or directives can leave them in the result; a patch without either (most
  // of them) merges typed values into a typed pod spec, and decoding the result again would change
  // nothing but cost a fifth of an admission.
  return leavesNullsOrDirectives(checked)
    ? typedPodSpec(merged, rootPath)
    : { podSpec: merged as unknown as PodSpec, warnings: [] };
}

/** Whether a (decoded) patch holds a `null` or a `$` directive key anywhere. */
function leavesNullsOrDirectives(value: JsonValue): boolean {
  if (value === null) return true;
  if (Array.isArray(value)) return value.some(leavesNullsOrDirectives);
  if (typeof value !== "object") return false;
  for (const key of Object.keys(value)) {
    if (key.startsWith("$") || leavesNullsOrDirectives(value[key] as JsonValue)) return true;
  }
  return false;
}

/**
 * Like kubectl, strategic merge patch adds new list items as written, `null`s and directives included;
 * upstream then decoded the result into a Go PodSpec, which drops both. So do we, so that the Job sent
 * to the API server has neither.
 */
function typedPodSpec(merged: JsonObject, rootPath: string): PatchedPodSpec {
  const { value, warnings } = decodeDefinition<PodSpec>(merged, POD_SPEC, {
    errorCode: "ASK_PATCH_FAILED",
    unknownFields: "drop",
    dropDirectives: true,
    rootPath: `${rootPath} result`,
  });
  return { podSpec: value, warnings };
}

/** Returns a copy of the patch with command containers' commands rewritten; throws on forbidden ones. */
export function applyCommandRules(original: PodSpec, patch: JsonObject, rules: PatchRules): JsonObject {
  const result: JsonObject = { ...patch };
  if (Array.isArray(patch.initContainers)) {
    result.initContainers = patch.initContainers.map((entry, index) =>
      checkInitContainer(entry, original, rules, `initContainers[${index}]`),
    );
  }
  if (Array.isArray(patch.containers)) {
    result.containers = patch.containers.map((entry, index) =>
      checkContainer(entry, original, rules, `containers[${index}]`),
    );
  }
  return result;
}

function checkInitContainer(entry: JsonValue, original: PodSpec, rules: PatchRules, path: string): JsonValue {
  if (!changesCommand(entry, original.initContainers)) return entry;
  const name = entry.name as string;
  if (
    !rules.allowUnsafeCommandModification &&
    (name === COPY_AGENT_CONTAINER || name.startsWith(IMAGE_CHECK_PREFIX))
  ) {
    throw forbidden(name, "", path);
  }
  return entry;
}

function checkContainer(entry: JsonValue, original: PodSpec, rules: PatchRules, path: string): JsonValue {
  if (!changesCommand(entry, original.containers)) return entry;
  const name = entry.name as string;
  if (name === AGENT_CONTAINER && !rules.allowUnsafeCommandModification) throw forbidden(name, "", path);
  if (name === CHECKOUT_CONTAINER && !rules.allowUnsafeCommandModification) {
    throw forbidden(
      name,
      "; instead consider configuring a checkout hook or skipping the checkout container entirely",
      path,
    );
  }
  const target = original.containers.find((container) => container.name === name);
  if (!target || !runsBootstrap(target)) return entry;
  // A command container keeps its bootstrap entrypoint: the new command becomes its BUILDKITE_COMMAND.
  const command = interpose(rules.interposer, stringList(entry.command), stringList(entry.args));
  const { command: _command, args: _args, ...rest } = entry;
  const env = Array.isArray(rest.env) ? rest.env : [];
  return { ...rest, env: [...env, { name: "BUILDKITE_COMMAND", value: command }] };
}

/** A patch entry that sets a non-empty command or args different from the original container's. */
function changesCommand(
  entry: JsonValue,
  originals: readonly Container[] | undefined,
): entry is JsonObject & { name: string } {
  if (!isPlainObject(entry) || typeof entry.name !== "string") return false;
  const command = stringList(entry.command);
  const args = stringList(entry.args);
  if (command.length === 0 && args.length === 0) return false;
  const original = originals?.find((container) => container.name === entry.name);
  return !(original && sameList(original.command, command) && sameList(original.args, args));
}

function runsBootstrap(container: Container): boolean {
  return sameList(container.command, COMMAND_ENTRYPOINT) && sameList(container.args, COMMAND_ARGS);
}

function stringList(value: JsonValue | undefined): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

function sameList(a: readonly string[] | undefined, b: readonly string[]): boolean {
  const left = a ?? [];
  return left.length === b.length && left.every((item, index) => item === b[index]);
}

/** `path` is the patch entry's, within the patch (`containers[0]`). */
function forbidden(name: string, suffix: string, path: string): AgentStackError {
  return new AgentStackError(
    "ASK_PATCH_COMMAND_MODIFICATION",
    `for the ${name} container, modifying container commands or args via podSpecPatch is not supported${suffix}`,
    { path },
  );
}
