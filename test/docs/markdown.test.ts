/** The Markdown reader the documentation tests rely on. */
import { expect, test } from "vitest";
import { codeBlocks, inlineCode, links, shellWords } from "./markdown.ts";

const DOC = [
  "# Title",
  "",
  "Run `kubectl get pods",
  "-n buildkite` and see [the install](docs/install.md#3-install-the-chart).",
  "",
  "<!-- doc-test: file values.yaml -->",
  "```yaml",
  "image: x",
  "```",
  "",
  "- a list item with a block:",
  "",
  "  ```console",
  "  $ echo hi",
  "  hi",
  "  ```",
  "",
  "<!-- doc-test: skip cluster: kubectl against a real API server -->",
  "",
  "````sh",
  "kubectl create -f job.yaml   # [not a link](nowhere.md)",
  "```",
  "````",
  "<!-- doc-test: bogus -->",
  "```sh",
  "true",
  "```",
].join("\n");

test("code blocks carry their language, their text without indentation and the marker above them", () => {
  const blocks = codeBlocks("doc.md", DOC);
  expect(blocks.map((block) => [block.line, block.lang, block.text])).toEqual([
    [7, "yaml", "image: x\n"],
    [13, "console", "$ echo hi\nhi\n"],
    [20, "sh", "kubectl create -f job.yaml   # [not a link](nowhere.md)\n```\n"],
    [25, "sh", "true\n"],
  ]);
  expect(blocks.map((block) => block.marker)).toEqual([
    { kind: "file", path: "values.yaml" },
    undefined,
    { kind: "skip", category: "cluster", reason: "kubectl against a real API server" },
    undefined,
  ]);
  expect(blocks[3]?.badMarker).toBe("bogus");
});

test("links and inline code come from the prose only, a code span across a line break joined", () => {
  expect(links("doc.md", DOC).map((link) => [link.line, link.target])).toEqual([
    [4, "docs/install.md#3-install-the-chart"],
  ]);
  expect(inlineCode(DOC)).toEqual(["kubectl get pods -n buildkite"]);
});

test("command lines are split as the shell splits them", () => {
  expect(shellWords(`kubectl get job x -o jsonpath='{.metadata.labels}' \\\n  -n "build kite"`)).toEqual([
    "kubectl",
    "get",
    "job",
    "x",
    "-o",
    "jsonpath={.metadata.labels}",
    "-n",
    "build kite",
  ]);
  expect(shellWords("a '' b")).toEqual(["a", "", "b"]);
});
