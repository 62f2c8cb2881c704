/** The closed sets of values lint and the editor schema enforce, anchored in the OpenAPI document. */
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { expect, test } from "vitest";
import { K8S_SCHEMA } from "../../src/generated/k8s-schema.ts";
import { K8S_ENUMS } from "../../src/k8s/enums.ts";

const OPENAPI = JSON.parse(
  gunzipSync(readFileSync(new URL("../../reference/kubernetes/swagger.json.gz", import.meta.url))).toString(
    "utf8",
  ),
) as {
  definitions: Record<string, { properties?: Record<string, { description?: string; type?: string }> }>;
};

const fields = Object.entries(K8S_ENUMS).flatMap(([definition, byField]) =>
  Object.entries(byField).map(
    ([field, values]) => [`${definition}.${field}`, definition, field, values] as const,
  ),
);

test.each(fields)(
  "%s is a string field whose description names every value",
  (_name, definition, field, values) => {
    expect(K8S_SCHEMA[definition]?.fields[field]?.kind).toBe("string");
    const description = OPENAPI.definitions[definition]?.properties?.[field]?.description ?? "";
    for (const value of values.filter((candidate) => candidate !== "")) expect(description).toContain(value);
  },
);
