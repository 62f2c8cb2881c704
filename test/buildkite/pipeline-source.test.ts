/** Where the values of a pipeline file are written. */
import { describe, expect, test } from "vitest";
import { parsePath, parsePipelineSource } from "../../src/buildkite/pipeline-source.ts";

describe("locate", () => {
  const text = [
    "x-defaults: &defaults",
    "  agents:",
    "    queue: linux",
    "steps:",
    "  - command: make",
    "    <<: *defaults",
    '    env: {"a.b": 1}',
    "  - label: two",
    "    agents: *defaults",
  ].join("\n");
  const source = parsePipelineSource(text);

  test.each([
    ["a value", "steps[0].command", "value", { line: 5, column: 14 }],
    ["a key", "steps[0].command", "key", { line: 5, column: 5 }],
    ["a list item", "steps[1]", "value", { line: 8, column: 5 }],
    ["a quoted key", 'steps[0].env["a.b"]', "value", { line: 7, column: 18 }],
    [
      "through a merge key, where the value is written",
      "steps[0].agents.queue",
      "value",
      { line: 3, column: 12 },
    ],
    ["through an alias", "steps[1].agents.agents.queue", "value", { line: 3, column: 12 }],
    ["the deepest value a path reaches", "steps[0].plugins[3].kubernetes", "value", { line: 5, column: 5 }],
    ["the root", "", "value", { line: 1, column: 1 }],
  ] as const)("%s", (_name, path, at, position) => {
    expect(source.locate(path, at)).toEqual(position);
  });

  test("YAML that does not parse names its line and column", () => {
    expect(() => parsePipelineSource("steps:\n  - command: [a\n")).toThrow(/^3:1: not valid YAML/);
  });
});

test("parsePath reads the paths messages print", () => {
  expect(parsePath('steps[2].plugins[0].kubernetes.podSpec.containers[0].env["a.b"]')).toEqual([
    "steps",
    2,
    "plugins",
    0,
    "kubernetes",
    "podSpec",
    "containers",
    0,
    "env",
    "a.b",
  ]);
  expect(parsePath("$.podSpec.x-anchors[1]")).toEqual(["podSpec", "x-anchors", 1]);
  expect(parsePath('podSpecPatch["$patch"]')).toEqual(["podSpecPatch", "$patch"]);
});
