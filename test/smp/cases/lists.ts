import type { SmpCase } from "../support/cases.ts";

const ABC = {
  containers: [
    { name: "a", image: "x" },
    { name: "b", image: "y" },
    { name: "c", image: "z" },
  ],
};

/** Lists: the merge strategy (keyed objects, scalars), atomic lists, ordering, and what fails. */
export const LIST_CASES: readonly SmpCase[] = [
  {
    name: "keyed list: patch items in patch order, original-only items interleaved by original position",
    original: ABC,
    patch: { containers: [{ name: "c", image: "Z" }, { name: "d" }, { name: "a", image: "X" }] },
    expected: {
      containers: [
        { name: "b", image: "y" },
        { name: "c", image: "Z" },
        { name: "d" },
        { name: "a", image: "X" },
      ],
    },
  },
  {
    name: "keyed list: new items come before the original ones",
    original: { containers: [{ name: "a" }, { name: "b" }] },
    patch: { containers: [{ name: "z" }, { name: "y" }] },
    expected: { containers: [{ name: "z" }, { name: "y" }, { name: "a" }, { name: "b" }] },
  },
  {
    name: "keyed list: an item merges recursively, its own keyed lists too",
    original: {
      containers: [
        {
          name: "a",
          env: [
            { name: "A", value: "1" },
            { name: "B", value: "2" },
          ],
          volumeMounts: [{ name: "v", mountPath: "/v" }],
        },
      ],
    },
    patch: {
      containers: [
        {
          name: "a",
          env: [{ name: "B", value: "3" }, { name: "C" }],
          volumeMounts: [{ name: "w", mountPath: "/v", readOnly: true }],
        },
      ],
    },
    expected: {
      containers: [
        {
          name: "a",
          env: [{ name: "A", value: "1" }, { name: "B", value: "3" }, { name: "C" }],
          volumeMounts: [{ name: "w", mountPath: "/v", readOnly: true }],
        },
      ],
    },
  },
  {
    name: "keyed list: a new item keeps its nulls and directives as written",
    original: { containers: [{ name: "a", image: "x" }] },
    patch: {
      containers: [
        {
          name: "b",
          image: null,
          env: [
            { $patch: "delete", name: "q" },
            { name: "E", value: null },
          ],
          securityContext: { $patch: "replace" },
          "$setElementOrder/env": [{ name: "E" }],
        },
      ],
    },
    expected: {
      containers: [
        {
          name: "b",
          image: null,
          env: [
            { $patch: "delete", name: "q" },
            { name: "E", value: null },
          ],
          securityContext: { $patch: "replace" },
          "$setElementOrder/env": [{ name: "E" }],
        },
        { name: "a", image: "x" },
      ],
    },
  },
  {
    name: "keyed list: the patch merges into the first of original items sharing a key",
    original: { containers: [{ name: "a", image: "1" }, { name: "a", image: "2" }, { name: "b" }] },
    patch: { containers: [{ name: "a", image: "x" }] },
    expected: { containers: [{ name: "a", image: "x" }, { name: "a", image: "2" }, { name: "b" }] },
  },
  {
    name: "keyed list: a repeated new item merges into its first occurrence",
    original: { containers: [{ name: "a" }] },
    patch: {
      containers: [
        { name: "d", image: "1", env: [{ name: "e" }] },
        { name: "d", image: "2", env: [{ name: "f" }] },
      ],
    },
    expected: { containers: [{ name: "d", image: "2", env: [{ name: "f" }, { name: "e" }] }, { name: "a" }] },
  },
  {
    name: "keyed list: repeated patch items merge the same nested list twice, the second time ordered",
    original: { containers: [{ name: "a", env: [{ name: "A" }, { name: "B" }, { name: "C" }] }] },
    patch: {
      containers: [
        { name: "a", env: [{ name: "D" }] },
        {
          name: "a",
          env: [{ name: "A", $patch: "delete" }, { name: "E" }],
          "$setElementOrder/env": [{ name: "E" }],
        },
      ],
    },
    expected: {
      containers: [{ name: "a", env: [{ name: "D" }, { name: "B" }, { name: "C" }, { name: "E" }] }],
    },
  },
  {
    name: "keyed list: ports merge by containerPort alone, not by the list-map-keys (containerPort, protocol)",
    original: {
      containers: [
        {
          name: "a",
          ports: [
            { containerPort: 80, protocol: "TCP" },
            { containerPort: 80, protocol: "UDP" },
          ],
        },
      ],
    },
    patch: { containers: [{ name: "a", ports: [{ containerPort: 80, name: "http" }] }] },
    expected: {
      containers: [
        {
          name: "a",
          ports: [
            { containerPort: 80, name: "http", protocol: "TCP" },
            { containerPort: 80, protocol: "UDP" },
          ],
        },
      ],
    },
  },
  {
    name: "keyed list: volumes (merge,retainKeys) merge by name without clearing other sources",
    original: {
      volumes: [
        { name: "v", emptyDir: {} },
        { name: "w", configMap: { name: "c" } },
      ],
    },
    patch: { volumes: [{ name: "v", hostPath: { path: "/x" } }] },
    expected: {
      volumes: [
        { name: "v", emptyDir: {}, hostPath: { path: "/x" } },
        { name: "w", configMap: { name: "c" } },
      ],
    },
  },
  {
    name: "keyed list: imagePullSecrets, hostAliases and schedulingGates merge by their keys",
    original: {
      imagePullSecrets: [{ name: "r1" }],
      hostAliases: [{ ip: "10.0.0.1", hostnames: ["a"] }],
      schedulingGates: [{ name: "g1" }],
    },
    patch: {
      imagePullSecrets: [{ name: "r2" }],
      hostAliases: [{ ip: "10.0.0.1", hostnames: ["b"] }],
      schedulingGates: [{ name: "g1" }, { name: "g2" }],
    },
    expected: {
      imagePullSecrets: [{ name: "r2" }, { name: "r1" }],
      hostAliases: [{ ip: "10.0.0.1", hostnames: ["b"] }],
      schedulingGates: [{ name: "g1" }, { name: "g2" }],
    },
  },
  {
    name: "keyed list: an empty patch list changes nothing",
    original: ABC,
    patch: { containers: [] },
    expected: ABC,
  },
  {
    name: "keyed list: an empty patch list on an empty original stays empty",
    original: { containers: [] },
    patch: { containers: [] },
    expected: { containers: [] },
  },
  {
    name: "keyed list: patch items on an empty original are taken as written",
    original: { containers: [] },
    patch: { containers: [{ name: "a", image: null }] },
    expected: { containers: [{ name: "a", image: null }] },
  },
  {
    name: "atomic list of objects (tolerations) is replaced",
    original: { tolerations: [{ key: "a" }, { key: "b" }] },
    patch: { tolerations: [{ key: "c", value: null }] },
    expected: { tolerations: [{ key: "c", value: null }] },
  },
  {
    name: "listType map without a patch strategy (resources.claims) is replaced",
    original: { containers: [{ name: "a", resources: { claims: [{ name: "x" }] } }] },
    patch: { containers: [{ name: "a", resources: { claims: [{ name: "y" }] } }] },
    expected: { containers: [{ name: "a", resources: { claims: [{ name: "y" }] } }] },
  },
  {
    name: "atomic list of scalars (args, hostnames) is replaced, duplicates and all",
    original: { containers: [{ name: "a", args: ["x", "y"] }], hostAliases: [{ ip: "1", hostnames: ["a"] }] },
    patch: { containers: [{ name: "a", args: ["y", "y"] }], hostAliases: [{ ip: "1", hostnames: [] }] },
    expected: { containers: [{ name: "a", args: ["y", "y"] }], hostAliases: [{ ip: "1", hostnames: [] }] },
  },
  {
    name: "atomic list: the patch list is taken as written, directives and nulls included",
    original: { tolerations: [{ key: "a" }] },
    patch: { tolerations: [{ key: "b", $patch: "delete" }, null] },
    expected: { tolerations: [{ key: "b", $patch: "delete" }, null] },
  },
  {
    name: "scalar merge list (finalizers): de-duplicated, patch order first, original order around it",
    on: "metadata",
    original: { name: "p", finalizers: ["a", "b", "c", "b"] },
    patch: { finalizers: ["d", "b", "e", "d"] },
    expected: { name: "p", finalizers: ["d", "a", "b", "e", "c"] },
  },
  {
    name: "scalar merge list: patch values an original has keep the patch's relative order",
    on: "metadata",
    original: { name: "p", finalizers: ["a", "b", "c", "d", "e"] },
    patch: { finalizers: ["e", "x", "a"] },
    expected: { name: "p", finalizers: ["b", "c", "d", "e", "x", "a"] },
  },
  {
    name: "scalar merge list: an original of 3 with a duplicate has spare capacity, so kubectl's order changes",
    on: "metadata",
    original: { name: "p", finalizers: ["a", "b", "a"] },
    patch: { finalizers: ["c"] },
    expected: { name: "p", finalizers: ["a", "b", "c"] },
  },
  {
    name: "scalar merge list: an original of 4 with a duplicate has no spare capacity",
    on: "metadata",
    original: { name: "p", finalizers: ["a", "b", "a", "d"] },
    patch: { finalizers: ["c"] },
    expected: { name: "p", finalizers: ["c", "a", "b", "d"] },
  },
  {
    name: "scalar merge list: an original of 5 with duplicates has spare capacity",
    on: "metadata",
    original: { name: "p", finalizers: ["a", "b", "a", "d", "b"] },
    patch: { finalizers: ["c", "e"] },
    expected: { name: "p", finalizers: ["a", "b", "d", "c", "e"] },
  },
  {
    name: "keyed list: an item without its merge key fails",
    original: ABC,
    patch: { containers: [{ name: "d" }, { image: "k" }] },
    error: /\$\.containers\[1\]: the list item \{"image":"k"\} does not contain the merge key "name"/,
  },
  {
    name: "keyed list: an original item without its merge key fails",
    original: { containers: [{ image: "x" }] },
    patch: { containers: [{ name: "k" }] },
    error: /\$\.containers: the list item \{"image":"x"\} does not contain the merge key "name"/,
  },
  {
    name: "keyed list: items of different JSON types fail",
    original: { containers: [{ name: "a" }] },
    patch: { containers: [{ name: "b" }, "a"] },
    error: /\$\.containers: list items must all have the same JSON type/,
  },
  {
    name: "keyed list: scalars where objects are expected fail",
    original: { containers: ["a"] },
    patch: { containers: ["b"] },
    error: /\$\.containers: expected a JSON object in the list, but found "a"/,
  },
  {
    name: "merge list: a null item fails",
    original: { containers: [{ name: "a" }] },
    patch: { containers: [null] },
    error: /\$\.containers: list items must all have the same JSON type/,
  },
  {
    name: "merge list: a null first item crashes kubectl",
    original: { containers: [null] },
    patch: { containers: [{ name: "a" }] },
    error: /\$\.containers: a list item is null/,
  },
  {
    name: "merge list: lists of lists fail",
    original: { containers: [["a"]] },
    patch: { containers: [["b"]] },
    error: /\$\.containers: lists of lists are not supported/,
  },
  {
    name: "scalar merge list: numbers and strings cannot mix",
    on: "metadata",
    original: { name: "p", finalizers: ["a"] },
    patch: { finalizers: [1] },
    error: /\$\.finalizers: list items must all have the same JSON type \(Go: string\), found a int64/,
  },
];
