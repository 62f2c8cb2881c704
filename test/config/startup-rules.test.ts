import { describe, expect, test } from "vitest";
import { validateFor } from "../../src/config/load.ts";
import { ConfigError } from "../../src/config/problems.ts";
import { CONFIG_PATH, load, loadError, problemOf } from "./helpers.ts";

const yaml = (...lines: string[]) => `${lines.join("\n")}\n`;
const FROM = `(from file ${CONFIG_PATH}:1)`;

describe("pod-spec-patch containers (HEAD's startup rules)", () => {
  test("an image with uppercase letters is refused with HEAD's message", () => {
    const problem = problemOf({
      file: yaml(
        "pod-spec-patch:",
        "  containers:",
        "    - {name: a, image: alpine}",
        "    - {name: b, image: Alpine:3}",
      ),
    });
    expect(problem.path).toBe("pod-spec-patch.containers[1].image");
    expect(problem.message).toBe(
      `pod-spec-patch.containers[1].image: invalid pod spec patch: container image for container at index 1 contains uppercase letters: Alpine:3 ${FROM}`,
    );
  });

  test("uppercase in a registry host or a tag is allowed, as Docker allows it", () => {
    const { config } = load({
      file: yaml(
        "pod-spec-patch:",
        "  containers:",
        "    - {name: a, image: Registry.Example.com/team/app:V1}",
      ),
    });
    expect(config.podSpecPatch).toEqual({
      containers: [{ name: "a", image: "Registry.Example.com/team/app:V1" }],
    });
  });

  test("any other invalid image reference is refused too", () => {
    expect(
      problemOf({ file: yaml("pod-spec-patch:", "  containers:", "    - {name: a, image: 'app:'}") }).message,
    ).toContain("is not a valid image reference (invalid reference format): app:");
  });

  test("command or args in a patch container is refused unless unsafe command modification is allowed", () => {
    const file = yaml(
      "pod-spec-patch:",
      "  containers:",
      "    - {name: container-0, image: alpine, command: [sh]}",
      "    - {name: agent, args: [start]}",
    );
    const error = loadError({ file });
    expect(error.problems.map((problem) => problem.message)).toEqual([
      `pod-spec-patch.containers[0]: invalid pod spec patch: container at index 0 (image: alpine): modifying container commands or args via podSpecPatch is not supported; set allow-pod-spec-patch-unsafe-command-modification to allow it ${FROM}`,
      `pod-spec-patch.containers[1]: invalid pod spec patch: container at index 1 (image: ): modifying container commands or args via podSpecPatch is not supported; set allow-pod-spec-patch-unsafe-command-modification to allow it ${FROM}`,
    ]);
    // HEAD's rule (not v0.26.0's, which refused regardless of the flag).
    const allowed = load({ file, env: { ALLOW_POD_SPEC_PATCH_UNSAFE_COMMAND_MODIFICATION: "true" } });
    expect(allowed.config.podSpecPatch).toMatchObject({
      containers: [{ command: ["sh"] }, { args: ["start"] }],
    });
  });

  test("a null command (which would delete the stack's command) is a command change too", () => {
    expect(
      problemOf({ file: yaml("pod-spec-patch:", "  containers:", "    - {name: agent, command: null}") })
        .message,
    ).toContain("modifying container commands or args via podSpecPatch is not supported");
  });

  test("a patch without containers, or containers without image and command, passes", () => {
    expect(
      load({
        file: yaml("pod-spec-patch:", "  containers:", "    - {name: agent, resources: {limits: {cpu: 1}}}"),
      }).config.podSpecPatch,
    ).toBeDefined();
  });
});

describe("default-resource-class-name (HEAD)", () => {
  test("set without any resource-classes", () => {
    expect(problemOf({ env: { DEFAULT_RESOURCE_CLASS_NAME: "small" } }).message).toBe(
      'default-resource-class-name: default-resource-class-name "small" specified but no resource-classes defined (from env DEFAULT_RESOURCE_CLASS_NAME)',
    );
    expect(
      problemOf({ env: { DEFAULT_RESOURCE_CLASS_NAME: "small" }, file: "resource-classes: {}\n" }).message,
    ).toContain("specified but no resource-classes defined");
  });

  test("naming a class that does not exist", () => {
    expect(
      problemOf({ file: yaml("default-resource-class-name: huge", "resource-classes:", "  small: {}") })
        .message,
    ).toBe(
      `default-resource-class-name: default-resource-class-name "huge" not found in resource-classes ${FROM}`,
    );
  });

  test("naming a class that exists", () => {
    expect(
      load({ file: yaml("default-resource-class-name: small", "resource-classes:", "  small: {}") }).config
        .defaultResourceClassName,
    ).toBe("small");
  });

  test("is not checked again when resource-classes itself is invalid", () => {
    const error = loadError({
      file: yaml("default-resource-class-name: small", "resource-classes: [small]"),
    });
    expect(error.problems.map((problem) => problem.key)).toEqual(["resource-classes"]);
  });
});

describe("agent-config.additional-hooks (HEAD)", () => {
  test("each hook needs path, volume and volume.name", () => {
    const error = loadError({
      file: yaml(
        "agent-config:",
        "  additional-hooks:",
        "    - {path: /ok, volume: {name: ok, emptyDir: {}}}",
        "    - {volume: {name: v, emptyDir: {}}}",
        "    - {path: /no-volume}",
        "    - {path: /no-name, volume: {emptyDir: {}}}",
      ),
    });
    expect(error.problems.map((problem) => problem.message)).toEqual([
      `agent-config.additional-hooks[1].path: agent-config.additional-hooks[1].path is required ${FROM}`,
      `agent-config.additional-hooks[2].volume: agent-config.additional-hooks[2].volume is required ${FROM}`,
      `agent-config.additional-hooks[3].volume.name: agent-config.additional-hooks[3].volume.name is required ${FROM}`,
    ]);
  });
});

describe("volumes the stack mounts by name need a name", () => {
  test.each([
    ["workspace-volume", "workspace-volume:\n  emptyDir: {}\n", "workspace-volume.name"],
    ["hooksVolume", "agent-config:\n  hooksVolume: {emptyDir: {}}\n", "agent-config.hooksVolume.name"],
    ["pluginsVolume", "agent-config:\n  pluginsVolume: {emptyDir: {}}\n", "agent-config.pluginsVolume.name"],
    [
      "signingJWKSVolume",
      "agent-config:\n  signingJWKSVolume: {secret: {secretName: s}}\n",
      "agent-config.signingJWKSVolume.name",
    ],
    [
      "verificationJWKSVolume",
      "agent-config:\n  verificationJWKSVolume: {secret: {secretName: s}}\n",
      "agent-config.verificationJWKSVolume.name",
    ],
    [
      "gitMirrors.volume",
      "default-checkout-params:\n  gitMirrors: {volume: {emptyDir: {}}}\n",
      "default-checkout-params.gitMirrors.volume.name",
    ],
  ])("%s", (_, file, path) => {
    const problem = problemOf({ file });
    expect(problem.path).toBe(path);
    expect(problem.message).toBe(`${path}: ${path} is required ${FROM}`);
  });
});

describe("what each subcommand needs to start", () => {
  test("render (and lint, and webhook) start with no configuration at all", () => {
    for (const subcommand of ["render", "lint", "webhook"]) {
      expect(load({ subcommand }).config.image).toBe("ghcr.io/buildkite/agent:3.136.2");
    }
  });

  test("the launcher starts with no Buildkite keys at all: job-source stacks, the agent token alone", () => {
    const { config } = load({ subcommand: "launcher" });
    expect([config.jobSource, config.org, config.buildkiteToken]).toEqual(["stacks", "", ""]);
  });

  test("job-source graphql needs org and buildkite-token, reported together, saying why graphql is in use", () => {
    const error = loadError({ subcommand: "launcher", file: "job-source: graphql\n" });
    expect(error.code).toBe("ASK_CONFIG_INVALID_VALUE");
    expect(error.problems.map((problem) => problem.message)).toEqual([
      `org: "" (from default) is empty, but job-source is graphql (from file ${CONFIG_PATH}:1), which needs it; expected the slug of your Buildkite organization, or job-source stacks (the agent token alone)`,
      `buildkite-token: "" (from default) is empty, but job-source is graphql (from file ${CONFIG_PATH}:1), which needs it; expected a Buildkite API access token with GraphQL scope, or job-source stacks (the agent token alone)`,
    ]);
  });

  test("an API token alone means graphql, which then needs org: the message names both keys' sources", () => {
    expect(problemOf({ subcommand: "launcher", env: { BUILDKITE_TOKEN: "bkua_x" } }).message).toBe(
      'org: "" (from default) is empty, but job-source is empty and buildkite-token is set, so the launcher uses graphql, which needs it; expected the slug of your Buildkite organization, or job-source stacks (the agent token alone)',
    );
    expect(
      load({ subcommand: "launcher", env: { BUILDKITE_TOKEN: "bkua_x", JOB_SOURCE: "stacks" } }).config
        .jobSource,
    ).toBe("stacks");
  });

  test("the launcher starts with org and token", () => {
    const { config } = load({ subcommand: "launcher", env: { ORG: "acme", BUILDKITE_TOKEN: "bkua_x" } });
    expect([config.org, config.queue]).toEqual(["acme", "kubernetes"]);
  });

  test("the launcher needs a queue: a queue tag or the queue key (v0.26.0: missing required tag: queue)", () => {
    const env = { ORG: "acme", BUILDKITE_TOKEN: "t", TAGS: "os=linux" };
    expect(problemOf({ subcommand: "launcher", env }).message).toBe(
      'tags: ["os=linux"] (from env TAGS) has no queue tag and queue is empty (missing required tag: queue); expected a queue=<name> tag, or the queue key',
    );
    const { config } = load({ subcommand: "launcher", env: { ...env, QUEUE: "linux" } });
    expect(config.tags).toEqual(["queue=linux", "os=linux"]);
    // Only the launcher polls: render does not care.
    expect(load({ subcommand: "render", env }).config.queue).toBe("");
  });

  test("the launcher refuses a tag key given twice", () => {
    expect(
      problemOf({ subcommand: "launcher", env: { ORG: "a", BUILDKITE_TOKEN: "t", TAGS: "queue=a,queue=b" } })
        .message,
    ).toContain('has the tag "queue" twice');
  });

  test("keys every subcommand needs cannot be emptied", () => {
    expect(problemOf({ subcommand: "render", file: 'namespace: ""\n' }).message).toBe(
      `namespace: "" (from file ${CONFIG_PATH}:1) is empty, but agent-stack-k8s render needs it; expected namespace of the Jobs, pods, PodTemplates and the agent token Secret`,
    );
    expect(problemOf({ subcommand: "webhook", args: ["--image="] }).key).toBe("image");
    expect(
      problemOf({ subcommand: "launcher", args: ["--org=a", "--buildkite-token=t", "--job-prefix="] }).key,
    ).toBe("job-prefix");
    // The launcher does not build pods, so it does not need an image.
    expect(
      load({ subcommand: "launcher", args: ["--org=a", "--buildkite-token=t", "--image="] }).config.image,
    ).toBe("");
  });

  test("without a subcommand, requirements are not checked; validateFor checks them later", () => {
    const loaded = load({ env: { JOB_SOURCE: "graphql" } });
    expect(() => validateFor(loaded, "render")).not.toThrow();
    let error: unknown;
    try {
      validateFor(loaded, "launcher");
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((problem) => problem.key)).toEqual(["org", "buildkite-token"]);
  });

  test("value errors and requirement errors come in one report", () => {
    const error = loadError({ subcommand: "launcher", env: { MAX_IN_FLIGHT: "x", JOB_SOURCE: "graphql" } });
    expect(error.problems.map((problem) => problem.key)).toEqual(["max-in-flight", "org", "buildkite-token"]);
  });
});
