import { readFileSync } from "node:fs";
import { expect, test } from "vitest";
import { generatedFiles } from "../scripts/generate-k8s-schema.ts";

test.each(generatedFiles().map((file) => [file.path.replace(/.*\/src\//, "src/"), file.content]))(
  "the checked-in %s matches what the generator produces",
  (path, content) => {
    const current = readFileSync(new URL(`../${path}`, import.meta.url), "utf8");
    expect(current === content, `${path} is out of date: run npm run generate`).toBe(true);
  },
);
