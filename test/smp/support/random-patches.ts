/**
 * Seeded random Pods and strategic merge patches for the kubectl differential test. The patches use
 * every directive, valid and not, on the lists and objects of a PodSpec (and on `metadata.finalizers`,
 * the one scalar merge list of a Pod). Two things are never generated: fields newer than kubectl
 * 1.32 (`schedulingGroup`, `restartPolicyRules`, `env[].valueFrom.fileKeyRef`, which kubectl rejects
 * when both sides hold them), and a list next to its own `$deleteFromPrimitiveList` (kubectl visits
 * the two in random order, so it has no single answer).
 */
import type { Json } from "./cases.ts";

/** Fields of the 1.36 schema that kubectl 1.32 does not know: the generator never uses them. */
export const FIELDS_UNKNOWN_TO_KUBECTL_1_32 = [
  "PodSpec.schedulingGroup",
  "Container.restartPolicyRules",
  "EphemeralContainer.restartPolicyRules",
  "EnvVarSource.fileKeyRef",
] as const;

/** mulberry32: small, fast, and the same sequence on every machine. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(below: number): number {
    return Math.floor(this.next() * below);
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  shuffle<T>(items: readonly T[]): T[] {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy;
  }

  /** Up to `max` distinct items, in random order. */
  some<T>(items: readonly T[], max = items.length): T[] {
    return this.shuffle(items).slice(0, this.int(Math.min(max, items.length) + 1));
  }

  /** Up to `max` items drawn with repetition. */
  draws<T>(items: readonly T[], max: number): T[] {
    return Array.from({ length: this.int(max + 1) }, () => this.pick(items));
  }
}

const CONTAINERS = ["app", "sidecar", "agent", "checkout", "cache"];
const INIT_CONTAINERS = ["init", "setup", "copy"];
const ENV = ["A", "B", "C", "D", "E", "F"];
const MOUNTS = ["/a", "/b", "/c", "/d", "/e"];
const PORTS = [80, 443, 8080, 9090];
const VOLUMES = ["v1", "v2", "v3", "v4", "v5", "v6"];
const SECRETS = ["r1", "r2", "r3", "r4"];
const IPS = ["10.0.0.1", "10.0.0.2", "10.0.0.3"];
const HOSTNAMES = ["h1", "h2", "h3"];
const TAINTS = ["k1", "k2", "k3"];
const LABELS = ["zone", "arch", "pool", "tier"];
const FINALIZERS = ["f1", "f2", "f3", "f4", "f5"];
const GATES = ["g1", "g2", "g3", "g4"];
const TOPOLOGY = ["zone", "host", "rack"];
const ARGS = ["x", "y", "z", "w"];
const IMAGES = ["alpine", "busybox", "ubuntu", "node"];
const GROUPS = [1, 2, 3, 4];
const SOURCES = ["emptyDir", "configMap", "secret", "hostPath"] as const;

export interface GeneratedCase {
  readonly index: number;
  readonly spec: Json;
  readonly metadata: Json;
  readonly specPatch: Json;
  readonly metadataPatch: Json | undefined;
  /** What the generator meant to exercise (beyond the directives found in the patch). */
  readonly features: readonly string[];
}

/** How a keyed list's items are made and patched. */
interface KeyedList {
  readonly mergeKey: string;
  readonly keys: readonly (string | number)[];
  readonly item: (r: Random, key: string | number) => Json;
  readonly change: (r: Random, key: string | number, original: Json | undefined) => Json;
}

const ENV_LIST: KeyedList = {
  mergeKey: "name",
  keys: ENV,
  item: (r, name) =>
    r.chance(0.8)
      ? { name, value: r.pick(["1", "2", "3"]) }
      : { name, valueFrom: { configMapKeyRef: { name: "cm", key: r.pick(["k1", "k2"]) } } },
  change: (r, name) => {
    const change: Json = { name };
    if (r.chance(0.6)) change.value = r.chance(0.2) ? null : r.pick(["7", "8"]);
    if (r.chance(0.2)) change.valueFrom = { configMapKeyRef: { key: "k9" } };
    return change;
  },
};

const MOUNT_LIST: KeyedList = {
  mergeKey: "mountPath",
  keys: MOUNTS,
  item: (r, mountPath) => ({
    name: r.pick(VOLUMES),
    mountPath,
    ...(r.chance(0.3) ? { readOnly: true } : {}),
  }),
  change: (r, mountPath) => ({
    mountPath,
    ...(r.chance(0.5) ? { readOnly: r.chance(0.5) ? null : true } : { name: "v9" }),
  }),
};

const PORT_LIST: KeyedList = {
  mergeKey: "containerPort",
  keys: PORTS,
  item: (r, containerPort) => ({ containerPort, protocol: r.pick(["TCP", "UDP"]) }),
  change: (r, containerPort) => ({ containerPort, name: r.pick(["http", "grpc"]) }),
};

const IMAGE_PULL_SECRETS: KeyedList = {
  mergeKey: "name",
  keys: SECRETS,
  item: (_r, name) => ({ name }),
  change: (_r, name) => ({ name }),
};

const HOST_ALIASES: KeyedList = {
  mergeKey: "ip",
  keys: IPS,
  item: (r, ip) => ({ ip, hostnames: r.some(HOSTNAMES, 2) }),
  change: (r, ip) => ({ ip, hostnames: r.chance(0.2) ? null : r.some(HOSTNAMES, 3) }),
};

const GATE_LIST: KeyedList = {
  mergeKey: "name",
  keys: GATES,
  item: (_r, name) => ({ name }),
  change: (_r, name) => ({ name }),
};

const SPREAD: KeyedList = {
  mergeKey: "topologyKey",
  keys: TOPOLOGY,
  item: (r, topologyKey) => ({ topologyKey, maxSkew: 1 + r.int(3), whenUnsatisfiable: "DoNotSchedule" }),
  change: (r, topologyKey) => ({ topologyKey, maxSkew: r.chance(0.2) ? null : 1 + r.int(5) }),
};

function volumeSource(r: Random, source: (typeof SOURCES)[number]): unknown {
  switch (source) {
    case "emptyDir":
      return r.chance(0.5) ? {} : { medium: "Memory" };
    case "configMap":
      return { name: r.pick(["c1", "c2"]) };
    case "secret":
      return { secretName: r.pick(["s1", "s2"]) };
    case "hostPath":
      return { path: r.pick(["/x", "/y"]) };
  }
}

const VOLUME_LIST: KeyedList = {
  mergeKey: "name",
  keys: VOLUMES,
  item: (r, name) => {
    const source = r.pick(SOURCES);
    return { name, [source]: volumeSource(r, source) };
  },
  change: (r, name, original) => {
    const source = r.pick(SOURCES);
    const change: Json = { name, [source]: volumeSource(r, source) };
    // Switch the source the way kubectl apply does, or get $retainKeys wrong on purpose.
    if (r.chance(0.6)) {
      const retained = ["name", source, ...(r.chance(0.3) ? ["nfs"] : [])];
      change.$retainKeys = r.chance(0.1) ? ["name"] : retained;
    } else if (original && r.chance(0.3)) {
      const old = Object.keys(original).find((key) => key !== "name");
      if (old && old !== source) change[old] = null;
    }
    return change;
  },
};

function resources(r: Random): Json {
  const result: Json = {};
  if (r.chance(0.7))
    result.limits = { cpu: r.pick(["1", "2", "500m"]), ...(r.chance(0.5) ? { memory: "1Gi" } : {}) };
  if (r.chance(0.5)) result.requests = { cpu: r.pick(["100m", "1"]) };
  if (r.chance(0.2)) result.claims = r.some(["gpu", "fpga"], 2).map((name) => ({ name }));
  return result;
}

function resourcesChange(r: Random, features: string[]): Json {
  const roll = r.int(10);
  if (roll === 0) {
    features.push("$patch: replace (object)");
    return { $patch: "replace", limits: { cpu: "3" }, ...(r.chance(0.3) ? { requests: null } : {}) };
  }
  if (roll === 1) return { $patch: "delete" };
  if (roll === 2) return { $patch: r.pick(["merge", "bogus"]), limits: { cpu: "1" } };
  const change: Json = {};
  if (r.chance(0.6)) change.limits = { cpu: r.pick(["2", "4"]), ...(r.chance(0.4) ? { memory: null } : {}) };
  if (r.chance(0.3)) change.requests = r.chance(0.3) ? null : { memory: "2Gi" };
  if (r.chance(0.6)) {
    features.push("listType map without patch strategy");
    change.claims = r.some(["gpu", "fpga", "tpu"], 2).map((name) => ({ name }));
  }
  return change;
}

function containerSecurityContext(r: Random): Json {
  const result: Json = { runAsUser: r.pick([0, 1000]) };
  if (r.chance(0.5)) result.capabilities = { add: r.some(["NET_ADMIN", "SYS_TIME"], 2) };
  if (r.chance(0.3)) result.privileged = r.chance(0.5);
  return result;
}

function container(r: Random, name: string): Json {
  const result: Json = { name, image: r.pick(IMAGES) };
  if (r.chance(0.6)) result.env = keyedItems(r, ENV_LIST, 5);
  if (r.chance(0.4)) result.args = r.draws(ARGS, 4);
  if (r.chance(0.2)) result.command = ["sh", "-c"];
  if (r.chance(0.4)) result.volumeMounts = keyedItems(r, MOUNT_LIST, 4);
  if (r.chance(0.3)) result.ports = keyedItems(r, PORT_LIST, 3);
  if (r.chance(0.4)) result.resources = resources(r);
  if (r.chance(0.3)) result.securityContext = containerSecurityContext(r);
  return result;
}

const CONTAINER_LIST: KeyedList = {
  mergeKey: "name",
  keys: CONTAINERS,
  item: (r, name) => container(r, String(name)),
  change: () => ({}), // replaced by containerChange, which needs the features list
};

/** Items with distinct keys (rarely a repeated one), in random order. */
function keyedItems(r: Random, list: KeyedList, max: number): Json[] {
  const keys = r.some(list.keys, max);
  if (keys.length > 0 && r.chance(0.04)) keys.push(keys[0]!);
  return keys.map((key) => list.item(r, key));
}

export function randomPod(r: Random): { spec: Json; metadata: Json } {
  const spec: Json = { containers: keyedItems(r, CONTAINER_LIST, 5) };
  if ((spec.containers as Json[]).length === 0) spec.containers = [container(r, "app")];
  if (r.chance(0.4)) spec.initContainers = r.some(INIT_CONTAINERS, 3).map((name) => container(r, name));
  if (r.chance(0.6)) spec.volumes = keyedItems(r, VOLUME_LIST, 6);
  if (r.chance(0.4)) spec.tolerations = r.some(TAINTS, 3).map((key) => ({ key, operator: "Exists" }));
  if (r.chance(0.5))
    spec.nodeSelector = Object.fromEntries(r.some(LABELS, 3).map((label) => [label, r.pick(["a", "b"])]));
  if (r.chance(0.4)) spec.imagePullSecrets = keyedItems(r, IMAGE_PULL_SECRETS, 4);
  if (r.chance(0.3)) spec.hostAliases = keyedItems(r, HOST_ALIASES, 3);
  if (r.chance(0.2)) spec.schedulingGates = keyedItems(r, GATE_LIST, 4);
  if (r.chance(0.2)) spec.topologySpreadConstraints = keyedItems(r, SPREAD, 3);
  if (r.chance(0.4)) {
    spec.securityContext = { runAsUser: 1000, ...(r.chance(0.5) ? { fsGroup: 2000 } : {}) };
    if (r.chance(0.4)) (spec.securityContext as Json).supplementalGroups = r.draws(GROUPS, 3);
    if (r.chance(0.3))
      (spec.securityContext as Json).sysctls = [{ name: "net.core.somaxconn", value: "1024" }];
  }
  if (r.chance(0.5)) spec.restartPolicy = r.pick(["Never", "OnFailure"]);
  if (r.chance(0.3)) spec.serviceAccountName = "sa";
  if (r.chance(0.3)) spec.hostname = "h";
  if (r.chance(0.3)) spec.terminationGracePeriodSeconds = 30;
  if (r.chance(0.05)) spec.fooBar = { x: 1 };
  const metadata: Json = { name: "p" };
  if (r.chance(0.5)) metadata.finalizers = r.draws(FINALIZERS, 6);
  if (r.chance(0.3)) metadata.labels = { app: "a" };
  return { spec, metadata };
}

/** Sets a list field unless its own `$deleteFromPrimitiveList` is there (and the other way round). */
function setList(target: Json, field: string, value: unknown): void {
  if (`$deleteFromPrimitiveList/${field}` in target) return;
  target[field] = value;
}

function setDeleteList(target: Json, field: string, value: unknown): void {
  if (field in target) return;
  target[`$deleteFromPrimitiveList/${field}`] = value;
}

/**
 * A patch of a keyed list: changes to existing items, new items, deletions, now and then a replace
 * marker, an item without its key, a `$patch: merge`; and sometimes a `$setElementOrder`, valid or not.
 */
function keyedListPatch(
  r: Random,
  target: Json,
  field: string,
  list: KeyedList,
  original: readonly Json[] | undefined,
  features: string[],
  change: (key: string | number, originalItem: Json | undefined) => Json = (key, item) =>
    list.change(r, key, item),
): void {
  const existing = (original ?? []).map((item) => item[list.mergeKey] as string | number);
  const items: Json[] = [];
  for (const key of r.some(list.keys, 3)) {
    const originalItem = original?.find((item) => item[list.mergeKey] === key);
    const roll = r.int(10);
    if (roll < 2 && existing.includes(key)) items.push({ [list.mergeKey]: key, $patch: "delete" });
    else if (roll < 3) items.push({ [list.mergeKey]: key, $patch: "delete" });
    else if (originalItem) items.push(change(key, originalItem));
    else items.push(newItem(r, list, key, features));
  }
  if (r.chance(0.06)) items.push({ $patch: "replace" });
  if (r.chance(0.03)) items.push({ image: "no-merge-key" });
  if (r.chance(0.04)) items.push({ [list.mergeKey]: r.pick(list.keys), $patch: "merge" });
  if (r.chance(0.03)) items.push({ [list.mergeKey]: r.pick(list.keys), $patch: r.pick(["bogus", "Delete"]) });
  if (items.length > 0 && r.chance(0.05)) items.push(items[0]!);
  const patchList = r.shuffle(items);
  const withOrder = r.chance(0.3);
  if (!withOrder || r.chance(0.8)) setList(target, field, patchList);
  if (withOrder) {
    target[`$setElementOrder/${field}`] = elementOrder(r, list.mergeKey, existing, patchList, list.keys);
  }
}

/** A new item, sometimes with nulls or directives inside, which kubectl keeps as written. */
function newItem(r: Random, list: KeyedList, key: string | number, features: string[]): Json {
  const item = list.item(r, key);
  if (r.chance(0.15)) {
    features.push("null in a new list item");
    item.extra = null;
  }
  if (r.chance(0.05)) {
    features.push("directive in a new list item");
    item.nested = { $patch: "delete" };
  }
  return item;
}

/** A `$setElementOrder` list: usually consistent with the patch list, sometimes broken on purpose. */
function elementOrder(
  r: Random,
  mergeKey: string,
  existing: readonly (string | number)[],
  patchList: readonly Json[],
  pool: readonly (string | number)[],
): unknown[] {
  const named = patchList
    .filter((item) => item.$patch === undefined && mergeKey in item)
    .map((item) => item[mergeKey] as string | number);
  const deleted = patchList.filter((item) => item.$patch === "delete").map((item) => item[mergeKey]);
  const others = r
    .shuffle([...new Set([...existing, ...(r.chance(0.3) ? [r.pick(pool)] : [])])])
    .filter((key) => !named.includes(key) && !deleted.includes(key) && r.chance(0.8));
  const order: (string | number)[] = [...others];
  let at = 0;
  for (const key of named) {
    at += r.int(order.length - at + 1);
    order.splice(at, 0, key);
    at++;
  }
  if (named.length >= 2 && r.chance(0.12)) order.reverse();
  else if (named.length >= 1 && r.chance(0.05)) order.splice(order.indexOf(named[0]!), 1);
  const result: unknown[] = order.map((key) => ({ [mergeKey]: key }));
  if (r.chance(0.03)) result.push({ image: "no-merge-key" });
  return result;
}

function containerChange(
  r: Random,
  name: string | number,
  original: Json | undefined,
  features: string[],
): Json {
  const change: Json = { name };
  const ops = 1 + r.int(3);
  for (let op = 0; op < ops; op++) {
    switch (r.int(13)) {
      case 0:
        change.image = r.chance(0.2) ? null : r.pick(IMAGES);
        break;
      case 1:
        keyedListPatch(r, change, "env", ENV_LIST, original?.env as Json[] | undefined, features);
        break;
      case 2:
        keyedListPatch(
          r,
          change,
          "volumeMounts",
          MOUNT_LIST,
          original?.volumeMounts as Json[] | undefined,
          features,
        );
        break;
      case 3:
        keyedListPatch(r, change, "ports", PORT_LIST, original?.ports as Json[] | undefined, features);
        break;
      case 4:
        features.push("atomic list of scalars");
        setList(change, "args", r.draws(ARGS, 3));
        break;
      case 5:
        features.push("$deleteFromPrimitiveList on an atomic list");
        setDeleteList(change, "args", r.draws(ARGS, 2));
        break;
      case 6:
        change.resources = resourcesChange(r, features);
        break;
      case 7:
        change.securityContext = objectChange(r, containerSecurityContext(r), features);
        break;
      case 8:
        change.command = r.chance(0.3) ? null : ["bash"];
        break;
      case 9:
        if (r.chance(0.5)) {
          features.push("unknown field");
          change.fooBar = r.chance(0.5) ? "x" : { y: 1 };
        } else {
          features.push("type change");
          change.env = { name: "A" };
        }
        break;
      case 10:
        change.$retainKeys = r.chance(0.8) ? ["name", ...Object.keys(change)] : ["image"];
        break;
      case 11:
        features.push("listType map without patch strategy");
        change.resources = { claims: r.some(["gpu", "fpga", "tpu"], 2).map((claim) => ({ name: claim })) };
        break;
      default:
        change.imagePullPolicy = r.pick(["Always", "IfNotPresent"]);
    }
  }
  return change;
}

/** A change to an object field: a merge, `$patch: replace/delete/merge`, or `$retainKeys`. */
function objectChange(r: Random, value: Json, features: string[]): Json {
  switch (r.int(11)) {
    case 0:
      features.push("$patch: replace (object)");
      return { $patch: "replace", ...value, ...(r.chance(0.3) ? { runAsGroup: null } : {}) };
    case 1:
      return { $patch: "delete" };
    case 2:
      return { $patch: "merge", ...value };
    case 3:
      return { $patch: r.pick(["bogus", "Replace"]), ...value };
    case 4:
      return { ...value, $retainKeys: r.chance(0.8) ? Object.keys(value) : [] };
    case 5:
      return Object.fromEntries(Object.keys(value).map((key) => [key, null]));
    default:
      return value;
  }
}

export function randomPatch(
  r: Random,
  spec: Json,
  metadata: Json,
  features: string[],
): { specPatch: Json; metadataPatch: Json | undefined } {
  const patch: Json = {};
  const ops = 1 + r.int(4);
  for (let op = 0; op < ops; op++) specOperation(r, patch, spec, features);
  let metadataPatch: Json | undefined;
  if (r.chance(0.25)) {
    metadataPatch = {};
    finalizersOperation(r, metadataPatch, metadata.finalizers as string[] | undefined, features);
  }
  if (r.chance(0.015)) {
    features.push("$patch at the top");
    patch.$patch = r.pick(["replace", "delete"]);
  } else if (r.chance(0.02)) {
    patch.$retainKeys = ["containers", ...Object.keys(patch).filter(() => r.chance(0.8))];
  }
  return { specPatch: patch, metadataPatch };
}

function specOperation(r: Random, patch: Json, spec: Json, features: string[]): void {
  switch (r.int(17)) {
    case 0:
    case 1:
    case 2:
      keyedListPatch(
        r,
        patch,
        "containers",
        CONTAINER_LIST,
        spec.containers as Json[],
        features,
        (key, item) => containerChange(r, key, item, features),
      );
      break;
    case 3:
      keyedListPatch(
        r,
        patch,
        "initContainers",
        { ...CONTAINER_LIST, keys: INIT_CONTAINERS },
        spec.initContainers as Json[] | undefined,
        features,
        (key, item) => containerChange(r, key, item, features),
      );
      break;
    case 4:
    case 5:
      keyedListPatch(r, patch, "volumes", VOLUME_LIST, spec.volumes as Json[] | undefined, features);
      break;
    case 6:
      tolerationsOperation(r, patch, features);
      break;
    case 7:
      nodeSelectorOperation(r, patch, features);
      break;
    case 8:
      keyedListPatch(
        r,
        patch,
        "imagePullSecrets",
        IMAGE_PULL_SECRETS,
        spec.imagePullSecrets as Json[] | undefined,
        features,
      );
      break;
    case 9:
      keyedListPatch(
        r,
        patch,
        "hostAliases",
        HOST_ALIASES,
        spec.hostAliases as Json[] | undefined,
        features,
        (ip, item) => hostAliasChange(r, ip, item, features),
      );
      break;
    case 10:
      keyedListPatch(
        r,
        patch,
        "schedulingGates",
        GATE_LIST,
        spec.schedulingGates as Json[] | undefined,
        features,
      );
      break;
    case 11:
      keyedListPatch(
        r,
        patch,
        "topologySpreadConstraints",
        SPREAD,
        spec.topologySpreadConstraints as Json[] | undefined,
        features,
      );
      break;
    case 12:
      podSecurityContextOperation(r, patch, features);
      break;
    case 13:
      patch[r.pick(["restartPolicy", "serviceAccountName", "hostname", "dnsPolicy"])] = r.chance(0.3)
        ? null
        : r.pick(["Always", "x", "ClusterFirst"]);
      break;
    case 14:
      patch.terminationGracePeriodSeconds = r.chance(0.3) ? null : r.int(100);
      break;
    case 15:
      unknownFieldOperation(r, patch, spec, features);
      break;
    default:
      typeChangeOperation(r, patch, features);
  }
}

function hostAliasChange(
  r: Random,
  ip: string | number,
  original: Json | undefined,
  features: string[],
): Json {
  if (original && r.chance(0.4)) {
    features.push("$deleteFromPrimitiveList on an atomic list");
    return { ip, "$deleteFromPrimitiveList/hostnames": r.some(HOSTNAMES, 2) };
  }
  return HOST_ALIASES.change(r, ip, original);
}

function tolerationsOperation(r: Random, patch: Json, features: string[]): void {
  const roll = r.int(6);
  if (roll === 0) {
    features.push("$deleteFromPrimitiveList on a list of objects without merge key");
    setDeleteList(patch, "tolerations", [{ key: r.pick(TAINTS) }]);
  } else if (roll === 1) {
    patch.tolerations = null;
  } else {
    features.push("atomic list of objects");
    setList(
      patch,
      "tolerations",
      r
        .some(TAINTS, 2)
        .map((key) => ({ key, operator: "Exists", ...(r.chance(0.2) ? { value: null } : {}) })),
    );
  }
}

function nodeSelectorOperation(r: Random, patch: Json, features: string[]): void {
  if (r.chance(0.3)) {
    features.push("$patch on a map of strings");
    patch.nodeSelector = { $patch: r.pick(["replace", "delete", "merge", "bogus"]), zone: "z" };
    return;
  }
  patch.nodeSelector = Object.fromEntries(
    r.some(LABELS, 3).map((label) => [label, r.chance(0.3) ? null : "c"]),
  );
}

function podSecurityContextOperation(r: Random, patch: Json, features: string[]): void {
  const change = objectChange(r, { runAsUser: r.pick([0, 1000]), runAsNonRoot: true }, features);
  const roll = r.int(5);
  if (roll === 0) {
    features.push("$deleteFromPrimitiveList of numbers");
    setDeleteList(change, "supplementalGroups", r.draws(GROUPS, 2));
  } else if (roll === 1) {
    setList(change, "supplementalGroups", r.draws(GROUPS, 3));
  } else if (roll === 2) {
    change.sysctls = [{ name: "kernel.shm_rmid_forced", value: "1" }];
  }
  patch.securityContext = change;
}

function unknownFieldOperation(r: Random, patch: Json, spec: Json, features: string[]): void {
  features.push("unknown field");
  if ("fooBar" in spec && r.chance(0.5)) patch.fooBar = r.chance(0.5) ? { y: 2 } : "scalar";
  else patch[r.pick(["fooBar", "bazQux"])] = r.chance(0.5) ? { a: { b: null, c: 1 } } : [1, 2];
}

function typeChangeOperation(r: Random, patch: Json, features: string[]): void {
  features.push("type change");
  switch (r.int(4)) {
    case 0:
      patch.nodeSelector = r.chance(0.5) ? "zone" : [{ a: null, $patch: "x" }, { b: 1 }];
      break;
    case 1:
      patch.tolerations = { key: "k1" };
      break;
    case 2:
      patch.hostname = { $patch: "delete" };
      break;
    default:
      patch.securityContext = [1];
  }
}

function finalizersOperation(
  r: Random,
  patch: Json,
  original: string[] | undefined,
  features: string[],
): void {
  features.push("scalar merge list");
  const roll = r.int(6);
  if (roll === 0) {
    setDeleteList(patch, "finalizers", r.chance(0.1) ? null : r.draws(FINALIZERS, 3));
    return;
  }
  const values = r.draws(FINALIZERS, 4);
  if (roll === 1) {
    // A consistent order: the patch's values in order, the original's around them.
    const others = r.shuffle([...new Set(original ?? [])]).filter((value) => !values.includes(value));
    const order = [...others];
    for (const value of [...new Set(values)]) order.splice(r.int(order.length + 1), 0, value);
    const unique = [...new Set(values)];
    const ordered = order.filter((value) => unique.includes(value));
    patch["$setElementOrder/finalizers"] = r.chance(0.85) ? order : [...order].reverse();
    setList(patch, "finalizers", r.chance(0.85) ? ordered : values);
    return;
  }
  setList(patch, "finalizers", values);
}

export function generateCases(seed: number, count: number): GeneratedCase[] {
  const r = new Random(seed);
  const cases: GeneratedCase[] = [];
  for (let index = 0; index < count; index++) {
    const { spec, metadata } = randomPod(r);
    const features: string[] = [];
    const { specPatch, metadataPatch } = randomPatch(r, spec, metadata, features);
    cases.push({ index, spec, metadata, specPatch, metadataPatch, features });
  }
  return cases;
}

/** Counts the directives a patch uses, by kind, into `counts`. */
export function countDirectives(value: unknown, counts: Map<string, number>, inList = false): void {
  const add = (name: string): void => {
    counts.set(name, (counts.get(name) ?? 0) + 1);
  };
  if (Array.isArray(value)) {
    for (const item of value) countDirectives(item, counts, true);
    return;
  }
  if (typeof value !== "object" || value === null) return;
  for (const [key, member] of Object.entries(value)) {
    if (key === "$patch")
      add(
        `$patch: ${["replace", "delete", "merge"].includes(String(member)) ? member : "unknown"}${inList ? " (list item)" : " (object)"}`,
      );
    else if (key === "$retainKeys") add("$retainKeys");
    else if (key.startsWith("$setElementOrder/")) add("$setElementOrder");
    else if (key.startsWith("$deleteFromPrimitiveList/")) add("$deleteFromPrimitiveList");
    if (member === null) add("null");
    countDirectives(member, counts);
  }
}
