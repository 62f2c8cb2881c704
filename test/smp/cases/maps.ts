import type { SmpCase } from "../support/cases.ts";

/** Objects: recursive merge, null, values the original lacks, JSON type changes, unknown fields. */
export const MAP_CASES: readonly SmpCase[] = [
  {
    name: "merges nested objects field by field",
    original: { securityContext: { runAsUser: 1, fsGroup: 2, seLinuxOptions: { user: "u", role: "r" } } },
    patch: { securityContext: { runAsUser: 3, runAsGroup: 4, seLinuxOptions: { role: "R" } } },
    expected: {
      securityContext: { runAsUser: 3, fsGroup: 2, runAsGroup: 4, seLinuxOptions: { user: "u", role: "R" } },
    },
  },
  {
    name: "null deletes a field",
    original: { hostname: "h", subdomain: "s", securityContext: { runAsUser: 1 } },
    patch: { hostname: null, securityContext: null },
    expected: { subdomain: "s" },
  },
  {
    name: "null for a field the original lacks is dropped",
    original: { hostname: "h" },
    patch: { subdomain: null, securityContext: { runAsUser: null } },
    expected: { hostname: "h", securityContext: {} },
  },
  {
    name: "a value the original lacks loses its nulls at every depth, inside lists too",
    original: {},
    patch: {
      securityContext: { runAsUser: null, seLinuxOptions: { level: null, user: "u" } },
      containers: [{ name: "a", image: null, env: [{ name: "x", value: null }] }],
    },
    expected: {
      securityContext: { seLinuxOptions: { user: "u" } },
      containers: [{ name: "a", env: [{ name: "x" }] }],
    },
  },
  {
    name: "a value the original lacks drops every object carrying $patch, keeps other directives as data",
    original: { containers: [{ name: "a" }] },
    patch: {
      fooBar: {
        gone: { c: 1, $patch: "replace" },
        list: [
          { $patch: "delete", b: 1 },
          { c: 1 },
          { $patch: "x" },
          { d: { $patch: "delete" } },
          [{ $patch: "x" }, 1],
        ],
        $retainKeys: ["a"],
        "$setElementOrder/x": [1],
        "$deleteFromPrimitiveList/y": [1],
      },
    },
    expected: {
      containers: [{ name: "a" }],
      fooBar: {
        list: [{ c: 1 }, {}, [1]],
        $retainKeys: ["a"],
        "$setElementOrder/x": [1],
        "$deleteFromPrimitiveList/y": [1],
      },
    },
  },
  {
    name: "a new object whose $patch is null keeps the object (nulls go before directives)",
    original: {},
    patch: { fooBar: { $patch: null, a: 1 }, securityContext: { seLinuxOptions: { $patch: null } } },
    expected: { fooBar: { a: 1 }, securityContext: { seLinuxOptions: {} } },
  },
  {
    name: "a new value that is itself an object with $patch is not added",
    original: { hostname: "h" },
    patch: { securityContext: { $patch: "replace", runAsUser: 1 }, fooBar: { $patch: "delete" } },
    expected: { hostname: "h" },
  },
  {
    name: "a value of another JSON type replaces the original, cleaned like a new value",
    original: { securityContext: { runAsUser: 1 }, containers: [{ name: "a" }], nodeSelector: { a: "1" } },
    patch: {
      securityContext: [{ a: null, $patch: "x" }, { b: { c: null } }],
      containers: { name: "a", x: null, y: { $patch: "delete" } },
      nodeSelector: "zone",
    },
    expected: { securityContext: [{ b: {} }], containers: { name: "a" }, nodeSelector: "zone" },
  },
  {
    name: "a scalar replaced by an object carrying $patch removes the field",
    original: { hostname: "h", subdomain: "s" },
    patch: { hostname: { $patch: "delete" }, subdomain: [{ $patch: "replace" }] },
    expected: { subdomain: [] },
  },
  {
    name: "scalars: the patch wins, whatever its JSON type",
    original: { hostname: "h", terminationGracePeriodSeconds: 30, hostNetwork: false },
    patch: { hostname: 5, terminationGracePeriodSeconds: 10, hostNetwork: "yes" },
    expected: { hostname: 5, terminationGracePeriodSeconds: 10, hostNetwork: "yes" },
  },
  {
    name: "an atomic map type (nodeSelector) is still merged key by key",
    original: { nodeSelector: { a: "1", b: "2" } },
    patch: { nodeSelector: { a: "3", c: "4", b: null } },
    expected: { nodeSelector: { a: "3", c: "4" } },
  },
  {
    name: "an atomic struct (configMapKeyRef, x-kubernetes-map-type: atomic) is still merged field by field",
    original: {
      containers: [
        { name: "a", env: [{ name: "e", valueFrom: { configMapKeyRef: { name: "c", key: "k" } } }] },
      ],
    },
    patch: {
      containers: [{ name: "a", env: [{ name: "e", valueFrom: { configMapKeyRef: { key: "k2" } } }] }],
    },
    expected: {
      containers: [
        { name: "a", env: [{ name: "e", valueFrom: { configMapKeyRef: { name: "c", key: "k2" } } }] },
      ],
    },
  },
  {
    name: "resource quantities merge as map values",
    original: {
      containers: [{ name: "a", resources: { limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "1" } } }],
    },
    patch: {
      containers: [
        { name: "a", resources: { limits: { cpu: "2", memory: null }, requests: { memory: "2Gi" } } },
      ],
    },
    expected: {
      containers: [{ name: "a", resources: { limits: { cpu: "2" }, requests: { cpu: "1", memory: "2Gi" } } }],
    },
  },
  {
    name: "a field the schema does not know takes a scalar patch",
    original: { fooBar: "x" },
    patch: { fooBar: "y", bazQux: 1 },
    expected: { fooBar: "y", bazQux: 1 },
  },
  {
    name: "a field the schema does not know takes a new object or list as is",
    original: { hostname: "h" },
    patch: { fooBar: { a: { b: 1 } }, bazQux: [{ a: 1 }] },
    expected: { hostname: "h", fooBar: { a: { b: 1 } }, bazQux: [{ a: 1 }] },
  },
  {
    name: "an unknown $-prefixed key is an ordinary field",
    original: { containers: [{ name: "a" }] },
    patch: { $foo: { $patch: "delete" }, $bar: 1 },
    expected: { containers: [{ name: "a" }], $bar: 1 },
  },
  {
    name: "a field the schema does not know fails when both sides are objects",
    original: { fooBar: { b: 1 } },
    patch: { fooBar: { a: 1 } },
    error: /\$\.fooBar: unable to find api field in struct PodSpec for the json field "fooBar"/,
  },
  {
    name: "a field the schema does not know fails when both sides are lists",
    original: { fooBar: [1] },
    patch: { fooBar: [2] },
    error: /\$\.fooBar: unable to find api field in struct PodSpec for the json field "fooBar"/,
  },
  {
    name: "a nested unknown field fails with the path of the item in the patch",
    original: { containers: [{ name: "a" }, { name: "b", fooBar: { x: 1 } }] },
    patch: { containers: [{ name: "c" }, { name: "b", fooBar: { y: 1 } }] },
    error: /\$\.containers\[1\]\.fooBar: unable to find api field in struct Container/,
  },
  {
    name: "objects on both sides of a scalar-typed field merge while only scalars meet",
    original: { hostname: { a: 1, b: 2 } },
    patch: { hostname: { a: 3 } },
    expected: { hostname: { a: 3, b: 2 } },
  },
  {
    name: "objects nested in a scalar-typed field cannot merge",
    original: { hostname: { a: { b: 1 } } },
    patch: { hostname: { a: { b: 2 } } },
    error: /\$\.hostname\.a: cannot merge "a": its parent is a string, not a struct/,
  },
  {
    name: "objects nested in a map of strings cannot merge",
    original: { nodeSelector: { a: { b: 1 } } },
    patch: { nodeSelector: { a: { b: 2 } } },
    error: /\$\.nodeSelector\.a: cannot merge "a": its parent is a map, not a struct/,
  },
  {
    name: "lists nested in a map of strings cannot merge",
    original: { nodeSelector: { a: [1] } },
    patch: { nodeSelector: { a: [2] } },
    error: /\$\.nodeSelector\.a: cannot merge "a": its parent is a map, not a struct/,
  },
  {
    name: "an object given for a list field merges while only scalars meet",
    original: { containers: { a: 1 } },
    patch: { containers: { a: 2 } },
    expected: { containers: { a: 2 } },
  },
  {
    name: "lists on both sides of a value-typed struct field fail",
    original: { containers: [{ name: "a", resources: [1] }] },
    patch: { containers: [{ name: "a", resources: [2] }] },
    error:
      /\$\.containers\[0\]\.resources: expected a list field, but Container\.resources is struct ResourceRequirements/,
  },
  {
    name: "lists on both sides of a map field fail",
    original: { nodeSelector: [1] },
    patch: { nodeSelector: [2] },
    error: /\$\.nodeSelector: expected a list field/,
  },
];
