/**
 * The worked examples of podspec-expansion.md §8, at HEAD semantics (the v0.26.0 variants are the
 * baseline bugs we deliberately do not reproduce; docs/upstream-differences.md).
 */
import { describe, expect, test } from "vitest";
import {
  containerNamed,
  envList,
  envValue,
  expand,
  mounts,
  names,
  TEST_VERSION,
  testConfig,
  testJob,
} from "../support/fixtures.ts";

const UUID = "0195a2b0-0000-4000-8000-000000000001";
const CMD_ENTRY = {
  command: ["/workspace/tini-static"],
  args: ["--", "/workspace/buildkite-agent", "kubernetes-bootstrap"],
};
const M = [{ name: "workspace", mountPath: "/workspace" }];
const COPY_AGENT_SCRIPT =
  "\nmkdir /workspace/build /workspace/plugins /workspace/sockets\n" +
  "chmod 777 /workspace/build /workspace/plugins /workspace/sockets\n" +
  "cp /usr/local/bin/buildkite-agent /workspace\n" +
  "# Copy tini-static from wherever it exists\n" +
  "# Alpine: /sbin/tini-static, Ubuntu/Debian: /usr/bin/tini-static\n" +
  "if [ -f /sbin/tini-static ]; then\n" +
  "    cp /sbin/tini-static /workspace/tini-static\n" +
  "elif [ -f /usr/bin/tini-static ]; then\n" +
  "    cp /usr/bin/tini-static /workspace/tini-static\n" +
  "else\n" +
  '    echo "Error: No tini-static binary found" >&2\n' +
  "    exit 1\n" +
  "fi\n";

describe("E1: a plain step with no plugin", () => {
  const job = testJob({
    uuid: UUID,
    command: "echo hello world",
    env: {
      BUILDKITE_BUILD_URL: "https://buildkite.com/acme/app/builds/7",
      BUILDKITE_BRANCH: "main",
      BUILDKITE_REPO: "https://github.com/acme/app.git",
      BUILDKITE_PIPELINE_SLUG: "app",
    },
    agentQueryRules: ["queue=kubernetes"],
  });
  const result = expand(job);

  test("labels and annotations", () => {
    expect(result.labels).toEqual({
      "buildkite.com/job-uuid": UUID,
      "tag.buildkite.com/queue": "kubernetes",
    });
    expect(result.annotations).toEqual({
      "cluster-autoscaler.kubernetes.io/safe-to-evict": "false",
      "buildkite.com/build-url": "https://buildkite.com/acme/app/builds/7",
      "buildkite.com/build-branch": "main",
      "buildkite.com/build-repo": "https://github.com/acme/app.git",
      "buildkite.com/pipeline-slug": "app",
      "buildkite.com/step-key": "",
      "buildkite.com/job-url": `https://buildkite.com/acme/app/builds/7#${UUID}`,
      "buildkite.com/job-priority": "0",
    });
  });

  test("job spec scalars", () => {
    expect(result.spec).toEqual({
      backoffLimit: 0,
      ttlSecondsAfterFinished: 600,
      activeDeadlineSeconds: 21600,
    });
  });

  test("the whole pod spec", () => {
    expect(result.podSpec).toEqual({
      terminationGracePeriodSeconds: 60,
      restartPolicy: "Never",
      volumes: [{ name: "workspace", emptyDir: {} }],
      initContainers: [
        {
          name: "copy-agent",
          image: "buildkite/agent:latest",
          imagePullPolicy: "Always",
          command: ["/bin/sh"],
          args: ["-cefx", COPY_AGENT_SCRIPT],
          volumeMounts: M,
        },
      ],
      containers: [
        {
          name: "container-0",
          image: "buildkite/agent:latest",
          imagePullPolicy: "IfNotPresent",
          ...CMD_ENTRY,
          workingDir: "/workspace",
          env: [
            { name: "BUILDKITE_BOOTSTRAP_PHASES", value: "plugin,command" },
            { name: "BUILDKITE_COMMAND", value: "echo hello world" },
            { name: "BUILDKITE_CONTAINER_ID", value: "1" },
            { name: "BUILDKITE_SOCKETS_PATH", value: "/workspace/sockets/container-0" },
          ],
          volumeMounts: M,
        },
        {
          name: "agent",
          image: "buildkite/agent:latest",
          imagePullPolicy: "IfNotPresent",
          args: ["start"],
          workingDir: "/workspace",
          env: [
            { name: "BUILDKITE_KUBERNETES_EXEC", value: "true" },
            { name: "BUILDKITE_CONTAINER_COUNT", value: "2" },
            {
              name: "BUILDKITE_AGENT_TAGS",
              value: `k8s:agent-stack-version=${TEST_VERSION},queue=kubernetes`,
            },
            { name: "BUILDKITE_K8S_NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
            { name: "BUILDKITE_K8S_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
            {
              name: "BUILDKITE_K8S_SERVICE_ACCOUNT",
              valueFrom: { fieldRef: { fieldPath: "spec.serviceAccountName" } },
            },
            { name: "BUILDKITE_BUILD_PATH", value: "/workspace/build" },
            { name: "BUILDKITE_HOOKS_PATH", value: "/workspace/hooks" },
            { name: "BUILDKITE_PLUGINS_PATH", value: "/workspace/plugins" },
            { name: "BUILDKITE_SOCKETS_PATH", value: "/workspace/sockets/agent" },
            { name: "BUILDKITE_SHELL", value: "/bin/sh -ec" },
            {
              name: "BUILDKITE_AGENT_TOKEN",
              valueFrom: { secretKeyRef: { name: "buildkite-agent-token", key: "BUILDKITE_AGENT_TOKEN" } },
            },
            { name: "BUILDKITE_AGENT_ACQUIRE_JOB", value: UUID },
            {
              name: "BUILDKITE_REDACTED_VARS",
              value:
                "*_PASSWORD,*_SECRET,*_TOKEN,*_PRIVATE_KEY,*_SSH_KEY,*_ACCESS_KEY,*_SECRET_KEY,*_CONNECTION_STRING,*_API_KEY",
            },
            { name: "BUILDKITE_CANCEL_GRACE_PERIOD", value: "60" },
            { name: "BUILDKITE_SIGNAL_GRACE_PERIOD_SECONDS", value: "50" },
          ],
          volumeMounts: M,
        },
        {
          name: "checkout",
          image: "buildkite/agent:latest",
          imagePullPolicy: "IfNotPresent",
          command: ["/bin/sh", "-c"],
          args: ["set -exuf\ntrue\nbuildkite-agent-entrypoint kubernetes-bootstrap"],
          workingDir: "/workspace",
          env: [
            { name: "BUILDKITE_BOOTSTRAP_PHASES", value: "plugin,checkout" },
            { name: "BUILDKITE_CONTAINER_ID", value: "0" },
            { name: "BUILDKITE_SOCKETS_PATH", value: "/workspace/sockets/checkout" },
          ],
          volumeMounts: M,
        },
      ],
    });
  });

  test("no BUILDKITE_PLUGINS anywhere and no warnings", () => {
    const all = [...result.podSpec.containers, ...(result.podSpec.initContainers ?? [])];
    expect(
      all.flatMap((container) => envList(container)).some((entry) => entry.startsWith("BUILDKITE_PLUGINS=")),
    ).toBe(false);
    expect(result.warnings).toEqual([]);
  });
});

describe("E3: plugin podSpec, gitEnvFrom and another plugin", () => {
  const job = testJob({
    uuid: "abc",
    plugin: {
      podSpec: {
        containers: [
          {
            image: "alpine:latest",
            command: ["hello world a=b=c"],
            envFrom: [{ configMapRef: { name: "some-configmap" } }],
          },
        ],
      },
      gitEnvFrom: [{ secretRef: { name: "git-secret" } }],
    },
    otherPlugins: [{ "github.com/buildkite-plugins/some-other-buildkite-plugin": { foo: "bar" } }],
  });
  const { podSpec, labels } = expand(job, testConfig({ agentTokenSecret: "token-secret" }));

  test("three containers, command container from the podSpec", () => {
    expect(names(podSpec.containers)).toEqual(["container-0", "agent", "checkout"]);
    const container = containerNamed(podSpec, "container-0");
    expect(container).toMatchObject({
      ...CMD_ENTRY,
      image: "alpine:latest",
      imagePullPolicy: "IfNotPresent",
    });
    expect(envValue(container, "BUILDKITE_COMMAND")).toBe("hello world a=b=c");
    expect(container.envFrom).toEqual([
      { configMapRef: { name: "some-configmap" } },
      { secretRef: { name: "git-secret" } },
    ]);
  });

  test("the agent token comes from the configured secret", () => {
    const token = containerNamed(podSpec, "agent").env?.find(
      (entry) => entry.name === "BUILDKITE_AGENT_TOKEN",
    );
    expect(token?.valueFrom?.secretKeyRef?.name).toBe("token-secret");
  });

  test("checkout gets gitEnvFrom, the tag label is set, alpine is image-checked", () => {
    expect(containerNamed(podSpec, "checkout").envFrom).toEqual([{ secretRef: { name: "git-secret" } }]);
    expect(labels["tag.buildkite.com/queue"]).toBe("kubernetes");
    expect(names(podSpec.initContainers)).toEqual(["copy-agent", "imagecheck-0"]);
    expect(containerNamed(podSpec, "imagecheck-0")).toEqual({
      name: "imagecheck-0",
      image: "alpine:latest",
      imagePullPolicy: "Always",
      command: ["/workspace/tini-static"],
      args: ["--version"],
      volumeMounts: M,
      resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
    });
  });

  test("other plugins are not copied into the pod (HEAD)", () => {
    const all = [...podSpec.containers, ...(podSpec.initContainers ?? [])];
    expect(all.some((container) => envValue(container, "BUILDKITE_PLUGINS") !== undefined)).toBe(false);
  });
});

test("E4: the agent learns its node, namespace and service account from field refs", () => {
  const agent = containerNamed(expand(testJob()).podSpec, "agent");
  const refs = Object.fromEntries(
    (agent.env ?? [])
      .filter((entry) => entry.valueFrom?.fieldRef)
      .map((entry) => [entry.name, entry.valueFrom?.fieldRef?.fieldPath]),
  );
  expect(refs).toEqual({
    BUILDKITE_K8S_NODE: "spec.nodeName",
    BUILDKITE_K8S_NAMESPACE: "metadata.namespace",
    BUILDKITE_K8S_SERVICE_ACCOUNT: "spec.serviceAccountName",
  });
});

describe("E5: controller patch and plugin patch", () => {
  const config = testConfig({
    id: "controller-1",
    namespace: "buildkite",
    agentTokenSecret: "bkcq_1234567890",
    podSpecPatch: { containers: [{ name: "checkout", envFrom: [{ secretRef: { name: "git-ssh-key" } }] }] },
  });
  const job = testJob({
    plugin: { podSpecPatch: { containers: [{ name: "container-0", image: "alpine:latest" }] } },
  });
  const { podSpec, labels } = expand(job, config);

  test("both patches apply; images introduced by a patch are not image-checked", () => {
    expect(names(podSpec.containers)).toEqual(["container-0", "agent", "checkout"]);
    expect(labels["buildkite.com/controller-id"]).toBe("controller-1");
    expect(containerNamed(podSpec, "container-0")).toMatchObject({
      image: "alpine:latest",
      imagePullPolicy: "IfNotPresent",
    });
    expect(names(podSpec.initContainers)).toEqual(["copy-agent"]);
    expect(containerNamed(podSpec, "checkout").envFrom).toEqual([{ secretRef: { name: "git-ssh-key" } }]);
  });
});

describe("E6: protected and overridable annotations", () => {
  test("a step cannot forge a buildkite.com annotation", () => {
    const job = testJob({
      env: { BUILDKITE_STEP_KEY: "trusted-step" },
      plugin: { metadata: { annotations: { "buildkite.com/step-key": "forged-step" } } },
    });
    expect(expand(job).annotations["buildkite.com/step-key"]).toBe("trusted-step");
  });

  test.each([
    [
      "controller default-metadata",
      testConfig({
        defaultMetadata: { annotations: { "cluster-autoscaler.kubernetes.io/safe-to-evict": "true" } },
      }),
      undefined,
    ],
    [
      "plugin metadata",
      testConfig(),
      { metadata: { annotations: { "cluster-autoscaler.kubernetes.io/safe-to-evict": "true" } } },
    ],
  ])("safe-to-evict can be overridden by %s", (_name, config, plugin) => {
    expect(
      expand(testJob({ plugin }), config).annotations["cluster-autoscaler.kubernetes.io/safe-to-evict"],
    ).toBe("true");
  });

  test("a podTemplate step names its template in an annotation", () => {
    const result = expand(testJob({ plugin: { podTemplate: "my-pod-template" } }), testConfig(), {
      podTemplates: () => ({ containers: [{ name: "main", image: "alpine:3.20" }] }),
    });
    expect(result.annotations["buildkite.com/pod-template-name"]).toBe("my-pod-template");
    expect(expand(testJob()).annotations["buildkite.com/pod-template-name"]).toBeUndefined();
  });
});

test("E7: workspace-mount-sub-path-expr reaches every workspace mount", () => {
  const job = testJob({ plugin: { podSpec: { containers: [{ image: "alpine:latest" }] } } });
  const { podSpec } = expand(job, testConfig({ workspaceMountSubPathExpr: "$(POD_NAME)" }));
  const all = [...podSpec.containers, ...(podSpec.initContainers ?? [])];
  expect(names(all)).toEqual(["container-0", "agent", "checkout", "copy-agent", "imagecheck-0"]);
  for (const container of all) {
    const workspace = container.volumeMounts?.find((mount) => mount.mountPath === "/workspace");
    expect(workspace, container.name).toEqual({
      name: "workspace",
      mountPath: "/workspace",
      subPathExpr: "$(POD_NAME)",
    });
  }
  const unset = expand(job).podSpec;
  const anySubPath = [...unset.containers, ...(unset.initContainers ?? [])].some((container) =>
    container.volumeMounts?.some((mount) => mount.subPathExpr !== undefined),
  );
  expect(anySubPath).toBe(false);
});

describe("E8: checkout skipping", () => {
  test("plugin checkout.skip leaves two containers and renumbers", () => {
    const config = testConfig({ defaultCheckoutParams: { gitCredentialsSecret: { secretName: "creds" } } });
    const { podSpec } = expand(testJob({ plugin: { checkout: { skip: true } } }), config);
    expect(names(podSpec.containers)).toEqual(["container-0", "agent"]);
    expect(containerNamed(podSpec, "container-0").image).toBe("buildkite/agent:latest");
    expect(envValue(containerNamed(podSpec, "container-0"), "BUILDKITE_CONTAINER_ID")).toBe("0");
    expect(envValue(containerNamed(podSpec, "agent"), "BUILDKITE_CONTAINER_COUNT")).toBe("1");
    expect(podSpec.volumes?.map((volume) => volume.name)).toEqual(["workspace"]);
  });

  test("the plugin's skip: false beats the controller's skip: true", () => {
    const config = testConfig({ defaultCheckoutParams: { skip: true } });
    const { podSpec } = expand(testJob({ plugin: { checkout: { skip: false } } }), config);
    expect(names(podSpec.containers)).toContain("checkout");
  });

  test("an empty checkout object keeps the checkout and sets no submodule config", () => {
    const { podSpec } = expand(testJob({ plugin: { checkout: {} } }));
    expect(names(podSpec.containers)).toContain("checkout");
    const all = [...podSpec.containers, ...(podSpec.initContainers ?? [])];
    expect(all.some((c) => envValue(c, "BUILDKITE_GIT_SUBMODULE_CLONE_CONFIG") !== undefined)).toBe(false);
  });
});

describe("E9: git credentials and checkout params", () => {
  const params = {
    gitCredentialsSecret: { secretName: "bluh" },
    envFrom: [{ secretRef: { name: "some-secret-env" } }],
    extraVolumeMounts: [{ name: "extra-volume-something" }],
  };
  const expectCredentials = (podSpec: ReturnType<typeof expand>["podSpec"]) => {
    expect(podSpec.volumes).toEqual([
      { name: "workspace", emptyDir: {} },
      { name: "git-credentials-ro", secret: { secretName: "bluh" } },
      { name: "git-credentials", emptyDir: { medium: "Memory" } },
    ]);
    const checkout = containerNamed(podSpec, "checkout");
    expect(checkout.volumeMounts).toEqual([
      { name: "workspace", mountPath: "/workspace" },
      { name: "extra-volume-something" },
      { name: "git-credentials-ro", mountPath: "/buildkite/git-credentials-ro" },
      { name: "git-credentials", mountPath: "/buildkite/git-credentials" },
    ]);
    expect(checkout.envFrom).toEqual([{ secretRef: { name: "some-secret-env" } }]);
    expect(checkout.args).toEqual([
      "set -exuf\ncp /buildkite/git-credentials-ro/.git-credentials /buildkite/git-credentials && git config --global credential.helper 'store --file /buildkite/git-credentials/.git-credentials'\nbuildkite-agent-entrypoint kubernetes-bootstrap",
    ]);
  };

  test("from default-checkout-params", () => {
    expectCredentials(expand(testJob(), testConfig({ defaultCheckoutParams: params as never })).podSpec);
  });

  test("from the plugin's checkout", () => {
    expectCredentials(expand(testJob({ plugin: { checkout: params } })).podSpec);
  });
});

describe("E10: a non-root pod", () => {
  const podSpec = (securityContext: Record<string, unknown>) =>
    expand(
      testJob({
        plugin: {
          commandParams: { interposer: "vector" },
          podSpec: {
            securityContext,
            containers: [
              { image: "alpine:latest", command: ["pwd"] },
              { image: "alpine:latest", command: ["ls"], args: ["-halt"] },
              { image: "alpine:latest", command: ["sh", "-c"], args: ["echo 'some contents' > some-file"] },
            ],
          },
        },
      }),
    ).podSpec;
  const spec = podSpec({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1001 });
  const root = { runAsUser: 0, runAsGroup: 0, runAsNonRoot: false };

  test("commands through the vector interposer, numbered after checkout", () => {
    const command = (name: string) => envValue(containerNamed(spec, name), "BUILDKITE_COMMAND");
    const id = (name: string) => envValue(containerNamed(spec, name), "BUILDKITE_CONTAINER_ID");
    expect([command("container-0"), id("container-0")]).toEqual(["pwd", "1"]);
    expect([command("container-1"), id("container-1")]).toEqual(["ls -halt", "2"]);
    expect([command("container-2"), id("container-2")]).toEqual([
      "sh -c 'echo '\\''some contents'\\'' > some-file'",
      "3",
    ]);
    expect(envValue(containerNamed(spec, "agent"), "BUILDKITE_CONTAINER_COUNT")).toBe("4");
    expect(names(spec.initContainers)).toEqual(["copy-agent", "imagecheck-0"]);
    expect(containerNamed(spec, "imagecheck-0")).toMatchObject({
      image: "alpine:latest",
      imagePullPolicy: "Always",
    });
  });

  test("copy-agent and checkout run as root to hand the workspace to the user", () => {
    const copyAgent = containerNamed(spec, "copy-agent");
    expect(copyAgent.securityContext).toEqual(root);
    expect(copyAgent.args?.[1]).toBe(`chown -R 1000:1001 /workspace\n${COPY_AGENT_SCRIPT}`);
    const checkout = containerNamed(spec, "checkout");
    expect(checkout.securityContext).toEqual(root);
    expect(checkout.args).toEqual([
      'set -exuf\n# Portable user/group creation\nif command -v adduser >/dev/null 2>&1 && adduser --help 2>&1 | grep -q BusyBox; then\n    addgroup -g 1001 buildkite-agent 2>/dev/null || true\n    adduser -D -u 1000 -G buildkite-agent -h /workspace buildkite-agent\nelif command -v useradd >/dev/null 2>&1; then\n    groupadd -g 1001 buildkite-agent 2>/dev/null || true\n    useradd -M -u 1000 -g buildkite-agent -d /workspace -s /bin/sh buildkite-agent\nelse\n    echo "Error: No supported user creation tool found" >&2\n    exit 1\nfi\n\nsu buildkite-agent -c "true && buildkite-agent-entrypoint kubernetes-bootstrap"',
    ]);
  });

  test("without runAsGroup the user joins root's group", () => {
    const noGroup = podSpec({ runAsUser: 1000 });
    expect(containerNamed(noGroup, "copy-agent").args?.[1]).toBe(
      `chown -R 1000 /workspace\n${COPY_AGENT_SCRIPT}`,
    );
    const script = containerNamed(noGroup, "checkout").args?.[0] ?? "";
    expect(script).not.toContain("addgroup");
    expect(script).not.toContain("groupadd");
    expect(script).toContain("adduser -D -u 1000 -G root -h /workspace buildkite-agent");
    expect(script).toContain("useradd -M -u 1000 -g root -d /workspace -s /bin/sh buildkite-agent");
  });

  test("a root pod has no security context on copy-agent or checkout", () => {
    const rootSpec = expand(testJob()).podSpec;
    expect(containerNamed(rootSpec, "copy-agent").securityContext).toBeUndefined();
    expect(containerNamed(rootSpec, "checkout").securityContext).toBeUndefined();
  });
});

test("E11: sidecars are native sidecars, annotated, not image-checked", () => {
  const job = testJob({
    command: "curl localhost:80",
    env: { BUILDKITE_IMAGE: "curlimages/curl:latest" },
    plugin: { sidecars: [{ image: "nginx:latest" }] },
  });
  const { podSpec, annotations } = expand(job);
  expect(names(podSpec.containers)).toEqual(["container-0", "agent", "checkout"]);
  expect(containerNamed(podSpec, "container-0")).toMatchObject({
    image: "curlimages/curl:latest",
    imagePullPolicy: "IfNotPresent",
  });
  expect(envValue(containerNamed(podSpec, "container-0"), "BUILDKITE_COMMAND")).toBe("curl localhost:80");
  expect(names(podSpec.initContainers)).toEqual(["copy-agent", "sidecar-0"]);
  expect(containerNamed(podSpec, "sidecar-0")).toEqual({
    name: "sidecar-0",
    image: "nginx:latest",
    restartPolicy: "Always",
    volumeMounts: M,
  });
  expect(annotations["buildkite.com/sidecar-0"]).toBe("sidecar-0");
  expect(envValue(containerNamed(podSpec, "agent"), "BUILDKITE_CONTAINER_COUNT")).toBe("2");
});

describe("E12: image attribute precedence", () => {
  test("the plugin's patch beats the step's image", () => {
    const job = testJob({
      env: { BUILDKITE_IMAGE: "x-image:job" },
      plugin: { podSpecPatch: { containers: [{ name: "container-0", image: "x-image:plugin" }] } },
    });
    expect(containerNamed(expand(job).podSpec, "container-0").image).toBe("x-image:plugin");
  });

  test("the step's image beats the controller's patch", () => {
    const config = testConfig({
      podSpecPatch: { containers: [{ name: "container-0", image: "alpine:controller" }] },
    });
    const job = testJob({ env: { BUILDKITE_IMAGE: "x-image:job" } });
    expect(containerNamed(expand(job, config).podSpec, "container-0").image).toBe("x-image:job");
  });
});

describe("E13: pull policies", () => {
  const X = "golang:1.23.5";
  const D = "golang:1.23.5@sha256:8c10f21bec412f08f73aa7b97ca5ac5f28a39d8a88030ad8a339fd0a781d72b4";
  type Row = [
    pull: string,
    check: string,
    image: string | undefined,
    policy: string | undefined,
    checks: string[],
    c0: string,
    agent: string,
    checkout: string,
    copy: string,
  ];
  const rows: Row[] = [
    ["", "", undefined, undefined, [], "IfNotPresent", "IfNotPresent", "IfNotPresent", "Always"],
    ["", "", X, undefined, [`${X}:Always`], "IfNotPresent", "IfNotPresent", "IfNotPresent", "Always"],
    ["", "", D, undefined, [`${D}:IfNotPresent`], "IfNotPresent", "IfNotPresent", "IfNotPresent", "Always"],
    ["", "", X, "Always", [`${X}:Always`], "IfNotPresent", "IfNotPresent", "IfNotPresent", "Always"],
    ["Always", "", undefined, undefined, [], "IfNotPresent", "IfNotPresent", "IfNotPresent", "Always"],
    ["", "Always", D, undefined, [`${D}:Always`], "IfNotPresent", "IfNotPresent", "IfNotPresent", "Always"],
    [
      "IfNotPresent",
      "",
      undefined,
      undefined,
      [],
      "IfNotPresent",
      "IfNotPresent",
      "IfNotPresent",
      "IfNotPresent",
    ],
    ["", "IfNotPresent", undefined, undefined, [], "Always", "IfNotPresent", "IfNotPresent", "Always"],
    [
      "",
      "IfNotPresent",
      X,
      undefined,
      [`${X}:IfNotPresent`],
      "Always",
      "IfNotPresent",
      "IfNotPresent",
      "Always",
    ],
    [
      "",
      "IfNotPresent",
      D,
      undefined,
      [`${D}:IfNotPresent`],
      "IfNotPresent",
      "IfNotPresent",
      "IfNotPresent",
      "Always",
    ],
    ["", "", X, "Never", [`${X}:Never`], "Never", "IfNotPresent", "IfNotPresent", "Always"],
    ["Never", "", undefined, undefined, [], "Never", "Never", "Never", "Never"],
    ["Never", "", X, undefined, [`${X}:Never`], "Never", "Never", "Never", "Never"],
    ["", "Never", undefined, undefined, [], "Always", "IfNotPresent", "IfNotPresent", "Always"],
    ["", "Never", D, undefined, [`${D}:Never`], "IfNotPresent", "IfNotPresent", "IfNotPresent", "Always"],
  ];
  test.each(rows)(
    "pull %j, check %j, image %j with policy %j",
    (pull, check, image, policy, checks, c0, agent, checkout, copy) => {
      const container: Record<string, string> = { name: "container-0" };
      if (image) container.image = image;
      if (policy) container.imagePullPolicy = policy;
      const job = testJob({ plugin: image ? { podSpec: { containers: [container] } } : undefined });
      const config = testConfig({
        image: "buildkite/agent:3.92.1",
        defaultImagePullPolicy: pull as never,
        defaultImageCheckPullPolicy: check as never,
      });
      const { podSpec } = expand(job, config);
      const policyOf = (name: string) => containerNamed(podSpec, name).imagePullPolicy;
      const imageChecks = (podSpec.initContainers ?? [])
        .filter((init) => init.name.startsWith("imagecheck-"))
        .map((init) => `${init.image}:${init.imagePullPolicy}`);
      expect(imageChecks).toEqual(checks);
      expect([
        policyOf("container-0"),
        policyOf("agent"),
        policyOf("checkout"),
        policyOf("copy-agent"),
      ]).toEqual([c0, agent, checkout, copy]);
    },
  );
});

describe("E14: additional hooks", () => {
  const hook = { path: "/buildkite/additional-hooks", volume: { name: "additional-hooks", emptyDir: {} } };
  const agentEnv = (agentConfig: Record<string, unknown> | undefined) =>
    expand(testJob(), testConfig({ agentConfig: agentConfig as never })).podSpec;

  test("paths only: env, no volume", () => {
    const spec = agentEnv({ additionalHooksPaths: ["/image/hooks", "/image/more-hooks"] });
    expect(envValue(containerNamed(spec, "agent"), "BUILDKITE_ADDITIONAL_HOOKS_PATHS")).toBe(
      "/image/hooks,/image/more-hooks",
    );
    expect(spec.volumes?.map((volume) => volume.name)).toEqual(["workspace"]);
  });

  test("a hook volume is mounted in agent, checkout and command containers", () => {
    const spec = agentEnv({ additionalHooks: [hook] });
    expect(spec.volumes?.map((volume) => volume.name)).toEqual(["workspace", "additional-hooks"]);
    for (const name of ["agent", "checkout", "container-0"]) {
      expect(mounts(containerNamed(spec, name)), name).toContain(
        "additional-hooks@/buildkite/additional-hooks",
      );
    }
    expect(envValue(containerNamed(spec, "agent"), "BUILDKITE_ADDITIONAL_HOOKS_PATHS")).toBe(
      "/buildkite/additional-hooks",
    );
  });

  test("both: paths first, then hook paths", () => {
    const spec = agentEnv({ additionalHooksPaths: ["/image/hooks"], additionalHooks: [hook] });
    expect(envValue(containerNamed(spec, "agent"), "BUILDKITE_ADDITIONAL_HOOKS_PATHS")).toBe(
      "/image/hooks,/buildkite/additional-hooks",
    );
  });

  test.each([[undefined], [{}]])("agent-config %j: no env, no volume", (agentConfig) => {
    const spec = agentEnv(agentConfig);
    expect(envValue(containerNamed(spec, "agent"), "BUILDKITE_ADDITIONAL_HOOKS_PATHS")).toBeUndefined();
    expect(spec.volumes?.map((volume) => volume.name)).toEqual(["workspace"]);
  });
});

describe("E15: pipeline signing", () => {
  const verification = { name: "verification-key-volume", secret: { secretName: "verify" } };
  const signing = { name: "signing-key-volume", secret: { secretName: "sign" } };
  const spec = (agentConfig: Record<string, unknown> | undefined) =>
    expand(testJob(), testConfig({ agentConfig: agentConfig as never })).podSpec;
  const agentValue = (podSpec: ReturnType<typeof spec>, name: string) =>
    envValue(containerNamed(podSpec, "agent"), name);

  test("no agent-config: nothing, not even the warn behaviour", () => {
    const podSpec = spec(undefined);
    expect(agentValue(podSpec, "BUILDKITE_AGENT_SIGNING_JWKS_FILE")).toBeUndefined();
    expect(agentValue(podSpec, "BUILDKITE_AGENT_VERIFICATION_JWKS_FILE")).toBeUndefined();
    expect(agentValue(podSpec, "BUILDKITE_AGENT_JOB_VERIFICATION_NO_SIGNATURE_BEHAVIOR")).toBeUndefined();
  });

  test("an empty agent-config warns about unsigned jobs", () => {
    expect(agentValue(spec({}), "BUILDKITE_AGENT_JOB_VERIFICATION_NO_SIGNATURE_BEHAVIOR")).toBe("warn");
  });

  test("an absolute verification file is mounted at its directory", () => {
    const podSpec = spec({
      verificationJwksFile: "/path/to/verification.jwks",
      verificationJWKSVolume: verification,
    });
    expect(podSpec.volumes?.map((volume) => volume.name)).toEqual(["workspace", "verification-key-volume"]);
    expect(agentValue(podSpec, "BUILDKITE_AGENT_VERIFICATION_JWKS_FILE")).toBe("/path/to/verification.jwks");
    expect(mounts(containerNamed(podSpec, "agent"))).toContain("verification-key-volume@/path/to");
    expect(mounts(containerNamed(podSpec, "container-0"))).not.toContain("verification-key-volume@/path/to");
    expect(agentValue(podSpec, "BUILDKITE_AGENT_JOB_VERIFICATION_NO_SIGNATURE_BEHAVIOR")).toBeUndefined();
  });

  test("a signing file is mounted on the agent and the command containers", () => {
    const podSpec = spec({ signingJwksFile: "/path/to/signing.jwks", signingJWKSVolume: signing });
    expect(agentValue(podSpec, "BUILDKITE_AGENT_SIGNING_JWKS_FILE")).toBe("/path/to/signing.jwks");
    expect(mounts(containerNamed(podSpec, "agent"))).toContain("signing-key-volume@/path/to");
    expect(mounts(containerNamed(podSpec, "container-0"))).toContain("signing-key-volume@/path/to");
    expect(mounts(containerNamed(podSpec, "checkout"))).not.toContain("signing-key-volume@/path/to");
  });

  test("volumes without files use the default key paths", () => {
    const podSpec = spec({ signingJWKSVolume: signing, verificationJWKSVolume: verification });
    expect(podSpec.volumes?.map((volume) => volume.name)).toEqual([
      "workspace",
      "signing-key-volume",
      "verification-key-volume",
    ]);
    expect(agentValue(podSpec, "BUILDKITE_AGENT_SIGNING_JWKS_FILE")).toBe("/buildkite/signing-jwks/key");
    expect(agentValue(podSpec, "BUILDKITE_AGENT_VERIFICATION_JWKS_FILE")).toBe(
      "/buildkite/verification-jwks/key",
    );
    expect(mounts(containerNamed(podSpec, "agent"))).toEqual([
      "workspace@/workspace",
      "signing-key-volume@/buildkite/signing-jwks",
      "verification-key-volume@/buildkite/verification-jwks",
    ]);
    expect(mounts(containerNamed(podSpec, "container-0"))).toEqual([
      "workspace@/workspace",
      "signing-key-volume@/buildkite/signing-jwks",
    ]);
  });

  test("relative file names are joined to the default directories", () => {
    const podSpec = spec({
      signingJwksFile: "my-special-key",
      signingJWKSVolume: signing,
      verificationJwksFile: "my-awesome-key",
      verificationJWKSVolume: verification,
    });
    expect(agentValue(podSpec, "BUILDKITE_AGENT_SIGNING_JWKS_FILE")).toBe(
      "/buildkite/signing-jwks/my-special-key",
    );
    expect(agentValue(podSpec, "BUILDKITE_AGENT_VERIFICATION_JWKS_FILE")).toBe(
      "/buildkite/verification-jwks/my-awesome-key",
    );
  });
});

describe("E16: resource classes", () => {
  const classes = {
    small: {
      resource: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "200m", memory: "256Mi" } },
    },
    large: { resource: { requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "2", memory: "2Gi" } } },
  };
  const run = (rules: string[], defaultName: string, resourceClasses: typeof classes | undefined) =>
    expand(
      testJob({ agentQueryRules: rules }),
      testConfig({ resourceClasses, defaultResourceClassName: defaultName }),
    ).podSpec;

  test.each([
    [["queue=test"], "", undefined],
    [["queue=test", "resource_class=large"], "", classes.large.resource],
    [["queue=test"], "small", classes.small.resource],
    [["queue=test", "resource_class=large"], "small", classes.large.resource],
  ])("rules %j with default %j", (rules, defaultName, expected) => {
    const podSpec = run(rules, defaultName, classes);
    expect(containerNamed(podSpec, "container-0").resources).toEqual(expected);
    expect(containerNamed(podSpec, "agent").resources).toBeUndefined();
    expect(containerNamed(podSpec, "checkout").resources).toBeUndefined();
  });

  test.each([
    [
      ["resource_class=small"],
      "",
      undefined,
      "resource classes not configured but resource_class tag specified",
    ],
    [
      ["queue=test"],
      "small",
      undefined,
      "resource classes not configured but default-resource-class-name is set",
    ],
    [["resource_class=nonexistent"], "", classes, "resource class not found: nonexistent"],
    [["queue=test"], "nonexistent", classes, "default resource class not found: nonexistent"],
  ])("rules %j with default %j fail", (rules, defaultName, resourceClasses, message) => {
    expect(() => run(rules, defaultName, resourceClasses)).toThrow(message);
  });

  test("a class with a node selector and a partial resource", () => {
    const podSpec = expand(
      testJob({ agentQueryRules: ["queue=test", "resource_class=xl"] }),
      testConfig({
        resourceClasses: {
          xl: { resource: { requests: { cpu: "500m" } }, nodeSelector: { "instance-type": "xlarge" } },
        },
      }),
    ).podSpec;
    expect(podSpec.nodeSelector).toEqual({ "instance-type": "xlarge" });
    expect(containerNamed(podSpec, "container-0").resources).toEqual({
      requests: { cpu: "500m" },
      limits: {},
    });
  });

  test("podResource sets only the pod-level resources", () => {
    const podSpec = expand(
      testJob({ agentQueryRules: ["resource_class=pod"] }),
      testConfig({ resourceClasses: { pod: { podResource: { limits: { memory: "4Gi" } } } } }),
    ).podSpec;
    expect(podSpec.resources).toEqual({ requests: {}, limits: { memory: "4Gi" } });
    expect(containerNamed(podSpec, "container-0").resources).toBeUndefined();
  });

  test("the resource_class tag is a label and an agent tag", () => {
    const result = expand(
      testJob({ agentQueryRules: ["queue=test", "resource_class=large"] }),
      testConfig({ resourceClasses: classes }),
    );
    expect(result.labels["tag.buildkite.com/resource_class"]).toBe("large");
    expect(envValue(containerNamed(result.podSpec, "agent"), "BUILDKITE_AGENT_TAGS")).toBe(
      `k8s:agent-stack-version=${TEST_VERSION},queue=test,resource_class=large`,
    );
  });
});

test("E22: jobActiveDeadlineSeconds overrides the controller's deadline when positive", () => {
  expect(expand(testJob({ plugin: { jobActiveDeadlineSeconds: 60 } })).spec.activeDeadlineSeconds).toBe(60);
  expect(expand(testJob({ plugin: { jobActiveDeadlineSeconds: 0 } })).spec.activeDeadlineSeconds).toBe(21600);
  expect(expand(testJob()).spec.activeDeadlineSeconds).toBe(21600);
});

test("E23: mounts are de-duplicated by mount path, first wins", () => {
  const job = testJob({
    plugin: {
      podSpec: {
        volumes: [
          { name: "host-volume", hostPath: { path: "/tmp" } },
          { name: "host-volume-duplicate", hostPath: { path: "/tmp" } },
        ],
        containers: [
          {
            image: "alpine:latest",
            volumeMounts: [
              { name: "host-volume-duplicate", mountPath: "/tmp/extra-volume-mount" },
              { name: "host-volume-duplicate", mountPath: "/tmp/extra-volume-mount-sidecar" },
            ],
          },
        ],
      },
      sidecars: [
        {
          image: "nginx:latest",
          volumeMounts: [
            { name: "host-volume", mountPath: "/tmp/extra-volume-mount" },
            { name: "host-volume", mountPath: "/tmp/extra-volume-mount-sidecar" },
          ],
        },
      ],
      sidecarParams: {
        extraVolumeMounts: [
          { name: "host-volume", mountPath: "/tmp/extra-volume-mount-sidecar" },
          { name: "host-volume-duplicate", mountPath: "/tmp/extra-volume-mount-sidecar" },
        ],
      },
      extraVolumeMounts: [
        { name: "host-volume", mountPath: "/tmp/extra-volume-mount" },
        { name: "host-volume-duplicate", mountPath: "/tmp/extra-volume-mount" },
      ],
    },
  });
  const { podSpec } = expand(job);
  expect(mounts(containerNamed(podSpec, "container-0"))).toEqual([
    "host-volume-duplicate@/tmp/extra-volume-mount",
    "host-volume-duplicate@/tmp/extra-volume-mount-sidecar",
    "workspace@/workspace",
  ]);
  expect(mounts(containerNamed(podSpec, "sidecar-0"))).toEqual([
    "host-volume@/tmp/extra-volume-mount",
    "host-volume@/tmp/extra-volume-mount-sidecar",
    "workspace@/workspace",
  ]);
  expect(containerNamed(podSpec, "sidecar-0").restartPolicy).toBe("Always");
  for (const name of ["agent", "checkout"]) {
    expect(mounts(containerNamed(podSpec, name)), name).toEqual([
      "workspace@/workspace",
      "host-volume@/tmp/extra-volume-mount",
    ]);
  }
});

test("E24: the default container never goes through the interposer", () => {
  const config = testConfig({ defaultCommandParams: { interposer: "vector" } });
  const { podSpec } = expand(testJob({ command: "echo hi && ls" }), config);
  expect(envValue(containerNamed(podSpec, "container-0"), "BUILDKITE_COMMAND")).toBe("echo hi && ls");
});
