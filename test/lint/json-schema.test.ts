/**
 * lint's JSON Schema validator: it agrees with ajv on what is valid, over real pipelines and broken
 * ones, and explains what is not.
 */
import { Ajv } from "ajv";
import { describe, expect, test } from "vitest";
import { parsePipelineSource } from "../../src/buildkite/pipeline-source.ts";
import { type SchemaNode, validateJson } from "../../src/lint/json-schema.ts";
import { pipelineSchema, pipelineSchemaProblems, toJson } from "../../src/lint/pipeline-schema.ts";
import {
  BUILDKITE_PIPELINES,
  readFixture,
  UPSTREAM_FAILING_PIPELINES,
  UPSTREAM_PIPELINES,
} from "../support/pipeline-fixtures.ts";

const ajv = new Ajv({ allErrors: true, strict: false, logger: false });
const ajvValidate = ajv.compile(pipelineSchema());
const document = (text: string): unknown => toJson(parsePipelineSource(text).document);

const plugin = (body: string) =>
  `steps:\n  - command: x\n    plugins:\n      - kubernetes:\n${body
    .split("\n")
    .map((line) => `          ${line}`)
    .join("\n")}\n`;

/** Broken on purpose, each in one way. */
const BROKEN: Readonly<Record<string, string>> = {
  "unknown step key": "steps:\n  - command: x\n    lable: y\n",
  "agents as a number": "steps:\n  - command: x\n    agents: 3\n",
  "parallelism as text": "steps:\n  - command: x\n    parallelism: many\n",
  "a step that is a number": "steps:\n  - 3\n",
  "no steps": "env: {A: b}\n",
  "retry limit too high": "steps:\n  - command: x\n    retry: {automatic: {limit: 11}}\n",
  "a key like a uuid": "steps:\n  - command: x\n    key: 01234567-89ab-cdef-0123-456789abcdef\n",
  "a bad matrix dimension name": "steps:\n  - command: x\n    matrix: {setup: {'a b': [1]}}\n",
  "two plugins in one entry": "steps:\n  - command: x\n    plugins:\n      - a#v1: {}\n        b#v1: {}\n",
  "a bad notify": "steps:\n  - command: x\n    notify: [slack]\n",
  "plugin unknown field": plugin("podSpecs: {}"),
  "plugin wrong type": plugin("jobActiveDeadlineSeconds: soon"),
  "plugin bad interposer": plugin("commandParams: {interposer: bogus}"),
  "container unknown field": plugin("podSpec:\n  containers:\n    - image: a\n      imagePolicy: x"),
  "container bad enum": plugin("podSpec:\n  containers:\n    - image: a\n      imagePullPolicy: always"),
  "mount without mountPath": plugin(
    "podSpec:\n  containers:\n    - image: a\n      volumeMounts: [{name: x}]",
  ),
  "init container without name": plugin("podSpec:\n  initContainers:\n    - image: a"),
  "env value as a number": plugin(
    "podSpec:\n  containers:\n    - image: a\n      env: [{name: A, value: 1}]",
  ),
  "a bad quantity": plugin("podSpec:\n  containers:\n    - image: a\n      resources: {limits: {cpu: lots}}"),
  "a bad directive value": plugin("podSpecPatch:\n  $patch: remove"),
  "patch unknown field": plugin("podSpecPatch:\n  nodeSelektor: {}"),
};

/** Valid, each exercising something. */
const VALID: Readonly<Record<string, string>> = {
  "a legacy null plugin": plugin("").replace("- kubernetes:\n", "- kubernetes:"),
  "a patch with nulls and directives": plugin(
    "podSpecPatch:\n  nodeSelector: {a: null}\n  $$patch: merge\n  containers:\n    - name: x\n      $patch: delete",
  ),
  "quantities as numbers": plugin(
    "podSpec:\n  containers:\n    - image: a\n      resources: {limits: {cpu: 1, memory: 1.5e9}}",
  ),
  "intOrString both ways": plugin(
    "podSpec:\n  containers:\n    - image: a\n      readinessProbe: {httpGet: {port: http}}\n    - image: b\n      readinessProbe: {httpGet: {port: 8080}}",
  ),
};

describe("agrees with ajv on what is valid", () => {
  const real = [...BUILDKITE_PIPELINES, ...UPSTREAM_PIPELINES, ...UPSTREAM_FAILING_PIPELINES].map(
    (path) => [path, readFixture(path)] as const,
  );
  test.each([...real, ...Object.entries(BROKEN), ...Object.entries(VALID)])("%s", (_name, text) => {
    const value = document(text);
    const ours = validateJson(value, pipelineSchema() as SchemaNode, [], { root: pipelineSchema() });
    const theirs = ajvValidate(value);
    expect(ours.length === 0, JSON.stringify({ ours, theirs: ajvValidate.errors?.slice(0, 3) })).toBe(theirs);
  });

  test.each(Object.entries(BROKEN))("lint's step-by-step check finds %s too", (_name, text) => {
    expect(pipelineSchemaProblems(document(text)).length).toBeGreaterThan(0);
  });

  test.each(Object.entries(VALID))("lint's step-by-step check accepts %s", (_name, text) => {
    expect(pipelineSchemaProblems(document(text))).toEqual([]);
  });
});

describe("explains", () => {
  const check = (schema: SchemaNode, value: unknown) =>
    validateJson(value, schema, ["x"], {
      root: {
        definitions: {
          thing: { type: "object", properties: { name: { type: "string" } }, additionalProperties: false },
        },
      },
    });

  test("when no branch fits the type, says which types would", () => {
    expect(
      check({ anyOf: [{ type: "string" }, { type: "array" }] }, 3).map((problem) => problem.message),
    ).toEqual(["expected a string or a list, got the number 3"]);
  });

  test("when a branch fits the type, reports that branch's problems", () => {
    const problems = check({ anyOf: [{ type: "string" }, { $ref: "#/definitions/thing" }] }, { nmae: "a" });
    expect(problems.map((problem) => [problem.kind, problem.path, problem.message])).toEqual([
      ["unknown-field", ["x", "nmae"], 'unknown field "nmae" in thing; did you mean "name"?'],
    ]);
  });

  test("a value that matches two branches of a oneOf", () => {
    expect(
      check({ oneOf: [{ type: "number" }, { type: "integer" }] }, 3).map((problem) => problem.message),
    ).toEqual(["matches more than one of the forms allowed here"]);
  });

  test("a value a `not` refuses, and a pattern", () => {
    expect(
      check({ type: "string", pattern: "^[a-z]+$", not: { pattern: "^x" } }, "xY").map(
        (problem) => problem.message,
      ),
    ).toEqual(['the string "xY" must not match ^x', 'the string "xY" does not match ^[a-z]+$']);
  });

  test("keys a propertyNames schema refuses are reported at the key", () => {
    const [problem] = check({ type: "object", propertyNames: { pattern: "^[a-z]+$" } }, { "A B": 1 });
    expect(problem).toMatchObject({
      at: "key",
      path: ["x", "A B"],
      message: 'the key the string "A B" does not match ^[a-z]+$',
    });
  });

  test("field names match in any case where the caller says so, with a warning", () => {
    const problems = validateJson({ NAME: 3 }, { $ref: "#/definitions/thing" }, [], {
      root: {
        definitions: {
          thing: { type: "object", properties: { name: { type: "string" } }, additionalProperties: false },
        },
      },
      caseInsensitive: () => true,
    });
    expect(problems.map((problem) => [problem.kind, problem.message])).toEqual([
      [
        "field-case",
        '"NAME" is spelt "name"; it works because field names match in any case, but write "name"',
      ],
      ["type", "expected a string, got the number 3"],
    ]);
  });
});
