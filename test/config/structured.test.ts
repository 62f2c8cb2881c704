import { describe, expect, test } from "vitest";
import { CONFIG_PATH, load, loadError, problemOf } from "./helpers.ts";

const yaml = (...lines: string[]) => `${lines.join("\n")}\n`;
const FROM = `(from file ${CONFIG_PATH}:1)`;

describe("pod-spec-patch (a PodSpec strategic merge patch)", () => {
  test("is decoded as a PodSpec and keeps patch directives and nulls", () => {
    const { config } = load({
      file: yaml(
        "pod-spec-patch:",
        "  serviceAccountName: ci",
        "  nodeSelector: {kubernetes.io/arch: arm64}",
        "  containers:",
        "    - name: sidecar",
        "      $patch: delete",
        "    - name: container-0",
        "      env:",
        "        - {name: DEBUG, $patch: delete}",
        "      resources: {requests: {cpu: 0.5, memory: 1Gi}}",
        "  $setElementOrder/containers: [{name: container-0}]",
        "  volumes:",
        "    - {name: cache, $patch: delete}",
        "  securityContext: null",
      ),
    });
    expect(config.podSpecPatch).toEqual({
      serviceAccountName: "ci",
      nodeSelector: { "kubernetes.io/arch": "arm64" },
      containers: [
        { name: "sidecar", $patch: "delete" },
        {
          name: "container-0",
          env: [{ name: "DEBUG", $patch: "delete" }],
          resources: { requests: { cpu: "0.5", memory: "1Gi" } },
        },
      ],
      "$setElementOrder/containers": [{ name: "container-0" }],
      volumes: [{ name: "cache", $patch: "delete" }],
      securityContext: null,
    });
  });

  test("a value of the wrong type names the exact path, Go's wording and the file", () => {
    const problem = problemOf({
      file: yaml("pod-spec-patch:", "  containers:", "    - name: c", "      image: 3"),
    });
    expect(problem.code).toBe("ASK_CONFIG_INVALID_VALUE");
    expect(problem.path).toBe("pod-spec-patch.containers[0].image");
    expect(problem.message).toBe(
      `pod-spec-patch.containers[0].image: json: cannot unmarshal number into Go struct field Container.containers.image of type string ${FROM}`,
    );
  });

  test("an unknown nested field is an unknown key, with the closest field", () => {
    const problem = problemOf({
      file: yaml("pod-spec-patch:", "  containers:", "    - name: c", "      imagePolicy: Always"),
    });
    expect(problem.code).toBe("ASK_CONFIG_UNKNOWN_KEY");
    expect(problem.path).toBe("pod-spec-patch.containers[0].imagePolicy");
    expect(problem.message).toBe(
      `pod-spec-patch.containers[0].imagePolicy: unknown field "imagePolicy" at pod-spec-patch.containers[0] (Container has no such field); did you mean "imagePullPolicy"? ${FROM}`,
    );
  });

  test("a bad quantity is refused where it is written", () => {
    expect(problemOf({ file: yaml("pod-spec-patch:", "  overhead: {cpu: lots}") }).path).toBe(
      "pod-spec-patch.overhead.cpu",
    );
  });

  test("a field named like an Object.prototype member is unknown, not silently accepted", () => {
    expect(problemOf({ file: yaml("pod-spec-patch:", "  constructor: x") }).code).toBe(
      "ASK_CONFIG_UNKNOWN_KEY",
    );
  });
});

describe("workspace-volume (a Volume)", () => {
  test("valid", () => {
    const { config } = load({
      file: yaml(
        "workspace-volume:",
        "  name: workspace",
        "  ephemeral:",
        "    volumeClaimTemplate:",
        "      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 10Gi}}}",
      ),
    });
    expect(config.workspaceVolume?.ephemeral?.volumeClaimTemplate?.spec?.resources?.requests).toEqual({
      storage: "10Gi",
    });
  });

  test("an unknown field", () => {
    const problem = problemOf({ file: yaml("workspace-volume:", "  name: w", "  emptydir: {}") });
    expect(problem.message).toContain(
      'unknown field "emptydir" at workspace-volume (Volume has no such field); did you mean "emptyDir"?',
    );
  });

  test("not an object", () => {
    expect(problemOf({ file: "workspace-volume: workspace\n" }).message).toBe(
      `workspace-volume: json: cannot unmarshal string into Go struct field value of type v1.Volume ${FROM}`,
    );
  });
});

describe("agent-config", () => {
  test("kebab-case file keys become AgentConfig's camelCase; Volume keys keep their names", () => {
    const { config } = load({
      file: yaml(
        "agent-config:",
        "  endpoint: https://agent.example.com/v3",
        "  no-http2: true",
        "  experiment: [polyglot-hooks]",
        "  tracing-backend: opentelemetry",
        "  tracing-propagate-traceparent: true",
        "  git-skip-fetch-existing-commits: false",
        "  container-start-timeout: 90s",
        "  hooks-path: /hooks",
        "  hooksVolume: {name: hooks, configMap: {name: hooks}}",
        "  additional-hooks-paths: [/more-hooks]",
        "  additional-hooks:",
        "    - path: /extra",
        "      volume: {name: extra, secret: {secretName: extra}}",
        "  signing-jwks-file: key.json",
        "  signingJWKSVolume: {name: signing, secret: {secretName: signing}}",
        "  verification-failure-behavior: warn",
        "  plugin-validation: true",
      ),
    });
    expect(config.agentConfig).toEqual({
      endpoint: "https://agent.example.com/v3",
      noHttp2: true,
      experiment: ["polyglot-hooks"],
      tracingBackend: "opentelemetry",
      tracingPropagateTraceparent: true,
      gitSkipFetchExistingCommits: false,
      containerStartTimeout: 90_000_000_000,
      hooksPath: "/hooks",
      hooksVolume: { name: "hooks", configMap: { name: "hooks" } },
      additionalHooksPaths: ["/more-hooks"],
      additionalHooks: [{ path: "/extra", volume: { name: "extra", secret: { secretName: "extra" } } }],
      signingJwksFile: "key.json",
      signingJWKSVolume: { name: "signing", secret: { secretName: "signing" } },
      verificationFailureBehavior: "warn",
      pluginValidation: true,
    });
  });

  test("an empty agent-config is present (so its defaults such as verification `warn` apply), absent is undefined", () => {
    expect(load({ file: "agent-config: {}\n" }).config.agentConfig).toEqual({});
    expect(load({ file: "agent-config:\n" }).config.agentConfig).toBeUndefined();
  });

  test("hooks-volume is not hooksVolume: the unknown key suggests the right spelling", () => {
    const problem = problemOf({ file: yaml("agent-config:", "  hooks-volume: {name: hooks}") });
    expect(problem.code).toBe("ASK_CONFIG_UNKNOWN_KEY");
    expect(problem.message).toContain('did you mean "hooksVolume"?');
  });

  test("container-start-timeout must be a Go duration", () => {
    const problem = problemOf({ file: yaml("agent-config:", "  container-start-timeout: 5 minutes") });
    expect(problem.path).toBe("agent-config.container-start-timeout");
    expect(problem.message).toContain('"5 minutes" (from file');
    expect(problem.message).toContain("is not a duration (time: unknown unit");
  });

  test("verification-failure-behavior is block or warn", () => {
    expect(
      problemOf({ file: yaml("agent-config:", "  verification-failure-behavior: ignore") }).message,
    ).toContain('expected one of "block", "warn"');
  });

  test("a boolean written as a string is Go's type error", () => {
    expect(problemOf({ file: yaml("agent-config:", '  no-pty: "true"') }).message).toContain(
      "json: cannot unmarshal string into Go struct field AgentConfig.no-pty of type bool",
    );
  });
});

describe("default-checkout-params / default-command-params / default-sidecar-params", () => {
  test("valid values decode to the shared parameter structs", () => {
    const { config } = load({
      file: yaml(
        "default-checkout-params:",
        "  skip: false",
        "  checkoutFlags: --force",
        "  gitMirrors: {path: /mirrors, lockTimeout: 30, volume: {name: mirrors, hostPath: {path: /mnt}}}",
        "  gitCredentialsSecret: {secretName: git}",
        "  envFrom: [{secretRef: {name: git-env}}]",
        "default-command-params:",
        "  interposer: vector",
        "  extraVolumeMounts: [{name: cache, mountPath: /cache}]",
        "default-sidecar-params:",
        "  envFrom: [{configMapRef: {name: sidecar}}]",
      ),
    });
    expect(config.defaultCheckoutParams?.gitMirrors?.lockTimeout).toBe(30);
    expect(config.defaultCheckoutParams?.checkoutFlags).toBe("--force");
    expect(config.defaultCommandParams).toEqual({
      interposer: "vector",
      extraVolumeMounts: [{ name: "cache", mountPath: "/cache" }],
    });
    expect(config.defaultSidecarParams?.envFrom).toEqual([{ configMapRef: { name: "sidecar" } }]);
  });

  test("an unknown interposer is v0.26.0's `invalid command interposer`", () => {
    const problem = problemOf({ file: yaml("default-command-params:", "  interposer: bash") });
    expect(problem.path).toBe("default-command-params.interposer");
    expect(problem.message).toBe(
      `default-command-params.interposer: invalid command interposer "bash" ${FROM}`,
    );
  });

  test("gitMirrors.lockTimeout must be an integer", () => {
    expect(
      problemOf({ file: yaml("default-checkout-params:", "  gitMirrors: {lockTimeout: 1.5}") }).path,
    ).toBe("default-checkout-params.gitMirrors.lockTimeout");
  });

  test("the sidecar params have no checkout fields", () => {
    expect(problemOf({ file: yaml("default-sidecar-params:", "  skip: true") }).code).toBe(
      "ASK_CONFIG_UNKNOWN_KEY",
    );
  });
});

describe("default-metadata", () => {
  test("labels must be valid label keys and values, annotation keys qualified names", () => {
    const error = loadError({
      file: yaml(
        "default-metadata:",
        "  labels:",
        "    team: ci",
        "    bad key: x",
        "    ok: not a value",
        "  annotations:",
        "    example.com/notes: any text at all",
        "    /no-name: x",
      ),
    });
    expect(error.problems.map((problem) => problem.path)).toEqual([
      'default-metadata.labels["bad key"]',
      "default-metadata.labels.ok",
      'default-metadata.annotations["/no-name"]',
    ]);
    expect(error.problems[1]?.message).toContain('"not a value" (from file');
  });

  test("a label value must be a string", () => {
    expect(problemOf({ file: yaml("default-metadata:", "  labels: {replicas: 3}") }).message).toContain(
      "cannot unmarshal number",
    );
  });
});

describe("resource-classes", () => {
  test("name → {resource, podResource, nodeSelector}", () => {
    const { config } = load({
      file: yaml(
        "resource-classes:",
        "  small:",
        "    resource: {requests: {cpu: 250m, memory: 512Mi}, limits: {memory: 512Mi}}",
        "  large:",
        "    podResource: {limits: {cpu: 4}}",
        "    nodeSelector: {pool: large}",
      ),
    });
    expect(config.resourceClasses).toEqual({
      small: { resource: { requests: { cpu: "250m", memory: "512Mi" }, limits: { memory: "512Mi" } } },
      large: { podResource: { limits: { cpu: "4" } }, nodeSelector: { pool: "large" } },
    });
  });

  test("a bad quantity and an unknown class field are named by path", () => {
    expect(
      problemOf({ file: yaml("resource-classes:", "  small: {resource: {requests: {cpu: fast}}}") }).path,
    ).toBe("resource-classes.small.resource.requests.cpu");
    const unknown = problemOf({ file: yaml("resource-classes:", "  small: {resources: {}}") });
    expect(unknown.code).toBe("ASK_CONFIG_UNKNOWN_KEY");
    expect(unknown.message).toContain('did you mean "resource"?');
  });

  test("must be a map", () => {
    expect(problemOf({ file: yaml("resource-classes: [small]") }).message).toContain(
      "cannot unmarshal array into Go struct field value of type map[string]config.ResourceClass",
    );
  });
});
