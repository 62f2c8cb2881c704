/** One behaviour of each expansion step (podspec-expansion.md §1.2–§2.17) beyond the worked examples. */
import { describe, expect, test } from "vitest";
import { EXPANSION_STEPS } from "../../src/expand/index.ts";
import { jobUrlOf } from "../../src/expand/metadata.ts";
import {
  containerNamed,
  envList,
  envValue,
  expand,
  KUBERNETES_PLUGIN,
  mounts,
  names,
  renderJob,
  TEST_VERSION,
  testConfig,
  testJob,
} from "../support/fixtures.ts";
import { expectValidJob } from "../support/k8s-validate.ts";

test("the steps run in the order of the spec's sections", () => {
  expect(EXPANSION_STEPS.map(([section]) => section)).toEqual([
    "2.0 base pod spec",
    "2.1 skip checkout?",
    "2.2 metadata",
    "2.3 job spec scalars",
    "2.4 volumes",
    "2.5 shared mounts",
    "2.6 command containers",
    "2.7 default command container",
    "2.8 sidecars",
    "2.9 agent tags",
    "2.9 resource class",
    "2.10 agent container",
    "2.11 checkout container",
    "2.12 copy-agent",
    "2.13 image checks",
    "2.14 init containers",
    "2.15 patches",
    "2.16 skip checkout",
    "2.17 volume-mount dedupe",
  ]);
});

describe("plugin decoding (§1.2, §1.3)", () => {
  test("field names match case-insensitively, as Go's encoding/json does", () => {
    const { podSpec } = expand(
      testJob({ plugin: { PodSpec: { Containers: [{ Image: "alpine:latest", Name: "Main" }] } } }),
    );
    expect(containerNamed(podSpec, "Main").image).toBe("alpine:latest");
  });

  test("unknown fields are ignored with a warning naming them", () => {
    const result = expand(
      testJob({
        plugin: {
          podSpec: { containers: [{ image: "alpine:latest", imagePullPolicyy: "Always" }] },
          colour: "red",
        },
      }),
    );
    expect(result.warnings).toEqual([
      'unknown field "imagePullPolicyy" at plugins[0].kubernetes.podSpec.containers[0] (Container has no such field); it was ignored',
      'unknown field "colour" at plugins[0].kubernetes (KubernetesPlugin has no such field); it was ignored',
    ]);
    expect(containerNamed(result.podSpec, "container-0").imagePullPolicy).toBe("IfNotPresent");
  });

  test("several kubernetes plugin entries merge, later ones winning", () => {
    const job = testJob({
      plugin: { metadata: { labels: { a: "1", b: "1" } }, checkout: { skip: true } },
      otherPlugins: [
        { [KUBERNETES_PLUGIN]: { metadata: { labels: { b: "2" } }, checkout: { cloneFlags: "--depth=1" } } },
      ],
    });
    const result = expand(job);
    expect(result.labels).toMatchObject({ a: "1", b: "2" });
    expect(names(result.podSpec.containers)).toEqual(["container-0", "agent"]);
    expect(envValue(containerNamed(result.podSpec, "agent"), "BUILDKITE_GIT_CLONE_FLAGS")).toBe("--depth=1");
  });

  test("a versioned kubernetes plugin name is an ordinary plugin, as upstream", () => {
    const job = testJob({
      otherPlugins: [
        { [`${KUBERNETES_PLUGIN}#v1.0.0`]: { podSpec: { containers: [{ image: "alpine:latest" }] } } },
      ],
    });
    expect(containerNamed(expand(job).podSpec, "container-0").image).toBe("buildkite/agent:latest");
  });

  test("a null kubernetes plugin is no plugin", () => {
    expect(names(expand(testJob({ plugin: null })).podSpec.containers)).toEqual([
      "container-0",
      "agent",
      "checkout",
    ]);
  });
});

describe("metadata (§2.2)", () => {
  test("controller defaults, then the plugin's metadata; the stack's own keys last", () => {
    const config = testConfig({
      id: "ctl",
      defaultMetadata: {
        labels: { team: "a", "buildkite.com/job-uuid": "forged" },
        annotations: { note: "default" },
      },
    });
    const plugin = {
      metadata: {
        labels: { team: "b", "buildkite.com/controller-id": "forged" },
        annotations: { note: "plugin" },
      },
    };
    const result = expand(testJob({ plugin }), config);
    expect(result.labels).toMatchObject({
      team: "b",
      "buildkite.com/job-uuid": "0195a2b0-0000-4000-8000-000000000001",
      "buildkite.com/controller-id": "ctl",
    });
    expect(result.annotations.note).toBe("plugin");
  });

  test("agent query rules become tag labels when they are valid labels", () => {
    const result = expand(
      testJob({ agentQueryRules: ["queue=kubernetes=2", "queue2=", "os=linux", "novalue", "bad key=x"] }),
    );
    expect(Object.entries(result.labels).filter(([key]) => key.startsWith("tag."))).toEqual([
      ["tag.buildkite.com/os", "linux"],
      ["tag.buildkite.com/queue2", ""],
    ]);
    expect(result.warnings).toEqual([
      'agent query rule "queue=kubernetes=2" gives no label: "tag.buildkite.com/queue"="kubernetes=2" is not a valid Kubernetes label',
      'agent query rule "bad key=x" gives no label: "tag.buildkite.com/bad key"="x" is not a valid Kubernetes label',
    ]);
  });

  test("labels and annotations print in key order whatever order they were written in", () => {
    const result = expand(testJob({ plugin: { metadata: { labels: { zebra: "1", apple: "2" } } } }));
    const keys = Object.keys(result.labels);
    expect(keys).toEqual([...keys].sort());
  });

  test.each([
    ["https://buildkite.com/org/p/builds/1", "https://buildkite.com/org/p/builds/1#u"],
    ["https://buildkite.com/org/p/builds/1#old", "https://buildkite.com/org/p/builds/1#u"],
    ["", "#u"],
    ["https://x/y?q=%zz", "https://x/y?q=%zz#u"],
    ["https://x/%zz", undefined],
    ["https://x/\u0007", undefined],
  ])("the job URL of %j is %j", (buildUrl, expected) => {
    expect(jobUrlOf(buildUrl, "u")).toBe(expected);
  });

  test("the job priority is an annotation", () => {
    expect(expand(testJob({ priority: 7 })).annotations["buildkite.com/job-priority"]).toBe("7");
  });
});

describe("job spec scalars (§2.3)", () => {
  test("job-ttl is truncated to whole seconds; a base grace period is kept", () => {
    const config = testConfig({ jobTtl: 90.9e9, defaultTerminationGracePeriodSeconds: 45 });
    const result = expand(
      testJob({ plugin: { podSpec: { terminationGracePeriodSeconds: 20, containers: [] } } }),
      config,
    );
    expect(result.spec.ttlSecondsAfterFinished).toBe(90);
    expect(result.podSpec.terminationGracePeriodSeconds).toBe(20);
    const agent = containerNamed(result.podSpec, "agent");
    expect([
      envValue(agent, "BUILDKITE_CANCEL_GRACE_PERIOD"),
      envValue(agent, "BUILDKITE_SIGNAL_GRACE_PERIOD_SECONDS"),
    ]).toEqual(["20", "10"]);
  });

  test("a zero grace period still gives the agent one second to cancel", () => {
    const agent = containerNamed(
      expand(testJob({ plugin: { podSpec: { terminationGracePeriodSeconds: 0, containers: [] } } })).podSpec,
      "agent",
    );
    expect([
      envValue(agent, "BUILDKITE_CANCEL_GRACE_PERIOD"),
      envValue(agent, "BUILDKITE_SIGNAL_GRACE_PERIOD_SECONDS"),
    ]).toEqual(["1", "0"]);
  });
});

describe("volumes (§2.4)", () => {
  test("base volumes, workspace, then agent-config volumes in order", () => {
    const volume = (name: string) => ({ name, emptyDir: {} });
    const config = testConfig({
      workspaceVolume: { name: "ws", persistentVolumeClaim: { claimName: "ws" } },
      agentConfig: {
        hooksVolume: volume("hooks"),
        additionalHooks: [{ path: "/extra", volume: volume("extra") }],
        pluginsVolume: volume("plugins"),
        signingJWKSVolume: volume("sign"),
        verificationJWKSVolume: volume("verify"),
      },
    });
    const { podSpec } = expand(
      testJob({ plugin: { podSpec: { volumes: [volume("mine")], containers: [] } } }),
      config,
    );
    expect(podSpec.volumes?.map((v) => v.name)).toEqual([
      "mine",
      "ws",
      "hooks",
      "extra",
      "plugins",
      "sign",
      "verify",
    ]);
    expect(mounts(containerNamed(podSpec, "container-0"))[0]).toBe("ws@/workspace");
    expect(mounts(containerNamed(podSpec, "checkout"))).toEqual([
      "ws@/workspace",
      "hooks@/workspace/hooks",
      "extra@/extra",
      "plugins@/workspace/plugins",
    ]);
  });
});

describe("command containers (§2.6, §2.7)", () => {
  test("args without a command are ignored: the step's command runs", () => {
    const { podSpec } = expand(
      testJob({
        command: "make test",
        plugin: { podSpec: { containers: [{ image: "alpine:latest", args: ["ignored"] }] } },
      }),
    );
    expect(envValue(containerNamed(podSpec, "container-0"), "BUILDKITE_COMMAND")).toBe("make test");
    expect(containerNamed(podSpec, "container-0").args).toEqual([
      "--",
      "/workspace/buildkite-agent",
      "kubernetes-bootstrap",
    ]);
  });

  test("the user's env comes first, names and working dirs are kept", () => {
    const { podSpec } = expand(
      testJob({
        plugin: {
          podSpec: {
            containers: [
              { name: "build", image: "alpine:latest", workingDir: "/src", env: [{ name: "A", value: "1" }] },
            ],
          },
        },
      }),
    );
    const build = containerNamed(podSpec, "build");
    expect(build.workingDir).toBe("/src");
    expect(envList(build)).toEqual([
      "A=1",
      "BUILDKITE_BOOTSTRAP_PHASES=plugin,command",
      "BUILDKITE_COMMAND=echo hello world",
      "BUILDKITE_CONTAINER_ID=1",
      "BUILDKITE_SOCKETS_PATH=/workspace/sockets/build",
    ]);
  });

  test("command params: controller defaults first, then the plugin's; gitEnvFrom last", () => {
    const config = testConfig({
      defaultCommandParams: {
        envFrom: [{ configMapRef: { name: "default" } }],
        extraVolumeMounts: [{ name: "d", mountPath: "/d" }],
      },
    });
    const plugin = {
      commandParams: {
        envFrom: [{ configMapRef: { name: "plugin" } }],
        extraVolumeMounts: [{ name: "p", mountPath: "/p" }],
      },
      gitEnvFrom: [{ secretRef: { name: "git" } }],
      podSpec: {
        volumes: [
          { name: "d", emptyDir: {} },
          { name: "p", emptyDir: {} },
        ],
        containers: [{ image: "alpine:latest" }],
      },
    };
    const container = containerNamed(expand(testJob({ plugin }), config).podSpec, "container-0");
    expect(container.envFrom).toEqual([
      { configMapRef: { name: "default" } },
      { configMapRef: { name: "plugin" } },
      { secretRef: { name: "git" } },
    ]);
    expect(mounts(container)).toEqual(["d@/d", "p@/p", "workspace@/workspace"]);
  });

  test("the default container puts M before the params' mounts", () => {
    const config = testConfig({
      defaultCommandParams: { extraVolumeMounts: [{ name: "d", mountPath: "/d" }] },
    });
    expect(mounts(containerNamed(expand(testJob(), config).podSpec, "container-0"))).toEqual([
      "workspace@/workspace",
      "d@/d",
    ]);
  });
});

describe("sidecars (§2.8)", () => {
  test("sidecar params: controller defaults, then M, then the plugin's", () => {
    const config = testConfig({
      defaultSidecarParams: {
        envFrom: [{ secretRef: { name: "d" } }],
        extraVolumeMounts: [{ name: "d", mountPath: "/d" }],
      },
    });
    const plugin = {
      sidecars: [{ name: "db", image: "postgres:16", command: ["postgres"] }],
      sidecarParams: {
        envFrom: [{ secretRef: { name: "p" } }],
        extraVolumeMounts: [{ name: "p", mountPath: "/p" }],
      },
      gitEnvFrom: [{ secretRef: { name: "git" } }],
    };
    const { podSpec, annotations } = expand(testJob({ plugin }), config);
    const sidecar = containerNamed(podSpec, "db");
    expect(mounts(sidecar)).toEqual(["d@/d", "workspace@/workspace", "p@/p"]);
    expect(sidecar.envFrom?.map((source) => source.secretRef?.name)).toEqual(["d", "p", "git"]);
    expect(sidecar.command).toEqual(["postgres"]);
    expect(annotations["buildkite.com/sidecar-0"]).toBe("db");
  });

  test("sidecars come after the user's init containers", () => {
    const plugin = {
      podSpec: { initContainers: [{ name: "setup", image: "alpine:latest" }], containers: [] },
      sidecars: [{ image: "redis:7" }],
    };
    expect(names(expand(testJob({ plugin })).podSpec.initContainers)).toEqual([
      "copy-agent",
      "setup",
      "sidecar-0",
    ]);
  });
});

describe("agent-config on the agent (§1.5)", () => {
  test("every key, in the table's order, set over the defaults", () => {
    const agentConfig = {
      endpoint: "https://agent.example/v3",
      noHttp2: true,
      experiment: ["a", "b"],
      shell: "/bin/bash -e -c",
      noColor: false,
      strictSingleHooks: true,
      noMultipartArtifactUpload: true,
      traceContextEncoding: "json",
      tracingBackend: "opentelemetry",
      tracingServiceName: "ci",
      tracingPropagateTraceparent: true,
      disableWarningsFor: ["x"],
      debugSigning: true,
      gitSkipFetchExistingCommits: true,
      containerStartTimeout: 90e9,
      hooksPath: "/hooks",
      additionalHooksPaths: ["/more"],
      pluginsPath: "/plugins",
      noPty: true,
      noCommandEval: true,
      noLocalHooks: true,
      noPlugins: false,
      pluginValidation: true,
      verificationFailureBehavior: "block",
    };
    const agent = containerNamed(expand(testJob(), testConfig({ agentConfig })).podSpec, "agent");
    const env = envList(agent);
    expect(env.slice(16)).toEqual([
      "BUILDKITE_AGENT_ENDPOINT=https://agent.example/v3",
      "BUILDKITE_NO_HTTP2=true",
      "BUILDKITE_AGENT_EXPERIMENT=a,b",
      "BUILDKITE_AGENT_NO_COLOR=false",
      "BUILDKITE_STRICT_SINGLE_HOOKS=true",
      "BUILDKITE_NO_MULTIPART_ARTIFACT_UPLOAD=true",
      "BUILDKITE_TRACE_CONTEXT_ENCODING=json",
      "BUILDKITE_TRACING_BACKEND=opentelemetry",
      "BUILDKITE_TRACING_SERVICE_NAME=ci",
      "BUILDKITE_TRACING_PROPAGATE_TRACEPARENT=true",
      "BUILDKITE_AGENT_DISABLE_WARNINGS_FOR=x",
      "BUILDKITE_AGENT_DEBUG_SIGNING=true",
      "BUILDKITE_GIT_SKIP_FETCH_EXISTING_COMMITS=true",
      "BUILDKITE_KUBERNETES_CONTAINER_START_TIMEOUT=1m30s",
      "BUILDKITE_ADDITIONAL_HOOKS_PATHS=/more",
      "BUILDKITE_NO_PTY=true",
      "BUILDKITE_NO_COMMAND_EVAL=true",
      "BUILDKITE_NO_LOCAL_HOOKS=true",
      "BUILDKITE_NO_PLUGINS=false",
      "BUILDKITE_NO_PLUGIN_VALIDATION=false",
      "BUILDKITE_AGENT_JOB_VERIFICATION_NO_SIGNATURE_BEHAVIOR=block",
    ]);
    expect(envValue(agent, "BUILDKITE_SHELL")).toBe("/bin/bash -e -c");
    expect(envValue(agent, "BUILDKITE_HOOKS_PATH")).toBe("/hooks");
    expect(envValue(agent, "BUILDKITE_PLUGINS_PATH")).toBe("/plugins");
    expect(env.indexOf("BUILDKITE_SHELL=/bin/bash -e -c")).toBe(10);
  });

  test("agent-config env never reaches checkout or command containers (HEAD)", () => {
    const { podSpec } = expand(testJob(), testConfig({ agentConfig: { noPty: true, shell: "bash" } }));
    for (const name of ["checkout", "container-0"]) {
      expect(envValue(containerNamed(podSpec, name), "BUILDKITE_NO_PTY"), name).toBeUndefined();
      expect(envValue(containerNamed(podSpec, name), "BUILDKITE_SHELL"), name).toBeUndefined();
    }
  });

  test("hooks and plugins volumes mount at the configured paths", () => {
    const config = testConfig({
      agentConfig: {
        hooksPath: "/h",
        hooksVolume: { name: "hooks", emptyDir: {} },
        pluginsVolume: { name: "plugins", emptyDir: {} },
      },
    });
    const { podSpec } = expand(testJob(), config);
    for (const name of ["agent", "checkout", "container-0"]) {
      expect(mounts(containerNamed(podSpec, name)), name).toEqual(
        expect.arrayContaining(["hooks@/h", "plugins@/workspace/plugins"]),
      );
    }
  });
});

describe("checkout parameters on the agent (§1.3)", () => {
  test("controller defaults, then the plugin's overwrite in place", () => {
    const config = testConfig({
      defaultCheckoutParams: {
        cloneFlags: "--depth=10",
        fetchFlags: "-v",
        noSubmodules: true,
        submoduleCloneConfig: ["a=b", "c=d"],
        gitMirrors: { volume: { name: "mirrors", emptyDir: {} }, lockTimeout: 30, skipUpdate: false },
      },
    });
    const plugin = {
      checkout: {
        cloneFlags: "--depth=1",
        checkoutFlags: "-f",
        cleanFlags: "-ffdx",
        gitMirrors: { path: "/m", cloneFlags: "--bare" },
      },
    };
    const { podSpec } = expand(testJob({ plugin }), config);
    const agentEnv = envList(containerNamed(podSpec, "agent")).slice(16);
    expect(agentEnv).toEqual([
      "BUILDKITE_GIT_CLONE_FLAGS=--depth=1",
      "BUILDKITE_GIT_FETCH_FLAGS=-v",
      "BUILDKITE_NO_GIT_SUBMODULES=true",
      "BUILDKITE_GIT_SUBMODULE_CLONE_CONFIG=a=b,c=d",
      "BUILDKITE_GIT_MIRRORS_PATH=/m",
      "BUILDKITE_GIT_MIRRORS_LOCK_TIMEOUT=30",
      "BUILDKITE_GIT_MIRRORS_SKIP_UPDATE=false",
      "BUILDKITE_GIT_CHECKOUT_FLAGS=-f",
      "BUILDKITE_GIT_CLEAN_FLAGS=-ffdx",
      "BUILDKITE_GIT_CLONE_MIRROR_FLAGS=--bare",
    ]);
    expect(podSpec.volumes?.map((volume) => volume.name)).toEqual(["workspace", "mirrors"]);
    expect(mounts(containerNamed(podSpec, "checkout"))).toContain("mirrors@/buildkite/git-mirrors");
  });

  test("checkout env reaches the agent even when the checkout is skipped", () => {
    const { podSpec } = expand(testJob({ plugin: { checkout: { skip: true, cloneFlags: "--depth=1" } } }));
    expect(envValue(containerNamed(podSpec, "agent"), "BUILDKITE_GIT_CLONE_FLAGS")).toBe("--depth=1");
  });
});

describe("base pod spec (§2.0)", () => {
  test("a podTemplate's spec is the base; its containers are command containers", () => {
    const podTemplates = (name: string) => {
      expect(name).toBe("gpu");
      return {
        nodeSelector: { gpu: "true" },
        containers: [{ name: "cuda", image: "nvidia/cuda:12.4.1-base-ubuntu22.04" }],
      };
    };
    const { podSpec } = expand(testJob({ plugin: { podTemplate: "gpu" } }), testConfig(), { podTemplates });
    expect(podSpec.nodeSelector).toEqual({ gpu: "true" });
    expect(envValue(containerNamed(podSpec, "cuda"), "BUILDKITE_COMMAND")).toBe("echo hello world");
  });

  test("podSpec wins over podTemplate, and no annotation names the template then", () => {
    const result = expand(
      testJob({ plugin: { podTemplate: "x", podSpec: { containers: [{ image: "alpine:latest" }] } } }),
      testConfig(),
      {
        podTemplates: () => {
          throw new Error("must not be fetched");
        },
      },
    );
    expect(result.annotations["buildkite.com/pod-template-name"]).toBeUndefined();
  });

  test("an external Job's own pod spec is the base", () => {
    const { podSpec } = expand(testJob(), testConfig(), {
      ownPodSpec: {
        serviceAccountName: "ci",
        containers: [{ name: "main", image: "node:24", command: ["npm", "test"] }],
      },
    });
    expect(podSpec.serviceAccountName).toBe("ci");
    expect(envValue(containerNamed(podSpec, "main"), "BUILDKITE_COMMAND")).toBe("npm\ntest");
  });

  test("the plugin's podSpec is never modified", () => {
    const podSpec = { containers: [{ image: "alpine:latest", command: ["make"] }] };
    const job = testJob({ plugin: { podSpec } });
    expand(job);
    expect(podSpec).toEqual({ containers: [{ image: "alpine:latest", command: ["make"] }] });
  });
});

test("the agent's tags: the stack's version first, then the rules in order, later duplicates winning", () => {
  const agent = containerNamed(
    expand(testJob({ agentQueryRules: ["queue=a", "os=linux", "queue=b", "junk"] })).podSpec,
    "agent",
  );
  expect(envValue(agent, "BUILDKITE_AGENT_TAGS")).toBe(
    `k8s:agent-stack-version=${TEST_VERSION},queue=b,os=linux`,
  );
});

test("additional redacted vars are appended to the defaults", () => {
  const agent = containerNamed(
    expand(testJob(), testConfig({ additionalRedactedVars: ["*_PAT"] })).podSpec,
    "agent",
  );
  expect(envValue(agent, "BUILDKITE_REDACTED_VARS")?.endsWith(",*_API_KEY,*_PAT")).toBe(true);
});

test("image-check limits come from the configuration", () => {
  const config = testConfig({ imageCheckContainerCpuLimit: "1", imageCheckContainerMemoryLimit: "1Gi" });
  const { podSpec } = expand(
    testJob({ plugin: { podSpec: { containers: [{ image: "alpine:latest" }] } } }),
    config,
  );
  expect(containerNamed(podSpec, "imagecheck-0").resources?.limits).toEqual({ cpu: "1", memory: "1Gi" });
});

test.each([
  ["below the default requests", "50m", "32Mi", { cpu: "50m", memory: "32Mi" }],
  ["above them", "1", "1Gi", { cpu: "100m", memory: "64Mi" }],
  ["written another way", "0.05", "60M", { cpu: "0.05", memory: "60M" }],
])("image-check requests never exceed their limits: limits %s", (_name, cpu, memory, requests) => {
  const config = testConfig({ imageCheckContainerCpuLimit: cpu, imageCheckContainerMemoryLimit: memory });
  const job = renderJob(
    testJob({ plugin: { podSpec: { containers: [{ image: "alpine:latest" }] } } }),
    config,
  );
  const check = (job.spec?.template.spec?.initContainers ?? []).find((c) => c.name === "imagecheck-0");
  expect(check?.resources).toEqual({ requests, limits: { cpu, memory } });
  expectValidJob(job);
});

test("skip-image-check-containers keeps the pull-policy rewriting but adds no checks", () => {
  const config = testConfig({ skipImageCheckContainers: true });
  const { podSpec } = expand(
    testJob({ plugin: { podSpec: { containers: [{ image: "alpine:latest" }] } } }),
    config,
  );
  expect(names(podSpec.initContainers)).toEqual(["copy-agent"]);
  expect(containerNamed(podSpec, "container-0").imagePullPolicy).toBe("IfNotPresent");
});

test("image checks are numbered in order of first appearance", () => {
  const plugin = {
    podSpec: {
      containers: [{ image: "b:1" }, { image: "a:1" }, { image: "b:1" }, { image: "c:1" }],
    },
  };
  const checks = (expand(testJob({ plugin })).podSpec.initContainers ?? []).filter((c) =>
    c.name.startsWith("imagecheck-"),
  );
  expect(checks.map((c) => `${c.name}=${c.image}`)).toEqual([
    "imagecheck-0=b:1",
    "imagecheck-1=a:1",
    "imagecheck-2=c:1",
  ]);
});

test("a user init container that pulls an image at least as eagerly culls its check", () => {
  const plugin = {
    podSpec: {
      initContainers: [{ name: "warm", image: "alpine:latest", imagePullPolicy: "Always" }],
      containers: [{ image: "alpine:latest" }],
    },
  };
  const { podSpec } = expand(testJob({ plugin }));
  expect(names(podSpec.initContainers)).toEqual(["copy-agent", "warm"]);
});
