/**
 * An independent JSON Patch (RFC 6902) applier for the tests, written from the RFC so that a bug shared
 * with the library the webhook uses to make its patches (fast-json-patch) cannot hide itself. JSON
 * Pointers follow RFC 6901 (`~1` is `/`, `~0` is `~`, `-` is the end of an array). The document given is
 * never modified; any failing operation fails the whole patch, as RFC 6902 §5 requires.
 */

export type JsonPatchOperation =
  | { readonly op: "add" | "replace" | "test"; readonly path: string; readonly value: unknown }
  | { readonly op: "remove"; readonly path: string }
  | { readonly op: "move" | "copy"; readonly from: string; readonly path: string };

export class JsonPatchError extends Error {
  constructor(index: number, operation: unknown, problem: string) {
    super(`operation ${index} (${JSON.stringify(operation)}): ${problem}`);
    this.name = "JsonPatchError";
  }
}

export function applyJsonPatch<T>(document: T, patch: readonly unknown[]): unknown {
  if (!Array.isArray(patch)) throw new Error("a JSON Patch is an array of operations");
  let root: unknown = clone(document);
  patch.forEach((operation, index) => {
    try {
      root = applyOperation(root, operation);
    } catch (error) {
      if (error instanceof JsonPatchError) throw error;
      throw new JsonPatchError(index, operation, (error as Error).message);
    }
  });
  return root;
}

/** RFC 6901: `""` is the whole document; every other pointer starts with `/`. */
export function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/"))
    throw new Error(`JSON Pointer ${JSON.stringify(pointer)} does not start with "/"`);
  return pointer
    .slice(1)
    .split("/")
    .map((token) => {
      if (/~[^01]|~$/.test(token))
        throw new Error(`JSON Pointer ${JSON.stringify(pointer)} has an invalid ~ escape`);
      // ~1 first: "~01" is "~1", not "/".
      return token.replace(/~1/g, "/").replace(/~0/g, "~");
    });
}

function applyOperation(root: unknown, operation: unknown): unknown {
  if (!isObject(operation)) throw new Error("an operation is a JSON object");
  const { op, path } = operation;
  if (typeof path !== "string") throw new Error("path is missing or not a string");
  switch (op) {
    case "add":
      requireValue(operation);
      return add(root, parsePointer(path), clone(operation.value));
    case "remove":
      return remove(root, parsePointer(path)).root;
    case "replace":
      requireValue(operation);
      return add(remove(root, parsePointer(path)).root, parsePointer(path), clone(operation.value));
    case "test":
      requireValue(operation);
      if (!deepEqual(get(root, parsePointer(path)), operation.value))
        throw new Error(`test failed at ${path}`);
      return root;
    case "move": {
      const from = fromOf(operation);
      if (path !== from && path.startsWith(`${from}/`))
        throw new Error(`cannot move ${from} into its own child ${path}`);
      const removed = remove(root, parsePointer(from));
      return add(removed.root, parsePointer(path), removed.value);
    }
    case "copy":
      return add(root, parsePointer(path), clone(get(root, parsePointer(fromOf(operation)))));
    default:
      throw new Error(`unknown op ${JSON.stringify(op)}`);
  }
}

function requireValue(operation: Record<string, unknown>): void {
  if (!Object.hasOwn(operation, "value")) throw new Error("value is missing");
}

function fromOf(operation: Record<string, unknown>): string {
  if (typeof operation.from !== "string") throw new Error("from is missing or not a string");
  return operation.from;
}

function get(root: unknown, tokens: readonly string[]): unknown {
  let node = root;
  for (const token of tokens) {
    if (Array.isArray(node)) node = node[existingIndex(node, token)];
    else if (isObject(node) && Object.hasOwn(node, token)) node = node[token];
    else throw new Error(`${JSON.stringify(token)} does not exist`);
  }
  return node;
}

function add(root: unknown, tokens: readonly string[], value: unknown): unknown {
  if (tokens.length === 0) return value;
  const parent = get(root, tokens.slice(0, -1));
  const last = tokens[tokens.length - 1] as string;
  if (Array.isArray(parent)) {
    const index = last === "-" ? parent.length : arrayIndex(last);
    if (index > parent.length)
      throw new Error(`index ${index} is past the end of an array of ${parent.length}`);
    parent.splice(index, 0, value);
  } else if (isObject(parent)) {
    setMember(parent, last, value);
  } else {
    throw new Error(`the parent of ${JSON.stringify(last)} is not a container`);
  }
  return root;
}

function remove(root: unknown, tokens: readonly string[]): { root: unknown; value: unknown } {
  if (tokens.length === 0) return { root: undefined, value: root };
  const parent = get(root, tokens.slice(0, -1));
  const last = tokens[tokens.length - 1] as string;
  if (Array.isArray(parent)) {
    const [value] = parent.splice(existingIndex(parent, last), 1);
    return { root, value };
  }
  if (isObject(parent) && Object.hasOwn(parent, last)) {
    const value = parent[last];
    delete parent[last];
    return { root, value };
  }
  throw new Error(`${JSON.stringify(last)} does not exist`);
}

function arrayIndex(token: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new Error(`${JSON.stringify(token)} is not an array index`);
  return Number(token);
}

function existingIndex(array: readonly unknown[], token: string): number {
  const index = arrayIndex(token);
  if (index >= array.length) throw new Error(`index ${index} does not exist in an array of ${array.length}`);
  return index;
}

/** RFC 6902 §4.6: numbers by value, objects whatever their key order, arrays in order. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) &&
      Array.isArray(b) &&
      a.length === b.length &&
      a.every((item, i) => deepEqual(item, b[i]))
    );
  }
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length &&
      keys.every((key) => Object.hasOwn(b, key) && deepEqual(a[key], b[key]))
    );
  }
  return a === b;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A `__proto__` member is data, never the prototype. */
function setMember(object: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}

function clone(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clone);
  if (!isObject(value)) return value;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) setMember(copy, key, clone(value[key]));
  return copy;
}
