/**
 * A pipeline file read for humans: the parsed document, and where each of its values is written, so
 * that a problem found at `steps[2].plugins[0].kubernetes.podSpec` can be reported at `FILE:LINE:COL`.
 *
 * Parsing is Buildkite's (YAML 1.2 core schema, anchors and `<<` merge keys, duplicate keys refused);
 * mappings become `Map`s so that key order survives (see `pipeline-input.ts`). Positions follow
 * aliases and merge keys to where the value is written, which is where it has to be fixed.
 */
import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type ParsedNode,
  parseDocument,
} from "yaml";
import { AgentStackError } from "../errors.ts";
import { inputError } from "./pipeline-input.ts";

/** 1-based, as editors and compilers print them. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

export interface PipelineSource {
  /** The document as `toJS({ mapAsMap: true })` gives it. */
  readonly document: unknown;
  /**
   * Where the value at `path` (`steps[2].env.FOO`) is written, or, with `at: "key"`, its key. A path
   * that leads nowhere gives the position of the deepest value it reaches.
   */
  readonly locate: (path: string | readonly PathSegment[], at?: "value" | "key") => Position;
}

export type PathSegment = string | number;

const START: Position = { line: 1, column: 1 };

/** `ASK_INPUT_INVALID` for text that is not YAML, with where the parser stopped. */
export class PipelineSyntaxError extends AgentStackError {
  readonly position: Position;
  readonly reason: string;

  constructor(position: Position, reason: string) {
    super("ASK_INPUT_INVALID", `${formatPosition(position)}: not valid YAML: ${reason}`, { path: "" });
    this.position = position;
    this.reason = `not valid YAML: ${reason}`;
  }
}

/** Throws `PipelineSyntaxError` for text that is not YAML. */
export function parsePipelineSource(text: string): PipelineSource {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { merge: true, lineCounter });
  const [error] = document.errors;
  if (error !== undefined) {
    const where = error.linePos?.[0];
    const position = where === undefined ? START : { line: where.line, column: where.col };
    throw new PipelineSyntaxError(position, firstLine(error.message));
  }
  let value: unknown;
  try {
    value = document.toJS({ mapAsMap: true });
  } catch (cause) {
    // `toJS` refuses alias bombs ("Excessive alias count").
    throw inputError("", `not valid YAML: ${firstLine(String(cause))}`, cause);
  }
  const positionOf = (node: { range?: readonly number[] | null } | null | undefined): Position => {
    const offset = node?.range?.[0];
    if (offset === undefined) return START;
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  return {
    document: value,
    locate: (path, at = "value") => {
      const segments = typeof path === "string" ? parsePath(path) : path;
      const found = walk(document, segments);
      return positionOf(at === "key" && found.complete && found.key ? found.key : found.node);
    },
  };
}

/** `3:7` */
export function formatPosition(position: Position): string {
  return `${position.line}:${position.column}`;
}

function firstLine(message: string): string {
  return (message.split("\n")[0] ?? message).replace(/:$/, "");
}

interface Found {
  readonly node: Node | null | undefined;
  /** The key of the last segment, when it was a mapping key. */
  readonly key: Node | undefined;
  readonly complete: boolean;
}

function walk(document: Document.Parsed, segments: readonly PathSegment[]): Found {
  let node = resolve(document, document.contents as Node | null);
  let key: Node | undefined;
  for (const segment of segments) {
    const next = child(document, node, segment);
    if (next === undefined) return { node, key: undefined, complete: false };
    node = resolve(document, next.value);
    key = next.key;
  }
  return { node, key, complete: true };
}

function child(
  document: Document.Parsed,
  node: Node | null | undefined,
  segment: PathSegment,
): { value: Node | null; key: Node | undefined } | undefined {
  if (isSeq(node) && typeof segment === "number") {
    const item = node.items[segment] as Node | undefined;
    return item === undefined ? undefined : { value: item, key: undefined };
  }
  if (!isMap(node)) return undefined;
  const name = String(segment);
  const merges: Node[] = [];
  // The last of duplicate keys wins, as in the parsed document (the parser refuses duplicates anyway).
  for (let index = node.items.length - 1; index >= 0; index--) {
    const pair = node.items[index];
    if (!isPair(pair)) continue;
    const pairKey = pair.key as Node | null;
    if (isMergeKey(pairKey)) {
      merges.push(pair.value as Node);
      continue;
    }
    if (keyText(pairKey) === name) return { value: pair.value as Node | null, key: pairKey ?? undefined };
  }
  // Own keys win over merged ones; of several merged maps (`<<: [*a, *b]`) the first wins.
  for (const merged of merges.reverse()) {
    const source = resolve(document, merged);
    const sources = isSeq(source) ? source.items.map((item) => resolve(document, item as Node)) : [source];
    for (const candidate of sources) {
      const found = child(document, candidate, segment);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function resolve(document: Document.Parsed, node: Node | null | undefined): Node | null | undefined {
  let current = node;
  // An alias of an alias is not valid YAML, but a bound keeps a malformed tree from looping.
  for (let hops = 0; hops < 16 && isAlias(current); hops++) {
    current = current.resolve(document) as ParsedNode | undefined;
  }
  return current;
}

function isMergeKey(key: Node | null): boolean {
  return isScalar(key) && typeof key.value === "symbol";
}

function keyText(key: Node | null): string | undefined {
  if (key === null) return "";
  if (!isScalar(key)) return undefined;
  const value = key.value;
  if (value === null) return "";
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean"
    ? String(value)
    : undefined;
}

const SEGMENT = /\.?([A-Za-z0-9_$-][A-Za-z0-9_-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;

/**
 * The segments of a path as the messages print it: `steps[2].env["a.b"]`, `$.podSpec.containers[0]`
 * (a leading `$` is the root). Text it cannot read ends the path.
 */
export function parsePath(path: string): PathSegment[] {
  const segments: PathSegment[] = [];
  SEGMENT.lastIndex = 0;
  while (SEGMENT.lastIndex < path.length) {
    const match = SEGMENT.exec(path);
    if (match === null) break;
    const [, name, index, quoted] = match;
    if (name !== undefined) {
      if (!(name === "$" && segments.length === 0 && match.index === 0)) segments.push(name);
    } else if (index !== undefined) {
      segments.push(Number(index));
    } else if (quoted !== undefined) {
      segments.push(JSON.parse(quoted) as string);
    }
  }
  return segments;
}
