import { readFileSync } from "node:fs";
import { expect, test } from "vitest";
import { generatedModule } from "../scripts/generate-k8s-schema.ts";

test("the checked-in Kubernetes schema table matches what the generator produces", () => {
  const current = readFileSync(new URL("../src/generated/k8s-schema.ts", import.meta.url), "utf8");
  expect(
    current === generatedModule(),
    "src/generated/k8s-schema.ts is out of date: run npm run generate",
  ).toBe(true);
});
