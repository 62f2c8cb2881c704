/** Pod spec patches (podspec-expansion.md §4; worked examples E17–E19). */
import { describe, expect, test } from "vitest";
import { failureMessage, isAgentStackError } from "../../src/errors.ts";
import { patchPodSpec } from "../../src/expand/pod-spec-patch.ts";
import type { PodSpec } from "../../src/generated/k8s-types.ts";
import {
  containerNamed,
  envList,
  envValue,
  expand,
  names,
  testConfig,
  testJob,
} from "../support/fixtures.ts";

const CMD_ENTRY = {
  command: ["/workspace/tini-static"],
  args: ["--", "/workspace/buildkite-agent", "kubernetes-bootstrap"],
};
const RULES = { interposer: "buildkite", allowUnsafeCommandModification: false } as const;

describe("E17: patchPodSpec", () => {
  // Upstream's unit test has an unnamed container, which Go serialises as `"name": ""`.
  test("a new container lands before the existing ones", () => {
    const original: PodSpec = {
      containers: [{ name: "", image: "alpine:latest", command: ["echo hello world"] }],
    };
    const { podSpec: patched } = patchPodSpec(
      original,
      { containers: [{ name: "my-cool-container", image: "debian:latest" }] },
      "k8s plugin",
      RULES,
    );
    expect(patched.containers).toEqual([
      { name: "my-cool-container", image: "debian:latest" },
      { name: "", image: "alpine:latest", command: ["echo hello world"] },
    ]);
  });

  test("a container that is not a command container gets its command replaced", () => {
    const original: PodSpec = {
      containers: [{ name: "sidecar-0", image: "alpine:latest", command: ["echo hello world"] }],
    };
    const { podSpec: patched } = patchPodSpec(
      original,
      { containers: [{ name: "sidecar-0", command: ["echo goodbye world"] }] },
      "k8s plugin",
      RULES,
    );
    expect(patched.containers[0]?.command).toEqual(["echo goodbye world"]);
  });

  test("a command container's new command becomes its BUILDKITE_COMMAND", () => {
    const original: PodSpec = {
      containers: [
        {
          name: "my-cool-container",
          image: "alpine:latest",
          ...CMD_ENTRY,
          env: [{ name: "BUILDKITE_COMMAND", value: "echo hello world" }],
        },
      ],
    };
    const { podSpec: patched } = patchPodSpec(
      original,
      {
        containers: [
          { name: "my-cool-container", command: ["this should"], args: ["work", "as", "expected"] },
        ],
      },
      "k8s plugin",
      RULES,
    );
    expect(patched.containers[0]).toMatchObject(CMD_ENTRY);
    expect(patched.containers[0]?.env).toEqual([
      { name: "BUILDKITE_COMMAND", value: "this should work as expected" },
    ]);
  });

  test("a patch without containers leaves them alone", () => {
    const original: PodSpec = {
      containers: [{ name: "", image: "alpine:latest", command: ["echo hello world"] }],
    };
    const { podSpec: patched } = patchPodSpec(
      original,
      { hostAliases: [{ ip: "127.0.0.1", hostnames: ["agent.buildkite.localhost"] }] },
      "controller",
      RULES,
    );
    expect(patched).toEqual({
      containers: [{ name: "", image: "alpine:latest", command: ["echo hello world"] }],
      hostAliases: [{ ip: "127.0.0.1", hostnames: ["agent.buildkite.localhost"] }],
    });
  });

  test("patching the image keeps the command", () => {
    const original: PodSpec = { containers: [{ name: "container-0", image: "alpine:a", ...CMD_ENTRY }] };
    const { podSpec: patched } = patchPodSpec(
      original,
      { containers: [{ name: "container-0", image: "alpine:b" }] },
      "k8s plugin",
      RULES,
    );
    expect(patched.containers[0]).toEqual({ name: "container-0", image: "alpine:b", ...CMD_ENTRY });
  });

  test("the inputs are not modified", () => {
    const original: PodSpec = { containers: [{ name: "container-0", image: "alpine:a", ...CMD_ENTRY }] };
    const patch = { containers: [{ name: "container-0", command: ["make"] }] };
    const before = structuredClone({ original, patch });
    patchPodSpec(original, patch, "k8s plugin", RULES);
    expect({ original, patch }).toEqual(before);
  });
});

describe("E18: commands of the stack's containers are protected", () => {
  const failure = (plugin: unknown, config = testConfig()): string => {
    try {
      expand(testJob({ plugin }), config);
    } catch (error) {
      if (isAgentStackError(error)) return `${error.code}: ${failureMessage(error)}`;
      throw error;
    }
    throw new Error("expected the expansion to fail");
  };

  test.each([
    [{ containers: [{ name: "agent", command: ["echo hello"] }] }],
    [{ containers: [{ name: "agent", args: ["this", "shouldn't", "work"] }] }],
  ])("the agent's command or args: %j", (podSpecPatch) => {
    expect(failure({ podSpecPatch })).toBe(
      "ASK_PATCH_COMMAND_MODIFICATION: agent-stack-k8s failed to build a podSpec for the job: failed to apply podSpec patch from k8s plugin: for the agent container, modifying container commands or args via podSpecPatch is not supported",
    );
  });

  test("the checkout's command, with advice", () => {
    expect(failure({ podSpecPatch: { containers: [{ name: "checkout", command: ["git", "clone"] }] } })).toBe(
      "ASK_PATCH_COMMAND_MODIFICATION: agent-stack-k8s failed to build a podSpec for the job: failed to apply podSpec patch from k8s plugin: for the checkout container, modifying container commands or args via podSpecPatch is not supported; instead consider configuring a checkout hook or skipping the checkout container entirely",
    );
  });

  test("the command check comes before the image check of the same patch", () => {
    const message = failure({
      podSpecPatch: { containers: [{ name: "checkout", image: "ALPINE", command: ["x"] }] },
    });
    expect(message).toContain("for the checkout container, modifying container commands");
  });

  test.each([["copy-agent"], ["imagecheck-0"]])("the %s init container", (name) => {
    const plugin = {
      podSpec: { containers: [{ image: "alpine:latest" }] },
      podSpecPatch: { initContainers: [{ name, args: ["x"] }] },
    };
    expect(failure(plugin)).toContain(
      `failed to apply podSpec patch from k8s plugin: for the ${name} container, modifying container commands or args via podSpecPatch is not supported`,
    );
  });

  test("the controller's patch is worded as coming from the controller", () => {
    const config = testConfig({ podSpecPatch: { containers: [{ name: "agent", command: ["sh"] }] } });
    expect(failure(undefined, config)).toContain(
      "failed to apply podSpec patch from controller: for the agent container, modifying container commands",
    );
  });

  test("an identical command is not a modification", () => {
    const { podSpec } = expand(
      testJob({ plugin: { podSpecPatch: { containers: [{ name: "agent", args: ["start"] }] } } }),
    );
    expect(containerNamed(podSpec, "agent").args).toEqual(["start"]);
  });

  test("with the unsafe flag every command merges verbatim", () => {
    const config = testConfig({ allowPodSpecPatchUnsafeCommandModification: true });
    const plugin = {
      podSpec: { containers: [{ image: "alpine:latest" }] },
      podSpecPatch: {
        containers: [
          { name: "agent", command: ["my-agent"] },
          { name: "checkout", args: ["my-checkout"] },
        ],
        initContainers: [
          { name: "copy-agent", args: ["-c", "true"] },
          { name: "imagecheck-0", args: ["--help"] },
        ],
      },
    };
    const { podSpec } = expand(testJob({ plugin }), config);
    expect(containerNamed(podSpec, "agent").command).toEqual(["my-agent"]);
    expect(containerNamed(podSpec, "checkout").args).toEqual(["my-checkout"]);
    expect(containerNamed(podSpec, "copy-agent").args).toEqual(["-c", "true"]);
    expect(containerNamed(podSpec, "imagecheck-0").args).toEqual(["--help"]);
  });

  test("user init containers and sidecars may change their commands", () => {
    const plugin = {
      podSpec: {
        initContainers: [{ name: "setup", image: "alpine:latest", command: ["a"] }],
        containers: [{ image: "alpine:latest" }],
      },
      sidecars: [{ image: "nginx:latest" }],
      podSpecPatch: {
        initContainers: [
          { name: "setup", command: ["b"] },
          { name: "sidecar-0", command: ["nginx", "-g", "daemon off;"] },
        ],
      },
    };
    const { podSpec } = expand(testJob({ plugin }));
    expect(containerNamed(podSpec, "setup").command).toEqual(["b"]);
    expect(containerNamed(podSpec, "sidecar-0").command).toEqual(["nginx", "-g", "daemon off;"]);
  });
});

describe("E19: a command container's patch", () => {
  const podSpec = {
    containers: [{ name: "mountains", image: "alpine:latest", command: ['echo "i love guyaquil"'] }],
  };

  test("a new command replaces BUILDKITE_COMMAND in place", () => {
    const plugin = {
      podSpec,
      podSpecPatch: { containers: [{ name: "mountains", command: ['echo "i love quito"'] }] },
    };
    const container = containerNamed(expand(testJob({ plugin })).podSpec, "mountains");
    expect(container).toMatchObject(CMD_ENTRY);
    expect(envList(container).filter((entry) => entry.startsWith("BUILDKITE_COMMAND="))).toEqual([
      'BUILDKITE_COMMAND=echo "i love quito"',
    ]);
    expect(envList(container).indexOf('BUILDKITE_COMMAND=echo "i love quito"')).toBe(1);
  });

  test("the interposer in force turns the patch's command and args into text", () => {
    const plugin = {
      podSpec,
      commandParams: { interposer: "vector" },
      podSpecPatch: { containers: [{ name: "mountains", command: ["echo"], args: ["i love quito"] }] },
    };
    const container = containerNamed(expand(testJob({ plugin })).podSpec, "mountains");
    expect(envValue(container, "BUILDKITE_COMMAND")).toBe("echo 'i love quito'");
  });

  test("a patch's env entry is added by name", () => {
    const plugin = {
      podSpec,
      podSpecPatch: { containers: [{ name: "mountains", env: [{ name: "MOUNTAIN", value: "cotopaxi" }] }] },
    };
    expect(envValue(containerNamed(expand(testJob({ plugin })).podSpec, "mountains"), "MOUNTAIN")).toBe(
      "cotopaxi",
    );
  });

  test("the controller's patch overwrites an env value by name", () => {
    const plugin = {
      podSpec: {
        containers: [
          { name: "mountain", image: "alpine:latest", env: [{ name: "MOUNTAIN", value: "cotopaxi" }] },
        ],
      },
    };
    const config = testConfig({
      podSpecPatch: { containers: [{ name: "mountain", env: [{ name: "MOUNTAIN", value: "antisana" }] }] },
    });
    const container = containerNamed(expand(testJob({ plugin }), config).podSpec, "mountain");
    expect(envList(container).filter((entry) => entry.startsWith("MOUNTAIN="))).toEqual([
      "MOUNTAIN=antisana",
    ]);
  });
});

describe("patches keep strategic-merge directives (a deliberate difference from upstream)", () => {
  test("a step can delete an env var, a volume and a container", () => {
    const plugin = {
      podSpec: {
        volumes: [{ name: "cache", emptyDir: {} }],
        containers: [
          { name: "main", image: "alpine:latest", env: [{ name: "DEBUG", value: "1" }] },
          { name: "helper", image: "alpine:latest" },
        ],
      },
      podSpecPatch: {
        volumes: [{ name: "cache", $patch: "delete" }],
        containers: [
          { name: "main", env: [{ name: "DEBUG", $patch: "delete" }] },
          { name: "helper", $patch: "delete" },
        ],
      },
    };
    const { podSpec } = expand(testJob({ plugin }));
    expect(names(podSpec.containers)).toEqual(["main", "agent", "checkout"]);
    expect(envValue(containerNamed(podSpec, "main"), "DEBUG")).toBeUndefined();
    expect(podSpec.volumes?.map((volume) => volume.name)).toEqual(["workspace"]);
  });

  test("a null deletes a field", () => {
    const config = testConfig({ podSpecPatch: { nodeSelector: { pool: "ci" } } });
    const plugin = { podSpecPatch: { nodeSelector: { pool: null } } };
    expect(expand(testJob({ plugin }), config).podSpec.nodeSelector).toEqual({});
  });

  test("a patch that removes the agent is refused", () => {
    const plugin = { podSpecPatch: { containers: [{ name: "agent", $patch: "delete" }] } };
    expect(() => expand(testJob({ plugin }))).toThrow(
      "the pod spec patches remove the container agent, without which the job cannot run",
    );
  });

  test("a patch that replaces every init container is refused", () => {
    const plugin = { podSpecPatch: { initContainers: [{ $patch: "replace" }] } };
    expect(() => expand(testJob({ plugin }))).toThrow("init container copy-agent");
  });
});

describe("skip-checkout removal runs after the patches", () => {
  test("a patch cannot bring back a skipped checkout", () => {
    const plugin = {
      checkout: { skip: true },
      podSpecPatch: { containers: [{ name: "checkout", image: "alpine:latest" }] },
    };
    expect(names(expand(testJob({ plugin })).podSpec.containers)).toEqual(["container-0", "agent"]);
  });

  test("patch-added init containers land before copy-agent", () => {
    const plugin = { podSpecPatch: { initContainers: [{ name: "early", image: "alpine:latest" }] } };
    expect(names(expand(testJob({ plugin })).podSpec.initContainers)).toEqual(["early", "copy-agent"]);
  });
});

describe("the patched pod spec is a clean PodSpec", () => {
  test("nulls and directives inside new items do not reach the Job", () => {
    const plugin = {
      podSpecPatch: {
        containers: [
          {
            name: "helper",
            image: "alpine:latest",
            workingDir: null,
            env: [{ name: "A", $patch: "delete" }],
          },
        ],
      },
    };
    const result = expand(testJob({ plugin }));
    expect(containerNamed(result.podSpec, "helper")).toEqual({
      name: "helper",
      image: "alpine:latest",
      env: [{ name: "A" }],
    });
    expect(result.warnings).toEqual([
      '"$patch" at podSpecPatch result.containers[0].env[0] had no effect (it is inside a value that was new); it was ignored',
    ]);
  });

  test("a strategic merge error says which patch and where", () => {
    const plugin = { podSpecPatch: { containers: [{ image: "no-name:1" }] } };
    expect(() => expand(testJob({ plugin }))).toThrow(
      'failed to apply podSpec patch from k8s plugin: error applying strategic patch: strategic merge patch at podSpecPatch.containers[0]: the list item {"image":"no-name:1"} does not contain the merge key "name"',
    );
  });
});

test("directives in map fields of a patch are kept: $retainKeys on nodeSelector", () => {
  const config = testConfig({ podSpecPatch: { nodeSelector: { pool: "ci", zone: "a" } } });
  const plugin = { podSpecPatch: { nodeSelector: { $retainKeys: ["pool"], pool: "gpu" } } };
  expect(expand(testJob({ plugin }), config).podSpec.nodeSelector).toEqual({ pool: "gpu" });
});

test("a directive left in a value that was new is dropped with a warning", () => {
  const plugin = { podSpecPatch: { nodeSelector: { $retainKeys: ["pool"], pool: "gpu" } } };
  const result = expand(testJob({ plugin }));
  expect(result.podSpec.nodeSelector).toEqual({ pool: "gpu" });
  expect(result.warnings).toEqual([
    '"$retainKeys" at podSpecPatch result.nodeSelector had no effect (it is inside a value that was new); it was ignored',
  ]);
});
