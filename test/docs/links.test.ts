/**
 * Every link of the documentation resolves: relative links to files and folders of the repository, and
 * their `#anchors` to headings of the page they name. Links to this repository on GitHub (the chart's
 * README uses them, since `helm show readme` prints it out of the repository) are checked as relative
 * ones; other web links are not followed (there is no network here).
 */
import { existsSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, expect, test } from "vitest";
import { ERRORS } from "../../src/errors.ts";
import { anchors, documentationFiles, type Link, links, ROOT, readDoc, slugOf } from "./markdown.ts";

const REPOSITORY = /^https:\/\/github\.com\/agent-stack-k8s\/agent-stack-k8s\/(?:blob|tree)\/main\/(.*)$/;

/** Where a link points inside the repository, or undefined for a web link. */
function localTarget(link: Link): { path: string; anchor: string | undefined } | undefined {
  const repository = REPOSITORY.exec(link.target);
  const target = repository ? repository[1] : link.target;
  if (target === undefined || /^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined;
  const [path = "", anchor] = target.split("#");
  const resolved = path === "" ? link.file : repository ? normalize(path) : join(dirname(link.file), path);
  return { path: normalize(resolved), anchor };
}

/** Why a link does not resolve, or undefined. */
function problem(link: Link): string | undefined {
  const target = localTarget(link);
  if (target === undefined) return undefined;
  const absolute = join(ROOT, target.path);
  if (relative(ROOT, absolute).startsWith("..")) return `${target.path} is outside the repository`;
  if (!existsSync(absolute)) return `${target.path} does not exist`;
  if (target.anchor === undefined) return undefined;
  if (statSync(absolute).isDirectory() || !target.path.endsWith(".md")) {
    return `#${target.anchor}: ${target.path} has no headings`;
  }
  return anchors(readDoc(target.path)).has(target.anchor)
    ? undefined
    : `${target.path} has no heading #${target.anchor}`;
}

describe.each(documentationFiles())("%s", (file) => {
  test("every relative link and anchor resolves", () => {
    const broken = links(file)
      .map((link) => [link, problem(link)] as const)
      .filter(([, why]) => why !== undefined)
      .map(([link, why]) => `${file}:${link.line}: (${link.target}) ${why}`);
    expect(broken).toEqual([]);
  });
});

test("every error code the documentation names is in the catalog (src/errors.ts)", () => {
  const codes = new Set(Object.keys(ERRORS));
  const unknown = documentationFiles().flatMap((file) =>
    [...readDoc(file).matchAll(/\bASK_[A-Z_]+\b(\*)?/g)]
      .filter((match) =>
        match[1] === undefined
          ? !codes.has(match[0])
          : ![...codes].some((code) => code.startsWith(match[0].slice(0, -1))),
      )
      .map((match) => `${file}: ${match[0]}`),
  );
  expect(unknown).toEqual([]);
});

test("the whole documentation is reachable from the README", () => {
  const reached = new Set<string>(["README.md"]);
  const queue = ["README.md"];
  while (queue.length > 0) {
    const file = queue.shift() as string;
    for (const link of links(file)) {
      const target = localTarget(link);
      if (target?.path.endsWith(".md") && !reached.has(target.path) && existsSync(join(ROOT, target.path))) {
        reached.add(target.path);
        queue.push(target.path);
      }
    }
  }
  expect(documentationFiles().filter((file) => !reached.has(file))).toEqual([]);
});

test("anchors are made as GitHub makes them", () => {
  expect(slugOf("2. The image")).toBe("2-the-image");
  expect(slugOf("`podSpecPatch` and `pod-spec-patch`: strategic merge patch")).toBe(
    "podspecpatch-and-pod-spec-patch-strategic-merge-patch",
  );
  expect(slugOf("checkout (and default-checkout-params)")).toBe("checkout-and-default-checkout-params");
  expect(slugOf("What `helm install` checks")).toBe("what-helm-install-checks");
  expect([...anchors("# A\n\n## A\n\n```\n# not a heading\n```\n")]).toEqual(["a", "a-1"]);
});

test("a broken link or anchor is found", () => {
  const link = (target: string): Link => ({ file: "docs/install.md", line: 1, target });
  expect(problem(link("chart.md#what-helm-install-checks"))).toBeUndefined();
  expect(problem(link("chart.md#no-such-heading"))).toBe("docs/chart.md has no heading #no-such-heading");
  expect(problem(link("../nowhere.md"))).toBe("nowhere.md does not exist");
  expect(problem(link("#1-what-you-need"))).toBeUndefined();
  expect(problem(link("https://github.com/agent-stack-k8s/agent-stack-k8s/blob/main/docs/nope.md"))).toBe(
    "docs/nope.md does not exist",
  );
  expect(problem(link("https://kubernetes.io/docs/"))).toBeUndefined();
});
