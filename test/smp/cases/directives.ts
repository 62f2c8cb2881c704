import type { SmpCase } from "../support/cases.ts";

const ABC = {
  containers: [
    { name: "a", image: "x" },
    { name: "b", image: "y" },
    { name: "c", image: "z" },
  ],
};
const VOLUMES = {
  volumes: [
    { name: "v", emptyDir: { medium: "Memory" } },
    { name: "w", configMap: { name: "c" } },
  ],
};

export const PATCH_DIRECTIVE_CASES: readonly SmpCase[] = [
  {
    name: "$patch: replace on an object keeps the patch as written, nulls and nested directives included",
    original: { securityContext: { runAsUser: 1, fsGroup: 2 } },
    patch: {
      securityContext: {
        $patch: "replace",
        runAsUser: null,
        seLinuxOptions: { $patch: "delete", user: "u" },
        sysctls: [{ name: "x", $patch: "delete" }],
      },
    },
    expected: {
      securityContext: {
        runAsUser: null,
        seLinuxOptions: { $patch: "delete", user: "u" },
        sysctls: [{ name: "x", $patch: "delete" }],
      },
    },
  },
  {
    name: "$patch: delete on an object leaves an empty object",
    original: { securityContext: { runAsUser: 1, fsGroup: 2 } },
    patch: { securityContext: { $patch: "delete", runAsUser: 5 } },
    expected: { securityContext: {} },
  },
  {
    name: "$patch on an object the original lacks: the object is not added",
    original: { hostname: "h" },
    patch: { securityContext: { $patch: "delete", runAsUser: 5 }, dnsConfig: { $patch: "replace" } },
    expected: { hostname: "h" },
  },
  {
    name: "$patch: merge on an object is rejected",
    original: { securityContext: { runAsUser: 1 } },
    patch: { securityContext: { $patch: "merge", runAsUser: 5 } },
    error: /\$\.securityContext\["\$patch"\]: unknown patch type: "merge" in map/,
  },
  {
    name: "an unknown $patch on an object is rejected",
    original: { securityContext: { runAsUser: 1 } },
    patch: { securityContext: { $patch: "bogus" } },
    error: /unknown patch type: "bogus" in map/,
  },
  {
    name: "$patch: null on an object the original has is rejected",
    original: { securityContext: { runAsUser: 1 } },
    patch: { securityContext: { $patch: null } },
    error: /unknown patch type: null in map/,
  },
  {
    name: "$patch: replace at the top replaces the whole object",
    original: { hostname: "h", securityContext: { runAsUser: 1 } },
    patch: { $patch: "replace", securityContext: { runAsUser: 5 } },
    expected: { securityContext: { runAsUser: 5 } },
  },
  {
    name: "$patch: delete at the top empties the object",
    original: { hostname: "h", securityContext: { runAsUser: 1 } },
    patch: { $patch: "delete", securityContext: { runAsUser: 5 } },
    expected: {},
  },
  {
    name: "$patch: delete on a list item removes the item with that merge key",
    original: ABC,
    patch: { containers: [{ name: "b", $patch: "delete" }] },
    expected: {
      containers: [
        { name: "a", image: "x" },
        { name: "c", image: "z" },
      ],
    },
  },
  {
    name: "$patch: delete on a list item removes every item sharing the key; an unknown key is a no-op",
    original: { containers: [{ name: "a", image: "1" }, { name: "b" }, { name: "a", image: "2" }] },
    patch: {
      containers: [
        { name: "a", $patch: "delete" },
        { name: "zz", $patch: "delete" },
      ],
    },
    expected: { containers: [{ name: "b" }] },
  },
  {
    name: "$patch: delete on a list item without the merge key is rejected",
    original: ABC,
    patch: { containers: [{ $patch: "delete" }] },
    error: /\$\.containers\[0\]: the list item \{"\$patch":"delete"\} does not contain the merge key "name"/,
  },
  {
    name: "$patch: replace in a list makes the other plain items the whole list, as written",
    original: ABC,
    patch: {
      containers: [
        { name: "q", image: null, env: [{ $patch: "delete", name: "z" }] },
        { $patch: "replace" },
        { name: "b", $patch: "delete" },
      ],
    },
    expected: { containers: [{ name: "q", image: null, env: [{ $patch: "delete", name: "z" }] }] },
  },
  {
    name: "$patch: replace on a keyed list item replaces the whole list, without that item",
    original: { containers: [{ name: "a" }, { name: "b" }] },
    patch: { containers: [{ name: "c" }, { name: "a", image: "x", $patch: "replace" }] },
    expected: { containers: [{ name: "c" }] },
  },
  {
    name: "$patch: replace in a list groups items sharing a merge key",
    original: ABC,
    patch: {
      containers: [
        { name: "a", image: "1" },
        { name: "b" },
        { name: "a", image: "2" },
        { $patch: "replace" },
      ],
    },
    expected: { containers: [{ name: "a", image: "1" }, { name: "a", image: "2" }, { name: "b" }] },
  },
  {
    name: "$patch: replace in a list with an empty list empties it",
    original: ABC,
    patch: { containers: [{ $patch: "replace" }] },
    expected: { containers: [] },
  },
  {
    name: "$patch: replace in a list still needs the merge key on every item",
    original: ABC,
    patch: { containers: [{ image: "k" }, { $patch: "replace" }] },
    error: /does not contain the merge key "name"/,
  },
  {
    name: "$patch: merge on a list item is rejected",
    original: ABC,
    patch: { containers: [{ name: "a", $patch: "merge" }] },
    error: /\$\.containers\[0\]\["\$patch"\]: merging lists cannot yet be specified in the patch/,
  },
  {
    name: "an unknown $patch on a list item is rejected",
    original: ABC,
    patch: { containers: [{ name: "a", $patch: "bogus" }] },
    error: /\$\.containers\[0\]\["\$patch"\]: unknown patch type: "bogus" in a list item/,
  },
];

export const RETAIN_KEYS_CASES: readonly SmpCase[] = [
  {
    name: "$retainKeys switches a volume's source",
    original: VOLUMES,
    patch: { volumes: [{ name: "v", hostPath: { path: "/x" }, $retainKeys: ["name", "hostPath"] }] },
    expected: {
      volumes: [
        { name: "v", hostPath: { path: "/x" } },
        { name: "w", configMap: { name: "c" } },
      ],
    },
  },
  {
    name: "$retainKeys may list fields the patch does not set: present ones stay",
    original: { volumes: [{ name: "v", emptyDir: {}, secret: { secretName: "s" } }] },
    patch: { volumes: [{ name: "v", $retainKeys: ["name", "secret", "nfs"] }] },
    expected: { volumes: [{ name: "v", secret: { secretName: "s" } }] },
  },
  {
    name: "$retainKeys rejects a patch that sets a field it does not list",
    original: VOLUMES,
    patch: { volumes: [{ name: "v", hostPath: { path: "/x" }, $retainKeys: ["name"] }] },
    error:
      /\$\.volumes\[0\]\["\$retainKeys"\]: invalid patch format of retainKeys: the patch sets "hostPath"/,
  },
  {
    name: "$retainKeys ignores null fields of the patch",
    original: VOLUMES,
    patch: { volumes: [{ name: "v", emptyDir: null, $retainKeys: ["name"] }] },
    expected: { volumes: [{ name: "v" }, { name: "w", configMap: { name: "c" } }] },
  },
  {
    name: "$retainKeys must be a list",
    original: VOLUMES,
    patch: { volumes: [{ name: "v", $retainKeys: "name" }] },
    error: /invalid patch format of retainKeys: "name" is not a list/,
  },
  {
    name: "$retainKeys: null is rejected",
    original: { hostname: "h" },
    patch: { $retainKeys: null },
    error: /invalid patch format of retainKeys: null is not a list/,
  },
  {
    name: "$retainKeys works on any object, whatever its patch strategy",
    original: { securityContext: { runAsUser: 1, fsGroup: 2 } },
    patch: { securityContext: { $retainKeys: ["fsGroup"] } },
    expected: { securityContext: { fsGroup: 2 } },
  },
  {
    name: "$retainKeys at the top, with list directives that need not be listed",
    original: { hostname: "h", subdomain: "s", containers: [{ name: "a" }] },
    patch: { $retainKeys: ["hostname"], "$setElementOrder/containers": [{ name: "a" }] },
    expected: { hostname: "h" },
  },
  {
    name: "$retainKeys entries that are not strings are ignored",
    original: { hostname: "h", subdomain: "s" },
    patch: { $retainKeys: [1, "hostname", null] },
    expected: { hostname: "h" },
  },
  {
    name: "$retainKeys with an object entry crashes kubectl",
    original: { hostname: "h" },
    patch: { $retainKeys: [{ a: 1 }] },
    error: /\$\["\$retainKeys"\]: a JSON object cannot be compared or used as a set member/,
  },
  {
    name: "an empty $retainKeys clears the object",
    original: { hostname: "h" },
    patch: { $retainKeys: [] },
    expected: {},
  },
];

export const DELETE_FROM_PRIMITIVE_LIST_CASES: readonly SmpCase[] = [
  {
    name: "$deleteFromPrimitiveList removes every occurrence of each listed value",
    on: "metadata",
    original: { name: "p", finalizers: ["a", "b", "c", "b"] },
    patch: { "$deleteFromPrimitiveList/finalizers": ["b", "zz"] },
    expected: { name: "p", finalizers: ["a", "c"] },
  },
  {
    name: "$deleteFromPrimitiveList on a list the original lacks adds nothing",
    on: "metadata",
    original: { name: "p" },
    patch: { "$deleteFromPrimitiveList/finalizers": ["b"] },
    expected: { name: "p" },
  },
  {
    name: "$deleteFromPrimitiveList with an empty list changes nothing",
    on: "metadata",
    original: { name: "p", finalizers: ["a"] },
    patch: { "$deleteFromPrimitiveList/finalizers": [] },
    expected: { name: "p", finalizers: ["a"] },
  },
  {
    name: "$deleteFromPrimitiveList: null deletes the whole list",
    on: "metadata",
    original: { name: "p", finalizers: ["a", "b"] },
    patch: { "$deleteFromPrimitiveList/finalizers": null },
    expected: { name: "p" },
  },
  {
    name: "$deleteFromPrimitiveList with a value of another JSON type does nothing",
    on: "metadata",
    original: { name: "p", finalizers: ["a", "b"] },
    patch: { "$deleteFromPrimitiveList/finalizers": "b" },
    expected: { name: "p", finalizers: ["a", "b"] },
  },
  {
    name: "$deleteFromPrimitiveList with a scalar of the same type sets the field",
    original: { hostname: "h" },
    patch: { "$deleteFromPrimitiveList/hostname": "x" },
    expected: { hostname: "x" },
  },
  {
    name: "$deleteFromPrimitiveList with an object merges it",
    original: { securityContext: { runAsUser: 1 } },
    patch: { "$deleteFromPrimitiveList/securityContext": { fsGroup: 5 } },
    expected: { securityContext: { runAsUser: 1, fsGroup: 5 } },
  },
  {
    name: "$deleteFromPrimitiveList deletes from an atomic list of scalars too (args)",
    original: { containers: [{ name: "a", args: ["x", "y", "z", "y"] }] },
    patch: { containers: [{ name: "a", "$deleteFromPrimitiveList/args": ["y"] }] },
    expected: { containers: [{ name: "a", args: ["x", "z"] }] },
  },
  {
    name: "$deleteFromPrimitiveList on a keyed list merges the items instead",
    original: { containers: [{ name: "a" }, { name: "b" }] },
    patch: { "$deleteFromPrimitiveList/containers": [{ name: "b", image: "q" }, { name: "z" }] },
    expected: { containers: [{ name: "a" }, { name: "b", image: "q" }, { name: "z" }] },
  },
  {
    name: "$deleteFromPrimitiveList on a list of objects without merge key is rejected",
    original: { tolerations: [{ key: "a" }] },
    patch: { "$deleteFromPrimitiveList/tolerations": [{ key: "a" }] },
    error:
      /\$\["\$deleteFromPrimitiveList\/tolerations"\]: cannot merge a list of objects that has no merge key/,
  },
  {
    name: "$deleteFromPrimitiveList of values of another type is rejected",
    on: "metadata",
    original: { name: "p", finalizers: ["a"] },
    patch: { "$deleteFromPrimitiveList/finalizers": [1] },
    error: /list items must all have the same JSON type/,
  },
  {
    name: "$deleteFromPrimitiveList on a field the schema does not know is rejected",
    original: { fooBar: ["a"] },
    patch: { "$deleteFromPrimitiveList/fooBar": ["a"] },
    error: /unable to find api field in struct PodSpec for the json field "fooBar"/,
  },
  {
    name: "$deleteFromPrimitiveList without /field is rejected",
    on: "metadata",
    original: { name: "p", finalizers: ["a"] },
    patch: { $deleteFromPrimitiveList: ["a"] },
    error: /\$\["\$deleteFromPrimitiveList"\]: invalid patch format of primitive list/,
  },
  {
    name: "$deleteFromPrimitiveList/ with an empty field name is a no-op",
    original: { containers: [{ name: "a" }] },
    patch: { "$deleteFromPrimitiveList/": [1] },
    expected: { containers: [{ name: "a" }] },
  },
  {
    name: "$deleteFromPrimitiveList on both empty lists keeps the empty list",
    original: { tolerations: [] },
    patch: { "$deleteFromPrimitiveList/tolerations": [] },
    expected: { tolerations: [] },
  },
];

export const SET_ELEMENT_ORDER_CASES: readonly SmpCase[] = [
  {
    name: "$setElementOrder alone reorders the list",
    original: ABC,
    patch: { "$setElementOrder/containers": [{ name: "c" }, { name: "a" }, { name: "b" }] },
    expected: {
      containers: [
        { name: "c", image: "z" },
        { name: "a", image: "x" },
        { name: "b", image: "y" },
      ],
    },
  },
  {
    name: "$setElementOrder missing items: they keep their original neighbours",
    original: ABC,
    patch: { "$setElementOrder/containers": [{ name: "c" }, { name: "a" }] },
    expected: {
      containers: [
        { name: "b", image: "y" },
        { name: "c", image: "z" },
        { name: "a", image: "x" },
      ],
    },
  },
  {
    name: "$setElementOrder naming items the list does not have ignores them",
    original: ABC,
    patch: { "$setElementOrder/containers": [{ name: "z" }, { name: "c" }, { name: "q" }, { name: "a" }] },
    expected: {
      containers: [
        { name: "b", image: "y" },
        { name: "c", image: "z" },
        { name: "a", image: "x" },
      ],
    },
  },
  {
    name: "$setElementOrder with a consistent patch list merges, then orders",
    original: ABC,
    patch: {
      "$setElementOrder/containers": [{ name: "c" }, { name: "d" }, { name: "a" }],
      containers: [
        { name: "d", image: "w" },
        { name: "a", image: "X" },
      ],
    },
    expected: {
      containers: [
        { name: "b", image: "y" },
        { name: "c", image: "z" },
        { name: "d", image: "w" },
        { name: "a", image: "X" },
      ],
    },
  },
  {
    name: "$setElementOrder with deletions (as kubectl apply sends them)",
    original: ABC,
    patch: {
      "$setElementOrder/containers": [{ name: "c" }, { name: "b" }, { name: "d" }],
      containers: [{ name: "d" }, { name: "a", $patch: "delete" }],
    },
    expected: { containers: [{ name: "c", image: "z" }, { name: "b", image: "y" }, { name: "d" }] },
  },
  {
    name: "$setElementOrder orders by the original's memory, where an added item took a deleted one's slot (3 items)",
    original: { containers: [{ name: "a" }, { name: "b" }, { name: "c" }] },
    patch: {
      "$setElementOrder/containers": [{ name: "d" }],
      containers: [{ name: "a", $patch: "delete" }, { name: "d" }],
    },
    expected: { containers: [{ name: "b" }, { name: "c" }, { name: "d" }] },
  },
  {
    name: "$setElementOrder orders by the original's memory, where an added item took a deleted one's slot (4 items)",
    original: { containers: [{ name: "a" }, { name: "b" }, { name: "c" }, { name: "e" }] },
    patch: {
      "$setElementOrder/containers": [{ name: "d" }],
      containers: [{ name: "a", $patch: "delete" }, { name: "d" }],
    },
    expected: { containers: [{ name: "b" }, { name: "c" }, { name: "e" }, { name: "d" }] },
  },
  {
    name: "$setElementOrder: without a deletion the added item stays out of the original's memory",
    original: { containers: [{ name: "a" }, { name: "b" }, { name: "c" }] },
    patch: {
      "$setElementOrder/containers": [{ name: "d" }],
      containers: [{ name: "d" }],
    },
    expected: { containers: [{ name: "d" }, { name: "a" }, { name: "b" }, { name: "c" }] },
  },
  {
    name: "$setElementOrder: a $patch item at the end of the patch list is never reached and fails the check",
    original: ABC,
    patch: {
      "$setElementOrder/containers": [{ name: "e" }, { name: "d" }],
      containers: [{ name: "d" }, { name: "e" }, { $patch: "replace" }],
    },
    error: /doesn't match the \$setElementOrder list/,
  },
  {
    name: "$setElementOrder with $patch: replace and a matching order",
    original: ABC,
    patch: {
      "$setElementOrder/containers": [{ name: "e" }, { name: "d" }],
      containers: [{ $patch: "replace" }, { name: "e" }, { name: "d" }],
    },
    expected: { containers: [{ name: "e" }, { name: "d" }] },
  },
  {
    name: "$setElementOrder rejects a patch list in another order",
    original: ABC,
    patch: {
      "$setElementOrder/containers": [{ name: "c" }, { name: "a" }, { name: "d" }],
      containers: [
        { name: "d", image: "w" },
        { name: "a", image: "X" },
      ],
    },
    error:
      /\$\["\$setElementOrder\/containers"\]: the order in the patch list .* doesn't match the \$setElementOrder list/,
  },
  {
    name: "$setElementOrder rejects a patch item it does not name",
    original: ABC,
    patch: { "$setElementOrder/containers": [{ name: "c" }], containers: [{ name: "d", image: "w" }] },
    error: /doesn't match the \$setElementOrder list/,
  },
  {
    name: "$setElementOrder rejects an item without the merge key",
    original: ABC,
    patch: { "$setElementOrder/containers": [{ image: "c" }] },
    error:
      /\$\["\$setElementOrder\/containers"\]: the list item \{"image":"c"\} does not contain the merge key "name"/,
  },
  {
    name: "$setElementOrder must be a list",
    original: ABC,
    patch: { "$setElementOrder/containers": { name: "c" } },
    error: /\$\["\$setElementOrder\/containers"\]: expected a list/,
  },
  {
    name: "$setElementOrder with a null patch list is rejected",
    original: ABC,
    patch: { "$setElementOrder/containers": [{ name: "a" }], containers: null },
    error: /\$\.containers: expected a list, but received null/,
  },
  {
    name: "$setElementOrder for a list only the patch has keeps its nulls, drops $patch items",
    original: {},
    patch: {
      "$setElementOrder/containers": [{ name: "b" }, { name: "a" }],
      containers: [
        { name: "a", image: null, $patch: "x" },
        { name: "b", image: null, env: [{ name: "q", $patch: "delete" }] },
      ],
    },
    expected: { containers: [{ name: "b", image: null, env: [] }] },
  },
  {
    name: "$setElementOrder for a list neither side has does nothing",
    original: { hostname: "h" },
    patch: { "$setElementOrder/containers": [{ name: "b" }] },
    expected: { hostname: "h" },
  },
  {
    name: "$setElementOrder on an empty original list is rejected (no element type)",
    original: { containers: [] },
    patch: { "$setElementOrder/containers": [{ name: "a" }] },
    error: /no elements in any of the given lists/,
  },
  {
    name: "$setElementOrder that is empty leaves the order alone",
    original: ABC,
    patch: { "$setElementOrder/containers": [] },
    expected: ABC,
  },
  {
    name: "$setElementOrder on a field the schema does not know is rejected",
    original: {},
    patch: { "$setElementOrder/fooBar": [{ name: "b" }] },
    error: /unable to find api field in struct PodSpec for the json field "fooBar"/,
  },
  {
    name: "$setElementOrder on a scalar field is rejected",
    original: { hostname: "x" },
    patch: { "$setElementOrder/hostname": ["b"] },
    error: /\$\.hostname: expected a list in the original/,
  },
  {
    name: "$setElementOrder on an atomic list of objects crashes kubectl",
    original: { tolerations: [{ key: "a" }, { key: "b" }] },
    patch: { "$setElementOrder/tolerations": [{ key: "b" }, { key: "a" }] },
    error: /cannot be compared or used as a set member/,
  },
  {
    name: "$setElementOrder on an atomic list of scalars must agree with the replacing list",
    original: { containers: [{ name: "a", args: ["x"] }] },
    patch: { containers: [{ name: "a", args: ["y", "z"], "$setElementOrder/args": ["z", "y", "x"] }] },
    error: /doesn't match the \$setElementOrder list/,
  },
  {
    name: "$setElementOrder on an atomic list of scalars keeps the replacing list",
    original: { containers: [{ name: "a", args: ["x"] }] },
    patch: { containers: [{ name: "a", args: ["y", "z"], "$setElementOrder/args": ["x", "y", "q", "z"] }] },
    expected: { containers: [{ name: "a", args: ["y", "z"] }] },
  },
  {
    name: "$setElementOrder on a scalar merge list orders values",
    on: "metadata",
    original: { name: "p", finalizers: ["a", "b", "c"] },
    patch: { "$setElementOrder/finalizers": ["c", "d", "a"], finalizers: ["d"] },
    expected: { name: "p", finalizers: ["b", "c", "d", "a"] },
  },
  {
    name: "$setElementOrder and $deleteFromPrimitiveList together: merge and order, then delete",
    on: "metadata",
    original: { name: "p", finalizers: ["a", "b", "c"] },
    patch: {
      "$setElementOrder/finalizers": ["c", "d", "a"],
      finalizers: ["d"],
      "$deleteFromPrimitiveList/finalizers": ["b", "d"],
    },
    expected: { name: "p", finalizers: ["c", "a"] },
  },
  {
    name: "$setElementOrder with a bad prefix is rejected",
    original: ABC,
    patch: { "$setElementOrderX/containers": [1] },
    error: /invalid patch format of setElementOrder list/,
  },
];
