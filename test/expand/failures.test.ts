/**
 * Everything that fails a job (podspec-expansion.md §6; examples E20, E21), with the message the
 * Buildkite job is failed with and the error's code and path.
 */
import { describe, expect, test } from "vitest";
import type { BuildkiteJob } from "../../src/buildkite/job.ts";
import type { Config } from "../../src/config/types.ts";
import { type ErrorCode, failureMessage, isAgentStackError } from "../../src/errors.ts";
import type { ExpandOptions } from "../../src/expand/index.ts";
import { expand, KUBERNETES_PLUGIN, testConfig, testJob } from "../support/fixtures.ts";

interface Failure {
  readonly code: ErrorCode;
  readonly message: string;
  readonly path: string | undefined;
}

function failureOf(
  job: BuildkiteJob,
  config: Config = testConfig(),
  options: Partial<ExpandOptions> = {},
): Failure {
  try {
    expand(job, config, options);
  } catch (error) {
    if (isAgentStackError(error))
      return { code: error.code, message: failureMessage(error), path: error.path };
    throw error;
  }
  throw new Error("expected the expansion to fail");
}

function withPlugins(plugins: string): BuildkiteJob {
  return { ...testJob(), env: [`BUILDKITE_PLUGINS=${plugins}`] };
}

describe("parse failures", () => {
  test("BUILDKITE_PLUGINS that is not JSON", () => {
    const failure = failureOf(withPlugins("[{"));
    expect(failure.code).toBe("ASK_PLUGINS_INVALID");
    expect(failure.message).toMatch(/^agent-stack-k8s failed to parse the job: failed parsing plugins: /);
  });

  test("BUILDKITE_PLUGINS that is not an array", () => {
    const failure = failureOf(withPlugins('{"a":1}'));
    expect(failure).toMatchObject({ code: "ASK_PLUGINS_INVALID", path: "BUILDKITE_PLUGINS" });
  });

  test("an empty or null BUILDKITE_PLUGINS is no plugins", () => {
    expect(() => expand(withPlugins(""))).not.toThrow();
    expect(() => expand(withPlugins("null"))).not.toThrow();
  });

  test("a plugin entry with two keys", () => {
    const failure = failureOf(withPlugins('[{"a":{"password":"hunter2"},"b":{}}]'));
    expect(failure.code).toBe("ASK_PLUGIN_INVALID");
    expect(failure.message).toBe(
      'agent-stack-k8s failed to parse the job: found invalid plugin: BUILDKITE_PLUGINS[0] has 2 keys ("a", "b"); a plugin entry has exactly one, its name',
    );
    expect(failure.path).toBe("BUILDKITE_PLUGINS[0]");
  });

  test("no message quotes a plugin's configuration or the text of BUILDKITE_PLUGINS", () => {
    for (const plugins of [
      '[{"a":{"password":"hunter2"},"b":{}}]',
      '["hunter2"]',
      '"hunter2"',
      '[{"a":{"password":hunter2}}]',
      "hunter2",
    ]) {
      expect(failureOf(withPlugins(plugins)).message, plugins).not.toContain("hunter2");
    }
  });

  test.each([
    ["the kubernetes plugin", KUBERNETES_PLUGIN, 1],
    ["another plugin", "docker#v5.0.0", 1],
    ["an entry with two keys", "docker#v5.0.0", 2],
  ])("%s nested 10,000 deep is an invalid plugin, not a crash", (_name, plugin, keys) => {
    const depth = 10_000;
    const deep = `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
    const entry =
      keys === 1 ? `{${JSON.stringify(plugin)}:${deep}}` : `{${JSON.stringify(plugin)}:${deep},"b":{}}`;
    const failure = failureOf(withPlugins(`[${entry}]`));
    expect(failure.code).toBe("ASK_PLUGIN_INVALID");
    expect(failure.path).toBe("BUILDKITE_PLUGINS[0]");
  });

  test("a kubernetes plugin as deep as the limit allows is decoded without overflowing the stack", () => {
    const deep = (levels: number): unknown => {
      let value: unknown = "x";
      for (let i = 0; i < levels; i++) value = { a: value };
      return value;
    };
    const plugin = { podSpecPatch: { containers: [{ name: "container-0", unknownDeep: deep(95) }] } };
    expect(() => expand(withPlugins(JSON.stringify([{ [KUBERNETES_PLUGIN]: plugin }])))).not.toThrow(
      RangeError,
    );
  });

  test("E20: a kubernetes plugin whose value is a string", () => {
    const failure = failureOf(withPlugins(JSON.stringify([{ [KUBERNETES_PLUGIN]: '"some-invalid-json"' }])));
    expect(failure.code).toBe("ASK_PLUGIN_DECODE");
    expect(failure.message).toContain(
      "agent-stack-k8s failed to parse the job: failed parsing Kubernetes plugin: ",
    );
    expect(failure.message).toContain("cannot unmarshal string");
  });

  test("E20: the kubernetes plugin on a controller that prohibits it, even empty", () => {
    const failure = failureOf(testJob({ plugin: {} }), testConfig({ prohibitKubernetesPlugin: true }));
    expect(failure).toEqual({
      code: "ASK_PLUGIN_PROHIBITED",
      message:
        "agent-stack-k8s failed to parse the job: the kubernetes plugin is prohibited by this controller, but was configured on this job",
      path: "plugins[0]",
    });
  });

  test("E20: a number where Kubernetes wants a string names the Go field and the exact path", () => {
    const plugin = {
      podSpec: { containers: [{ image: "golang", env: [{ name: "CGO_ENABLED", value: 0 }] }] },
    };
    const failure = failureOf(testJob({ plugin }));
    expect(failure).toEqual({
      code: "ASK_PLUGIN_DECODE",
      message:
        "agent-stack-k8s failed to parse the job: failed parsing Kubernetes plugin: json: cannot unmarshal number into Go struct field EnvVar.podSpec.containers.env.value of type string (at plugins[0].kubernetes.podSpec.containers[0].env[0].value)",
      path: "plugins[0].kubernetes.podSpec.containers[0].env[0].value",
    });
  });

  test("E20: an unknown interposer", () => {
    const failure = failureOf(testJob({ plugin: { commandParams: { interposer: "foo" } } }));
    expect(failure.code).toBe("ASK_PLUGIN_DECODE");
    expect(failure.message).toContain(
      'failed parsing Kubernetes plugin: invalid interposer "foo", must be one of: [ buildkite vector legacy]',
    );
    expect(failure.path).toBe("plugins[0].kubernetes.commandParams.interposer");
  });

  test.each([
    [{ checkout: { skip: "yes" } }, "plugins[0].kubernetes.checkout.skip", "of type bool"],
    [{ jobActiveDeadlineSeconds: 1.5 }, "plugins[0].kubernetes.jobActiveDeadlineSeconds", "number 1.5"],
    [{ sidecars: { image: "nginx" } }, "plugins[0].kubernetes.sidecars", "of type []v1.Container"],
    [{ metadata: { labels: { a: 1 } } }, "plugins[0].kubernetes.metadata.labels.a", "of type string"],
    [
      { podSpecPatch: { containers: [{ name: "x", resources: { limits: { cpu: "lots" } } }] } },
      "plugins[0].kubernetes.podSpecPatch.containers[0].resources.limits.cpu",
      "quantities must match",
    ],
  ])("a bad field %j is refused at its path", (plugin, path, detail) => {
    const failure = failureOf(testJob({ plugin }));
    expect(failure.code).toBe("ASK_PLUGIN_DECODE");
    expect(failure.path).toBe(path);
    expect(failure.message).toContain(detail);
    expect(failure.message).toContain(`(at ${path})`);
  });
});

describe("base pod spec failures", () => {
  test("a podTemplate that cannot be fetched", () => {
    const failure = failureOf(testJob({ plugin: { podTemplate: "missing" } }), testConfig(), {
      podTemplates: (name) => {
        throw new Error(`podtemplates "${name}" not found`);
      },
    });
    expect(failure).toMatchObject({
      code: "ASK_POD_TEMPLATE_FETCH",
      message: 'Error fetching podTemplate "missing": podtemplates "missing" not found',
    });
  });

  test("an external Job's pod template and a plugin podSpec conflict", () => {
    const plugin = { podSpec: { containers: [{ image: "alpine:latest" }] } };
    const failure = failureOf(testJob({ plugin }), testConfig(), {
      ownPodSpec: { containers: [{ name: "main", image: "alpine:latest" }] },
    });
    expect(failure.code).toBe("ASK_BASE_POD_SPEC_CONFLICT");
    expect(failure.message).toMatch(
      /^agent-stack-k8s failed to build a podSpec for the job: the Job has its own pod template/,
    );
  });
});

describe("E21: image references", () => {
  const withImages = (...images: Array<string | undefined>) =>
    testJob({
      plugin: { podSpec: { containers: images.map((image) => (image === undefined ? {} : { image })) } },
    });

  test.each([
    [
      "buildkite/agent:latest plus some extra junk",
      'invalid reference format "buildkite/agent:latest plus some extra junk" for container "container-0"',
    ],
    ["ALPINE:latest", 'repository name must be lowercase "ALPINE:latest" for container "container-0"'],
    [undefined, 'repository name must have at least one component "" for container "container-0"'],
  ])("image %j", (image, message) => {
    expect(failureOf(withImages(image))).toMatchObject({
      code: "ASK_IMAGE_REFERENCE",
      message: `agent-stack-k8s failed to build a podSpec for the job: ${message}`,
    });
  });

  test("several bad references make a table sorted by container", () => {
    const failure = failureOf(
      testJob({
        plugin: {
          podSpec: {
            containers: [
              { name: "zeta", image: "Zeta:1" },
              { name: "alpha", image: "bad image" },
            ],
          },
        },
      }),
    );
    const lines = failure.message.split("\n");
    expect(lines[0]).toBe("agent-stack-k8s failed to build a podSpec for the job: invalid image references");
    expect(lines[1]).toBe("");
    expect(lines[3]).toMatch(/^│ CONTAINER +│ IMAGE REF +│ PARSE ERROR +│$/);
    expect(lines[2]?.startsWith("╭")).toBe(true);
    const alpha = lines.findIndex((line) => line.includes('"alpha"'));
    const zeta = lines.findIndex((line) => line.includes('"zeta"'));
    expect(alpha).toBeGreaterThan(1);
    expect(zeta).toBeGreaterThan(alpha);
    expect(lines[alpha]).toContain('"bad image"');
    expect(lines[alpha]).toContain("invalid reference format");
    expect(lines[zeta]).toContain("repository name must be lowercase");
  });

  test("a sidecar's bad image fails the job too", () => {
    const failure = failureOf(testJob({ plugin: { sidecars: [{ image: "NGINX" }] } }));
    expect(failure.message).toContain('repository name must be lowercase "NGINX" for container "sidecar-0"');
  });

  test("images are validated even when image-check containers are skipped", () => {
    const failure = failureOf(withImages("UPPER"), testConfig({ skipImageCheckContainers: true }));
    expect(failure.code).toBe("ASK_IMAGE_REFERENCE");
  });

  test("an image from the image attribute or a patch is not validated (HEAD order)", () => {
    const job = testJob({ env: { BUILDKITE_IMAGE: "Whatever Image" } });
    expect(() => expand(job)).not.toThrow();
  });
});

test("a strategic merge error names the patch and the problem", () => {
  const failure = failureOf(
    testJob({ plugin: { podSpecPatch: { containers: [{ name: "x", $patch: "explode" }] } } }),
  );
  expect(failure.code).toBe("ASK_PATCH_FAILED");
  expect(failure.message).toMatch(
    /^agent-stack-k8s failed to build a podSpec for the job: failed to apply podSpec patch from k8s plugin: error applying strategic patch: /,
  );
});
