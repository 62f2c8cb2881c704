/**
 * Rules that look at more than one value, run after every key has been parsed: HEAD's startup
 * validation (controller-runtime.md §1.8, podspec-expansion.md §1.4), checks that a volume the stack
 * mounts by name has a name, and what each subcommand needs before it can start.
 *
 * A rule is skipped when a key it reads already failed, so one mistake is reported once.
 */
import { IMAGE_REFERENCE_ERRORS, parseImageReference } from "../images/reference.ts";
import { isPlainObject } from "../k8s/decode.ts";
import type { Values } from "./effective.ts";
import { queueTagValue } from "./effective.ts";
import {
  type ConfigProblem,
  type ConfigSource,
  describeSource,
  invalidValue,
  ruleViolation,
} from "./problems.ts";
import { type ConfigSubcommand, VALUE_KEYS } from "./schema.ts";

type SourceOf = (key: string) => ConfigSource;

interface Rule {
  /** The keys the rule reads; it is skipped if any of them failed. */
  readonly reads: readonly string[];
  readonly check: (values: Values, sourceOf: SourceOf) => ConfigProblem[];
}

const RULES: readonly Rule[] = [
  {
    reads: ["pod-spec-patch", "allow-pod-spec-patch-unsafe-command-modification"],
    check: podSpecPatchProblems,
  },
  { reads: ["default-resource-class-name", "resource-classes"], check: defaultResourceClassProblems },
  { reads: ["agent-config"], check: additionalHookProblems },
  { reads: ["workspace-volume", "agent-config", "default-checkout-params"], check: unnamedVolumeProblems },
];

export function crossKeyProblems(
  values: Values,
  sourceOf: SourceOf,
  failed: ReadonlySet<string>,
): ConfigProblem[] {
  return RULES.filter((rule) => rule.reads.every((key) => !failed.has(key))).flatMap((rule) =>
    rule.check(values, sourceOf),
  );
}

/**
 * HEAD: controller-patch container images must be lowercase, and (unless unsafe command modification
 * is allowed) no controller-patch container may set `command` or `args`. We keep explicit nulls in
 * patches, where upstream loses them, so `command: null` (which would delete the stack's command) is
 * refused like any other command change.
 */
function podSpecPatchProblems(values: Values, sourceOf: SourceOf): ConfigProblem[] {
  const patch = values["pod-spec-patch"];
  if (!isPlainObject(patch) || !Array.isArray(patch.containers)) return [];
  const allowCommands = values["allow-pod-spec-patch-unsafe-command-modification"] === true;
  const source = sourceOf("pod-spec-patch");
  const problems: ConfigProblem[] = [];
  patch.containers.forEach((container: unknown, index: number) => {
    if (!isPlainObject(container)) return;
    const image = typeof container.image === "string" ? container.image : "";
    const path = `pod-spec-patch.containers[${index}]`;
    if (image !== "") {
      const parsed = parseImageReference(image);
      if (!parsed.ok && parsed.error === IMAGE_REFERENCE_ERRORS.uppercase) {
        problems.push(
          ruleViolation(
            "pod-spec-patch",
            `${path}.image`,
            source,
            `invalid pod spec patch: container image for container at index ${index} contains uppercase letters: ${image}`,
          ),
        );
      } else if (!parsed.ok) {
        problems.push(
          ruleViolation(
            "pod-spec-patch",
            `${path}.image`,
            source,
            `invalid pod spec patch: container image for container at index ${index} is not a valid image reference (${parsed.error}): ${image}`,
          ),
        );
      }
    }
    const changesCommand = container.command !== undefined || container.args !== undefined;
    if (changesCommand && !allowCommands) {
      problems.push(
        ruleViolation(
          "pod-spec-patch",
          path,
          source,
          `invalid pod spec patch: container at index ${index} (image: ${image}): modifying container commands or args via podSpecPatch is not supported; set allow-pod-spec-patch-unsafe-command-modification to allow it`,
        ),
      );
    }
  });
  return problems;
}

function defaultResourceClassProblems(values: Values, sourceOf: SourceOf): ConfigProblem[] {
  const name = values["default-resource-class-name"];
  if (typeof name !== "string" || name === "") return [];
  const classes = values["resource-classes"];
  const source = sourceOf("default-resource-class-name");
  const quoted = JSON.stringify(name);
  if (!isPlainObject(classes) || Object.keys(classes).length === 0) {
    return [
      ruleViolation(
        "default-resource-class-name",
        "default-resource-class-name",
        source,
        `default-resource-class-name ${quoted} specified but no resource-classes defined`,
      ),
    ];
  }
  if (!Object.hasOwn(classes, name)) {
    return [
      ruleViolation(
        "default-resource-class-name",
        "default-resource-class-name",
        source,
        `default-resource-class-name ${quoted} not found in resource-classes`,
      ),
    ];
  }
  return [];
}

function additionalHookProblems(values: Values, sourceOf: SourceOf): ConfigProblem[] {
  const agentConfig = values["agent-config"];
  if (!isPlainObject(agentConfig) || !Array.isArray(agentConfig.additionalHooks)) return [];
  const source = sourceOf("agent-config");
  const problems: ConfigProblem[] = [];
  agentConfig.additionalHooks.forEach((hook: unknown, index: number) => {
    const path = `agent-config.additional-hooks[${index}]`;
    const required = (field: string) =>
      ruleViolation("agent-config", `${path}.${field}`, source, `${path}.${field} is required`);
    const entry = isPlainObject(hook) ? hook : {};
    if (typeof entry.path !== "string" || entry.path === "") problems.push(required("path"));
    if (!isPlainObject(entry.volume)) problems.push(required("volume"));
    else if (typeof entry.volume.name !== "string" || entry.volume.name === "")
      problems.push(required("volume.name"));
  });
  return problems;
}

/**
 * The stack mounts these volumes by name, and Kubernetes rejects a pod whose volume has none; upstream
 * finds out only when the first Job is created. (`additional-hooks` volumes have HEAD's own rule above.)
 */
function unnamedVolumeProblems(values: Values, sourceOf: SourceOf): ConfigProblem[] {
  const agentConfig = values["agent-config"];
  const checkout = values["default-checkout-params"];
  const gitMirrors = isPlainObject(checkout) ? checkout.gitMirrors : undefined;
  const candidates: Array<[key: string, path: string, volume: unknown]> = [
    ["workspace-volume", "workspace-volume", values["workspace-volume"]],
    [
      "default-checkout-params",
      "default-checkout-params.gitMirrors.volume",
      isPlainObject(gitMirrors) ? gitMirrors.volume : undefined,
    ],
  ];
  if (isPlainObject(agentConfig)) {
    for (const field of ["hooksVolume", "pluginsVolume", "signingJWKSVolume", "verificationJWKSVolume"]) {
      candidates.push(["agent-config", `agent-config.${field}`, agentConfig[field]]);
    }
  }
  return candidates
    .filter(
      ([, , volume]) => isPlainObject(volume) && (typeof volume.name !== "string" || volume.name === ""),
    )
    .map(([key, path]) => ruleViolation(key, `${path}.name`, sourceOf(key), `${path}.name is required`));
}

/**
 * What a subcommand cannot start without. `render` needs nothing beyond the defaults, so it works with
 * no configuration at all; the launcher's GraphQL job source needs a Buildkite organization, an API
 * token and a queue (the Stacks API needs only the agent token, which is read from its Secret).
 */
export function requirementProblems(
  subcommand: ConfigSubcommand,
  values: Values,
  sourceOf: SourceOf,
  failed: ReadonlySet<string>,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const spec of VALUE_KEYS) {
    if (!spec.requiredBy?.includes(subcommand) || failed.has(spec.key)) continue;
    const value = values[spec.key];
    const empty = value === "" || (Array.isArray(value) && value.length === 0);
    if (empty) {
      problems.push(
        invalidValue(
          spec.key,
          spec.key,
          value,
          sourceOf(spec.key),
          `is empty, but agent-stack-k8s ${subcommand} needs it`,
          spec.description,
        ),
      );
    }
  }
  if (subcommand === "launcher" && !failed.has("job-source")) {
    problems.push(...graphqlProblems(values, sourceOf, failed));
  }
  if (subcommand === "launcher" && !failed.has("tags") && !failed.has("queue")) {
    problems.push(...launcherTagProblems(values, sourceOf));
  }
  return problems;
}

/** The GraphQL API needs an organization and an API token; the message says why GraphQL is in use. */
function graphqlProblems(values: Values, sourceOf: SourceOf, failed: ReadonlySet<string>): ConfigProblem[] {
  if (values["job-source"] !== "graphql") return [];
  const chosen = sourceOf("job-source");
  const why =
    chosen.kind === "default"
      ? "job-source is empty and buildkite-token is set, so the launcher uses graphql"
      : `job-source is graphql (from ${describeSource(chosen)})`;
  const needs: ReadonlyArray<[key: string, expected: string]> = [
    ["org", "the slug of your Buildkite organization"],
    ["buildkite-token", "a Buildkite API access token with GraphQL scope"],
  ];
  return needs
    .filter(([key]) => !failed.has(key) && values[key] === "")
    .map(([key, expected]) =>
      invalidValue(
        key,
        key,
        "",
        sourceOf(key),
        `is empty, but ${why}, which needs it`,
        `${expected}, or job-source stacks (the agent token alone)`,
      ),
    );
}

/**
 * v0.26.0 fails with `missing required tag: queue` once the monitor starts; we say so at startup. The
 * Stacks API needs no queue: without one the stack serves the cluster's default queue (HEAD).
 */
function launcherTagProblems(values: Values, sourceOf: SourceOf): ConfigProblem[] {
  const tags = Array.isArray(values.tags) ? (values.tags as string[]) : [];
  const problems: ConfigProblem[] = [];
  if (queueTagValue(tags) === undefined && values["job-source"] === "graphql") {
    problems.push(
      invalidValue(
        "tags",
        "tags",
        tags,
        sourceOf("tags"),
        "has no queue tag and queue is empty (missing required tag: queue)",
        "a queue=<name> tag, or the queue key",
      ),
    );
  }
  const seen = new Set<string>();
  for (const tag of tags) {
    const name = tag.slice(0, Math.max(0, tag.indexOf("=")));
    if (seen.has(name)) {
      problems.push(
        invalidValue(
          "tags",
          "tags",
          tags,
          sourceOf("tags"),
          `has the tag ${JSON.stringify(name)} twice`,
          "each tag key once",
        ),
      );
    }
    seen.add(name);
  }
  return problems;
}
