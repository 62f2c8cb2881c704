// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are pipeline text to interpolate, not templates.
/** Every lint rule, with the line and column it reports. */
import { describe, expect, test } from "vitest";
import { lines, lint } from "./helpers.ts";

const plugin = (body: string, extra = "") =>
  `steps:\n  - label: Build\n    key: build\n${extra}    plugins:\n      - kubernetes:\n${body
    .split("\n")
    .map((line) => `          ${line}`)
    .join("\n")}\n`;

describe("the YAML", () => {
  test("that does not parse is one problem at its place, and the file is unusable", () => {
    const result = lint("steps:\n  - command: [a\n");
    expect(result.unparseable).toBe(true);
    expect(lines(result.problems)).toEqual([
      expect.stringMatching(/^3:1 error ASK_INPUT_INVALID not valid YAML/),
    ]);
  });

  test("with a duplicate key is unparseable, as Buildkite's parser refuses it", () => {
    const result = lint("steps: []\nsteps: []\n");
    expect(result.unparseable).toBe(true);
    expect(lines(result.problems)[0]).toMatch(
      /^2:1 error ASK_INPUT_INVALID not valid YAML: Map keys must be unique/,
    );
  });
});

describe("interpolation", () => {
  test("a $ that starts no variable fails pipeline upload, where it is written", () => {
    expect(lines(lint("steps:\n  - command: echo $1\n    if: build.tag =~ /^v.+$/\n").problems)).toEqual([
      "2:14 error ASK_PIPELINE_INTERPOLATION Expected identifier to start with a letter, got 1 (write $$ for a literal $)",
      "3:9 error ASK_PIPELINE_INTERPOLATION Expected identifier to start with a letter, got / (write $$ for a literal $)",
    ]);
  });

  test("a required variable the build does not set", () => {
    expect(lines(lint("env:\n  TARGET: ${DEPLOY_TARGET?set it}\nsteps:\n  - command: x\n").problems)).toEqual(
      ["2:11 error ASK_PIPELINE_INTERPOLATION $DEPLOY_TARGET: set it"],
    );
  });

  test("is not checked without it", () => {
    expect(lint("steps:\n  - command: echo $1\n", { interpolate: false }).problems).toEqual([]);
  });
});

describe("Buildkite's pipeline schema", () => {
  test("an unknown step key, with a did-you-mean", () => {
    expect(lines(lint("steps:\n  - command: make\n    lable: Build\n").problems)).toEqual([
      '3:5 error ASK_LINT_PIPELINE_SCHEMA unknown field "lable" in a command step; did you mean "label"?',
    ]);
  });

  test("a value of the wrong type names what fits", () => {
    expect(lines(lint("steps:\n  - command: make\n    agents: 3\n").problems)).toEqual([
      "3:13 error ASK_LINT_PIPELINE_SCHEMA expected a mapping or a list, got the number 3",
    ]);
  });

  test("a value not among those allowed", () => {
    expect(lines(lint("steps:\n  - command: make\n    concurrency_method: fast\n").problems)).toEqual([
      '3:25 error ASK_LINT_PIPELINE_SCHEMA expected one of "ordered", "eager", got the string "fast"',
    ]);
  });

  test("each step is checked as the kind it is", () => {
    expect(
      lines(
        lint("steps:\n  - wait: ~\n    continue_on_faliure: true\n  - block: Go\n    prompt: 3\n").problems,
      ),
    ).toEqual([
      '3:5 error ASK_LINT_PIPELINE_SCHEMA unknown field "continue_on_faliure" in a wait step; did you mean "continue_on_failure"?',
      "5:13 error ASK_LINT_PIPELINE_SCHEMA expected a string, got the number 3",
    ]);
  });

  test.each([
    ["a step of no known kind", "steps:\n  - label: x\n", "2:5", "cannot tell what kind of step this is"],
    ["an unknown step type", "steps:\n  - type: pray\n", "2:11", 'unknown step type "pray"'],
    [
      "a group in a group",
      "steps:\n  - group: a\n    steps:\n      - group: b\n        steps: [wait]\n",
      "4:9",
      "a group cannot contain another group",
    ],
    [
      "an unknown step string",
      "steps:\n  - deploy\n",
      "2:5",
      'expected a step (a mapping, or "wait", "block" or "input"), got the string "deploy"',
    ],
  ])("%s", (_name, text, place, message) => {
    const problems = lint(text).problems.filter((problem) => problem.code === "ASK_LINT_PIPELINE_SCHEMA");
    expect(lines(problems)).toEqual([
      expect.stringContaining(`${place} error ASK_LINT_PIPELINE_SCHEMA ${message}`),
    ]);
  });
});

describe("the kubernetes plugin, strictly", () => {
  test("an unknown field is an error with a did-you-mean (the stack would ignore it)", () => {
    expect(lines(lint(plugin("podSpecs:\n  containers: []")).problems)).toEqual([
      '6:11 error ASK_LINT_UNKNOWN_FIELD unknown field "podSpecs" in the kubernetes plugin; did you mean "podSpec"?',
    ]);
  });

  test("an unknown field of a parameter struct", () => {
    expect(lines(lint(plugin("checkout:\n  cloneFlag: --depth=1")).problems)).toEqual([
      `7:13 error ASK_LINT_UNKNOWN_FIELD unknown field "cloneFlag" in the kubernetes plugin's checkout; did you mean "cloneFlags"?`,
    ]);
  });

  test("a field in another case works but is a warning", () => {
    expect(lines(lint(plugin("podspec:\n  containers:\n    - image: alpine")).problems)).toEqual([
      '6:11 warning ASK_LINT_FIELD_CASE "podspec" is spelt "podSpec"; it works because field names match in any case, but write "podSpec"',
    ]);
  });

  test("a wrong type names the field; the type upstream's decoder fails the job with is its error", () => {
    expect(lines(lint(plugin("jobActiveDeadlineSeconds: soon")).problems)).toEqual([
      '6:37 error ASK_PLUGIN_DECODE step "build": agent-stack-k8s failed to parse the job: failed parsing Kubernetes plugin: json: cannot unmarshal string into Go struct field KubernetesPlugin.jobActiveDeadlineSeconds of type int64 (at plugins[0].kubernetes.jobActiveDeadlineSeconds)',
    ]);
  });

  test("an invalid interposer keeps upstream's words", () => {
    const [problem] = lint(plugin("commandParams:\n  interposer: bogus")).problems;
    expect(problem?.code).toBe("ASK_PLUGIN_DECODE");
    expect(problem?.message).toContain(
      'invalid interposer "bogus", must be one of: [ buildkite vector legacy]',
    );
    expect([problem?.line, problem?.column]).toEqual([7, 25]);
  });
});

describe("Kubernetes objects in the plugin, against the OpenAPI document", () => {
  const container = (fields: string) =>
    plugin(
      `podSpec:\n  containers:\n    - image: alpine:3\n${fields
        .split("\n")
        .map((line) => `      ${line}`)
        .join("\n")}`,
    );

  test("an unknown field, with a did-you-mean", () => {
    expect(lines(lint(container("imagePolicy: Always")).problems)).toEqual([
      '9:17 error ASK_LINT_UNKNOWN_FIELD unknown field "imagePolicy" in Container; did you mean "imagePullPolicy"?',
    ]);
  });

  test("a value outside an enumeration", () => {
    expect(lines(lint(container("imagePullPolicy: always")).problems)).toEqual([
      '9:34 error ASK_LINT_KUBERNETES_SCHEMA expected one of "Always", "Never", "IfNotPresent", got the string "always"; did you mean "Always"?',
    ]);
  });

  test("a required field missing", () => {
    expect(lines(lint(container("volumeMounts:\n  - name: cache")).problems)).toContainEqual(
      '10:21 error ASK_LINT_KUBERNETES_SCHEMA "mountPath" is required in VolumeMount',
    );
  });

  test("a command container and a sidecar need no name (the stack names them); an init container does", () => {
    const text = plugin("sidecars:\n  - image: redis:7\npodSpec:\n  initContainers:\n    - image: busybox");
    expect(lines(lint(text).problems)).toContainEqual(
      '10:17 error ASK_LINT_KUBERNETES_SCHEMA "name" is required in Container',
    );
  });

  test("a quantity that is not one", () => {
    expect(lines(lint(container("resources:\n  limits:\n    memory: lots")).problems)).toContainEqual(
      expect.stringMatching(/^11:29 error ASK_PLUGIN_DECODE .*quantities must match the regular expression/),
    );
  });

  test("a patch may hold directives and nulls; a pod spec may not hold directives", () => {
    const patch = plugin(
      "podSpecPatch:\n  nodeSelector:\n    disk: null\n  containers:\n    - name: container-0\n      $$patch: delete\n    - name: sidecar\n      image: redis:7\n  $$setElementOrder/containers:\n    - name: container-0",
    );
    expect(lint(patch).problems.filter((problem) => problem.code.startsWith("ASK_LINT_"))).toEqual([]);
    expect(lines(lint(container("$$patch: delete")).problems)).toContainEqual(
      '9:17 error ASK_LINT_UNKNOWN_FIELD unknown field "$patch" in Container',
    );
  });

  test("a directive pipeline upload would eat: $patch must be written $$patch", () => {
    expect(
      lines(lint(plugin("podSpecPatch:\n  containers:\n    - name: agent\n      $patch: delete")).problems),
    ).toEqual([
      '9:17 error ASK_PIPELINE_INTERPOLATION "$patch" becomes "" when the pipeline is interpolated: write "$$patch" for the strategic merge patch directive',
    ]);
    // Uploaded without interpolation, it is the directive as written.
    expect(
      lint(plugin("podSpecPatch:\n  nodeSelector:\n    $patch: replace"), { interpolate: false }).problems,
    ).toEqual([]);
  });

  test("a directive with a value strategic merge patch does not know fails the job, and is reported so", () => {
    expect(lines(lint(plugin("podSpecPatch:\n  $$patch: remove")).problems)).toEqual([
      expect.stringMatching(
        /^7:22 error ASK_PATCH_FAILED step "build": .*unknown patch type: "remove" in map$/,
      ),
    ]);
    // Uploaded with --no-interpolation, the directive is written with one `$`.
    const problems = lint(plugin("podSpecPatch:\n  $patch: remove"), { interpolate: false }).problems;
    expect(lines(problems)).toEqual([expect.stringMatching(/^7:21 error ASK_PATCH_FAILED /)]);
  });
});

describe("semantics: the step expanded as the webhook expands it", () => {
  test("each invalid image reference, at its container", () => {
    const text = plugin("podSpec:\n  containers:\n    - image: UPPER\n    - name: two\n      image: a b");
    expect(lines(lint(text).problems)).toEqual([
      '8:24 error ASK_IMAGE_REFERENCE step "build": repository name must be lowercase "UPPER" for container "container-0"',
      '10:24 error ASK_IMAGE_REFERENCE step "build": invalid reference format "a b" for container "two"',
    ]);
  });

  test("an invalid step image attribute, at the attribute (the expansion checks images before it applies)", () => {
    expect(lines(lint("steps:\n  - command: x\n    image: Node:22\n").problems)).toEqual([
      '3:12 error ASK_IMAGE_REFERENCE step steps[0]: repository name must be lowercase "Node:22" for container "container-0": the kubelet would refuse to pull it (InvalidImageName)',
    ]);
  });

  test("a bad image of a podSpec container is reported there, even with a step image attribute", () => {
    const text = plugin("podSpec:\n  containers:\n    - image: UPPER", "    image: alpine:3\n");
    expect(lines(lint(text).problems)).toEqual([
      '9:24 error ASK_IMAGE_REFERENCE step "build": repository name must be lowercase "UPPER" for container "container-0"',
    ]);
  });

  test("a patch that changes the agent's command", () => {
    const text = plugin("podSpecPatch:\n  containers:\n    - name: agent\n      command: [sh]");
    expect(lines(lint(text).problems)).toEqual(
      [
        'step "build": agent-stack-k8s failed to build a podSpec for the job: failed to apply podSpec patch from k8s plugin: for the agent container, modifying container commands or args via podSpecPatch is not supported',
      ].map((message) => `8:17 error ASK_PATCH_COMMAND_MODIFICATION ${message}`),
    );
  });

  test("a patch kubectl would reject", () => {
    const text = plugin("podSpecPatch:\n  containers:\n    - image: no-name:1");
    expect(lines(lint(text).problems)).toEqual([
      expect.stringMatching(
        /^8:17 error ASK_PATCH_FAILED .*strategic merge patch at podSpecPatch\.containers\[0\]: the list item .* does not contain the merge key "name"$/,
      ),
    ]);
  });

  test("a patch that removes the agent", () => {
    const text = plugin("podSpecPatch:\n  containers:\n    - name: agent\n      $$patch: delete");
    expect(lines(lint(text).problems)).toEqual([
      expect.stringMatching(
        /^7:13 error ASK_PATCH_REMOVES_AGENT step "build": .*the pod spec patches remove the container agent/,
      ),
    ]);
  });

  test("a podTemplate no --pod-template file defines", () => {
    expect(lines(lint(plugin("podTemplate: gpu")).problems)).toEqual([
      '6:24 error ASK_POD_TEMPLATE_FETCH step "build": Error fetching podTemplate "gpu": podtemplates "gpu" not found (known from --pod-template: none)',
    ]);
  });

  test("an unknown resource class is an error when the configuration gives resource classes", () => {
    const text = "steps:\n  - command: x\n    agents:\n      resource_class: huge\n";
    const configYaml = "resource-classes:\n  small:\n    resource:\n      limits: {cpu: 500m}\n";
    expect(lines(lint(text, { configYaml }).problems)).toEqual([
      "4:23 error ASK_RESOURCE_CLASS step steps[0]: agent-stack-k8s failed to build a podSpec for the job: resource class not found: huge",
    ]);
    // Without them, lint cannot know the cluster's classes: it says so.
    expect(lines(lint(text).problems)).toEqual([
      "4:23 warning ASK_RESOURCE_CLASS step steps[0]: agent-stack-k8s failed to build a podSpec for the job: resource classes not configured but resource_class tag specified",
    ]);
  });

  test("a plugin the configuration prohibits", () => {
    const problems = lint(plugin("checkout: {skip: true}"), {
      configYaml: "prohibit-kubernetes-plugin: true\n",
    }).problems;
    expect(lines(problems)).toEqual([
      '5:9 error ASK_PLUGIN_PROHIBITED step "build": agent-stack-k8s failed to parse the job: the kubernetes plugin is prohibited by this controller, but was configured on this job',
    ]);
  });

  test("what the stack adjusts is a warning at the step", () => {
    const problems = lint(
      "steps:\n  - command: x\n    agents:\n      queue: kubernetes\n      os: Mac OS\n",
    ).problems;
    expect(lines(problems)).toEqual([
      expect.stringMatching(/^2:5 warning ASK_LINT_EXPANSION_WARNING step steps\[0\]: /),
    ]);
  });
});

describe("what the API server would refuse", () => {
  const containers = (body: string, extra = "") => plugin(`podSpec:\n${extra}  containers:\n${body}`);

  test("duplicate container names", () => {
    const text = containers("    - name: app\n      image: a:1\n    - name: app\n      image: b:1");
    expect(lines(lint(text).problems)).toEqual([
      '10:23 error ASK_LINT_API_SERVER step "build": the API server would reject the Job: spec.template.spec.containers[1].name: Duplicate value: "app"',
    ]);
  });

  test("a mount of an undeclared volume", () => {
    const text = containers(
      "    - image: a:1\n      volumeMounts:\n        - name: cache\n          mountPath: /cache",
    );
    expect(lines(lint(text).problems)).toEqual([
      '10:27 error ASK_LINT_API_SERVER step "build": the API server would reject the Job: spec.template.spec.containers[0].volumeMounts[0].name: Not found: "cache"',
    ]);
  });

  test("a shared mount of an undeclared volume, at the plugin's extraVolumeMounts", () => {
    const text = plugin("extraVolumeMounts:\n  - name: cache\n    mountPath: /cache");
    expect(lines(lint(text).problems)).toEqual([
      expect.stringMatching(
        /^7:21 error ASK_LINT_API_SERVER .*volumeMounts\[\d+\]\.name: Not found: "cache"$/,
      ),
    ]);
  });

  test("an env entry without a name", () => {
    const text = containers("    - image: a:1\n      env:\n        - name: ''\n          value: x");
    expect(lines(lint(text).problems)).toContainEqual(
      expect.stringMatching(/^10:27 error ASK_LINT_API_SERVER .*env\[0\]\.name: Required value$/),
    );
  });

  test("requests above limits", () => {
    const text = containers(
      "    - image: a:1\n      resources:\n        requests: {memory: 2Gi}\n        limits: {memory: 1500Mi}",
    );
    expect(lines(lint(text).problems)).toEqual([
      '10:38 error ASK_LINT_API_SERVER step "build": the API server would reject the Job: spec.template.spec.containers[0].resources.requests.memory: Invalid value: "2Gi": must be less than or equal to memory limit of 1500Mi',
    ]);
  });

  test("a restart policy a Job refuses, set by a patch", () => {
    expect(lines(lint(plugin("podSpecPatch:\n  restartPolicy: Always")).problems)).toEqual([
      expect.stringMatching(
        /^7:28 error ASK_LINT_API_SERVER .*restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"$/,
      ),
    ]);
  });

  test("a label value Kubernetes refuses", () => {
    expect(lines(lint(plugin("metadata:\n  labels:\n    team: platform team")).problems)).toEqual([
      expect.stringMatching(
        /^8:21 error ASK_LINT_API_SERVER .*metadata\.labels\.team: Invalid value: "platform team"/,
      ),
    ]);
  });
});

describe("one mistake, one problem", () => {
  test("a type the expansion fails on is reported once, with the job's failure code", () => {
    const text = plugin(
      "podSpec:\n  containers:\n    - image: a:1\n      env:\n        - name: CGO_ENABLED\n          value: 0",
    );
    expect(lines(lint(text).problems)).toEqual([
      expect.stringMatching(
        /^11:28 error ASK_PLUGIN_DECODE .*cannot unmarshal number into Go struct field EnvVar\.podSpec\.containers\.env\.value of type string/,
      ),
    ]);
  });

  test("the jobs of a parallel step report a problem once", () => {
    const text = plugin("podSpec:\n  containers:\n    - image: UPPER", "    parallelism: 3\n");
    expect(lint(text).problems).toHaveLength(1);
  });
});
