import { describe, expect, test } from "vitest";
import { AgentStackError, isAgentStackError, strategicMergePatch } from "../../src/index.ts";
import { OBJECT_META, POD_SPEC } from "./support/kubectl.ts";

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}

function objectsIn(value: unknown, into = new Set<object>()): Set<object> {
  if (typeof value === "object" && value !== null) {
    into.add(value);
    for (const member of Object.values(value)) objectsIn(member, into);
  }
  return into;
}

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}

const ORIGINAL = {
  containers: [
    { name: "a", image: "x", env: [{ name: "A", value: "1" }], args: ["1"] },
    { name: "b", image: "y", resources: { limits: { cpu: "1" } } },
  ],
  volumes: [{ name: "v", emptyDir: {} }],
  nodeSelector: { zone: "a" },
  tolerations: [{ key: "k" }],
};

const PATCH = {
  containers: [
    { name: "c", image: "z", env: [{ name: "C" }] },
    { name: "a", env: [{ name: "B", value: "2" }], securityContext: { runAsUser: 1 } },
    { name: "b", $patch: "delete" },
  ],
  "$setElementOrder/containers": [{ name: "c" }, { name: "a" }],
  volumes: [{ name: "v", $retainKeys: ["name", "secret"], secret: { secretName: "s" } }],
  tolerations: [{ key: "t", value: null }],
  hostAliases: [{ ip: "1.2.3.4", hostnames: ["h"] }],
};

describe("strategicMergePatch", () => {
  test("is exported from the package root", async () => {
    const root = await import("../../src/index.ts");
    expect(root.strategicMergePatch).toBe(strategicMergePatch);
  });

  test("never mutates its inputs, even deep-frozen ones", () => {
    const original = deepFreeze(structuredClone(ORIGINAL));
    const patch = deepFreeze(structuredClone(PATCH));
    const result = strategicMergePatch(original, patch, POD_SPEC);
    expect(original).toStrictEqual(ORIGINAL);
    expect(patch).toStrictEqual(PATCH);
    expect(result.containers).toStrictEqual([
      { name: "c", image: "z", env: [{ name: "C" }] },
      {
        name: "a",
        image: "x",
        env: [
          { name: "B", value: "2" },
          { name: "A", value: "1" },
        ],
        args: ["1"],
        securityContext: { runAsUser: 1 },
      },
    ]);
  });

  test("returns an object that shares nothing with its inputs", () => {
    const original = structuredClone(ORIGINAL);
    const patch = structuredClone(PATCH);
    const result = strategicMergePatch(original, patch, POD_SPEC);
    const inputs = objectsIn(original, objectsIn(patch));
    for (const object of objectsIn(result)) expect(inputs.has(object)).toBe(false);
    expect(strategicMergePatch(original, null, POD_SPEC)).not.toBe(original);
  });

  test("an unknown type name is ASK_SMP_UNKNOWN_TYPE", () => {
    const error = thrown(() => strategicMergePatch({}, {}, "io.k8s.api.core.v1.NoSuchThing"));
    expect(isAgentStackError(error, "ASK_SMP_UNKNOWN_TYPE")).toBe(true);
    expect((error as Error).message).toContain('"io.k8s.api.core.v1.NoSuchThing"');
  });

  test("an invalid patch is ASK_SMP_INVALID_PATCH with the JSON path in the message and in path", () => {
    const error = thrown(() =>
      strategicMergePatch(
        { containers: [{ name: "a" }] },
        { containers: [{ name: "a" }, { image: "x" }] },
        POD_SPEC,
      ),
    );
    expect(error).toBeInstanceOf(AgentStackError);
    expect(isAgentStackError(error, "ASK_SMP_INVALID_PATCH")).toBe(true);
    expect((error as AgentStackError).path).toBe("$.containers[1]");
    expect((error as Error).message).toBe(
      'strategic merge patch at $.containers[1]: the list item {"image":"x"} does not contain the merge key "name"',
    );
  });

  test("rootPath sets where error paths start", () => {
    const error = thrown(() =>
      strategicMergePatch({ securityContext: { a: 1 } }, { securityContext: { $patch: "bogus" } }, POD_SPEC, {
        rootPath: "$.podSpecPatch",
      }),
    );
    expect((error as AgentStackError).path).toBe('$.podSpecPatch.securityContext["$patch"]');
  });

  test("a null original merges like an empty object; a null patch returns a copy", () => {
    expect(strategicMergePatch(null, { hostname: "h", subdomain: null }, POD_SPEC)).toStrictEqual({
      hostname: "h",
    });
    expect(strategicMergePatch({ hostname: "h" }, null, POD_SPEC)).toStrictEqual({ hostname: "h" });
  });

  test("an original or patch that is not a JSON object is rejected", () => {
    expect(
      isAgentStackError(
        thrown(() => strategicMergePatch([], {}, POD_SPEC)),
        "ASK_SMP_INVALID_PATCH",
      ),
    ).toBe(true);
    expect(
      isAgentStackError(
        thrown(() => strategicMergePatch({}, "x", POD_SPEC)),
        "ASK_SMP_INVALID_PATCH",
      ),
    ).toBe(true);
    expect(
      isAgentStackError(
        thrown(() => strategicMergePatch({}, { hostname: () => 1 }, POD_SPEC)),
        "ASK_SMP_INVALID_PATCH",
      ),
    ).toBe(true);
  });

  test("undefined members count as absent, as JSON.stringify has it", () => {
    const result = strategicMergePatch(
      { hostname: "h", subdomain: undefined },
      { hostname: undefined, dnsPolicy: "x" },
      POD_SPEC,
    );
    expect(result).toStrictEqual({ hostname: "h", dnsPolicy: "x" });
  });

  test("a __proto__ key is data, not a prototype", () => {
    const patch = JSON.parse('{"nodeSelector": {"__proto__": {"polluted": true}}}') as Record<
      string,
      unknown
    >;
    const result = strategicMergePatch({ nodeSelector: { a: "1" } }, patch, POD_SPEC);
    const nodeSelector = result.nodeSelector as Record<string, unknown>;
    expect(Object.getPrototypeOf(nodeSelector)).toBe(Object.prototype);
    expect(Object.hasOwn(nodeSelector, "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test("works for any definition of the table (Container, ObjectMeta, Job)", () => {
    expect(
      strategicMergePatch(
        { name: "a", env: [{ name: "A" }] },
        { env: [{ name: "B" }] },
        "io.k8s.api.core.v1.Container",
      ),
    ).toStrictEqual({ name: "a", env: [{ name: "B" }, { name: "A" }] });
    expect(
      strategicMergePatch({ name: "p", finalizers: ["a"] }, { finalizers: ["b"] }, OBJECT_META),
    ).toStrictEqual({
      name: "p",
      finalizers: ["b", "a"],
    });
    const job = { spec: { template: { spec: { containers: [{ name: "a" }] } } } };
    const patched = strategicMergePatch(
      job,
      { spec: { template: { spec: { containers: [{ name: "b" }] } } } },
      "io.k8s.api.batch.v1.Job",
    );
    expect(patched).toStrictEqual({
      spec: { template: { spec: { containers: [{ name: "b" }, { name: "a" }] } } },
    });
  });
});
