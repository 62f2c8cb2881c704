/** Every generated part of the documentation is what `npm run docs` would write now. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { GENERATED_DOCS } from "../../scripts/update-docs.ts";
import { ROOT } from "./markdown.ts";

test.each(GENERATED_DOCS.map(([path, update]) => [path, update] as const))(
  "%s is up to date (run npm run docs)",
  (path, update) => {
    const text = readFileSync(join(ROOT, path), "utf8");
    expect(update(text) === text, `${path} is out of date: run npm run docs`).toBe(true);
  },
);

test("each generated block is where the text around it says", () => {
  for (const [path, update] of GENERATED_DOCS) {
    if (!path.endsWith(".md")) continue;
    const text = readFileSync(join(ROOT, path), "utf8");
    const starts = [...text.matchAll(/<!-- ([a-z-]+):start -->/g)].map((match) => match[1]);
    const ends = [...text.matchAll(/<!-- ([a-z-]+):end -->/g)].map((match) => match[1]);
    expect(starts.length, `${path} has generated blocks`).toBeGreaterThan(0);
    expect(ends, `${path}: every block that starts ends, in order`).toEqual(starts);
    // Emptying a block and regenerating gives the file back: nothing outside the markers is generated.
    const emptied = text.replace(/(<!-- ([a-z-]+):start -->)[\s\S]*?(<!-- \2:end -->)/g, "$1\n$3");
    expect(update(emptied)).toBe(text);
  }
});
