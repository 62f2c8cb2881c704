// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are pipeline text to interpolate, not templates.
/** A whole pipeline interpolated as `pipeline upload` does it. */
import { describe, expect, test } from "vitest";
import { parsePipelineYaml } from "../../src/buildkite/pipeline.ts";
import { interpolatePipeline } from "../../src/buildkite/pipeline-interpolation.ts";
import { toJson } from "../../src/lint/pipeline-schema.ts";

const run = (text: string, env: Record<string, string> = {}) => {
  const result = interpolatePipeline(parsePipelineYaml(text), new Map(Object.entries(env)));
  return { ...result, document: toJson(result.document) };
};

describe("the top-level env", () => {
  test("is interpolated first, in order, and its variables are available after it", () => {
    const { document } = run("env:\n  A: one\n  B: $A-two\nsteps:\n  - command: echo $B\n");
    expect(document).toEqual({ env: { A: "one", B: "one-two" }, steps: [{ command: "echo one-two" }] });
  });

  test("loses to the runtime env: a variable the build sets keeps its value", () => {
    const { document } = run("env:\n  BUILDKITE_BRANCH: mine\nsteps:\n  - command: on $BUILDKITE_BRANCH\n", {
      BUILDKITE_BRANCH: "main",
    });
    expect(document).toMatchObject({ steps: [{ command: "on main" }] });
  });

  test("numbers and booleans are variables as text", () => {
    const { document } = run("env:\n  N: 3\n  T: true\nsteps:\n  - command: $N $T\n");
    expect(document).toMatchObject({ env: { N: 3, T: true }, steps: [{ command: "3 true" }] });
  });
});

describe("the rest of the pipeline", () => {
  test("every string, keys included, at any depth; a step's env is no variable for the others", () => {
    const text =
      "steps:\n  - command: $X\n    env:\n      ${KEY}: $X\n    plugins:\n      - docker#v5:\n          image: img:$X\n  - command: $STEP_ONLY\n    env: {STEP_ONLY: y}\n";
    const { document } = run(text, { X: "x", KEY: "K" });
    expect(document).toEqual({
      steps: [
        { command: "x", env: { K: "x" }, plugins: [{ "docker#v5": { image: "img:x" } }] },
        { command: "", env: { STEP_ONLY: "y" } },
      ],
    });
  });

  test("a command step's signature is left as written, in both forms", () => {
    const text =
      "steps:\n  - command: $X\n    signature: {value: $X}\n  - command: {command: $X, signature: {value: $X}}\n";
    expect(run(text, { X: "x" }).document).toEqual({
      steps: [
        { command: "x", signature: { value: "$X" } },
        { command: { command: "x", signature: { value: "$X" } } },
      ],
    });
  });

  test("group steps, legacy step lists and other top-level keys", () => {
    expect(run("- command: $X\n", { X: "x" }).document).toEqual([{ command: "x" }]);
    const text = "x-anchors: {a: $X}\nsteps:\n  - group: g $X\n    steps:\n      - command: $X\n";
    expect(run(text, { X: "x" }).document).toEqual({
      "x-anchors": { a: "x" },
      steps: [{ group: "g x", steps: [{ command: "x" }] }],
    });
  });
});

describe("problems", () => {
  test("each text that cannot be interpolated, at its place, left as written", () => {
    const result = run("env:\n  A: ${NEEDED?}\nsteps:\n  - command: echo $1\n  - command: ok\n");
    expect(result.problems).toEqual([
      { path: "env.A", message: "$NEEDED: not set" },
      {
        path: "steps[0].command",
        message: "Expected identifier to start with a letter, got 1 (write $$ for a literal $)",
      },
    ]);
    expect(result.document).toMatchObject({ steps: [{ command: "echo $1" }, { command: "ok" }] });
  });

  test("a strategic merge patch directive the upload would eat, and where each changed key is written", () => {
    const result = run(
      "steps:\n  - plugins:\n      - kubernetes:\n          podSpecPatch:\n            $patch: replace\n            $$retainKeys: [a]\n",
    );
    expect(result.problems).toEqual([
      {
        path: 'steps[0].plugins[0].kubernetes.podSpecPatch["$patch"]',
        key: true,
        message:
          '"$patch" becomes "" when the pipeline is interpolated: write "$$patch" for the strategic merge patch directive',
      },
    ]);
    expect(result.document).toMatchObject({
      steps: [{ plugins: [{ kubernetes: { podSpecPatch: { "": "replace", $retainKeys: ["a"] } } }] }],
    });
    expect(result.renamedKeys).toEqual([
      {
        interpolated: 'steps[0].plugins[0].kubernetes.podSpecPatch[""]',
        written: 'steps[0].plugins[0].kubernetes.podSpecPatch["$patch"]',
      },
      {
        interpolated: 'steps[0].plugins[0].kubernetes.podSpecPatch["$retainKeys"]',
        written: 'steps[0].plugins[0].kubernetes.podSpecPatch["$$retainKeys"]',
      },
    ]);
  });
});
