/**
 * The documentation as the doc tests read it: which files, their fenced code blocks (with the
 * `<!-- doc-test: … -->` marker right above each), their headings as GitHub anchors them, their links
 * and their inline code. A small reader for the Markdown these files use, not a full parser.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const ROOT = new URL("../../", import.meta.url).pathname;

/** The documentation: the README, every page of docs/, and the chart's README. */
export function documentationFiles(): string[] {
  const docs = readdirSync(join(ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`);
  return ["README.md", ...docs, "charts/agent-stack-k8s/README.md"];
}

export function readDoc(file: string): string {
  return readFileSync(join(ROOT, file), "utf8");
}

/** What the comment above a block tells the tests about it. */
export type Marker =
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "pipeline" }
  | { readonly kind: "helm-template" }
  | { readonly kind: "server"; readonly url: string; readonly ca?: string }
  | { readonly kind: "skip"; readonly category: string; readonly reason: string };

export interface CodeBlock {
  readonly file: string;
  /** The line of the opening fence, 1-based. */
  readonly line: number;
  /** The fence's info string's first word (`sh`, `yaml`…), empty if none. */
  readonly lang: string;
  /** The block's text, its indentation removed, ending with a newline. */
  readonly text: string;
  readonly marker?: Marker;
  /** A marker comment above the block that could not be read. */
  readonly badMarker?: string;
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^`\s]*)/;
const MARKER = /^\s*<!--\s*doc-test:\s*(.*?)\s*-->\s*$/;

/** A closing fence: only the opening fence's character, at least as many of it. */
function closes(line: string, fence: string): boolean {
  const text = line.trim();
  return text.length >= fence.length && [...text].every((character) => character === fence[0]);
}

function parseMarker(text: string): Marker | undefined {
  const [kind = "", ...rest] = text.split(/\s+/);
  const argument = rest.join(" ");
  switch (kind) {
    case "file":
      return argument === "" ? undefined : { kind, path: argument };
    case "pipeline":
    case "helm-template":
      return argument === "" ? { kind } : undefined;
    case "server": {
      const [url, ca] = rest;
      if (url === undefined || rest.length > 2) return undefined;
      return ca === undefined ? { kind, url } : { kind, url, ca };
    }
    case "skip": {
      const match = /^([a-z-]+):\s*(\S.*)$/.exec(argument);
      return match ? { kind, category: match[1] as string, reason: match[2] as string } : undefined;
    }
    default:
      return undefined;
  }
}

/** Every fenced code block of a document, with the marker comment on the line above it, if any. */
export function codeBlocks(file: string, text = readDoc(file)): CodeBlock[] {
  const lines = text.split("\n");
  const blocks: CodeBlock[] = [];
  for (let index = 0; index < lines.length; index++) {
    const open = FENCE.exec(lines[index] as string);
    if (!open) continue;
    const indent = (open[1] as string).length;
    const fence = open[2] as string;
    const body: string[] = [];
    let end = index + 1;
    for (; end < lines.length; end++) {
      const line = lines[end] as string;
      if (closes(line, fence)) break;
      body.push(line.slice(Math.min(indent, line.length - line.trimStart().length)));
    }
    let previous = index - 1;
    while (previous >= 0 && (lines[previous] as string).trim() === "") previous--;
    const comment = previous >= 0 ? MARKER.exec(lines[previous] as string) : null;
    const marker = comment ? parseMarker(comment[1] as string) : undefined;
    blocks.push({
      file,
      line: index + 1,
      lang: open[3] as string,
      text: `${body.join("\n")}\n`,
      ...(marker === undefined ? {} : { marker }),
      ...(comment && marker === undefined ? { badMarker: comment[1] as string } : {}),
    });
    index = end;
  }
  return blocks;
}

/** The document without its fenced code blocks (their lines left empty, so line numbers hold). */
export function prose(text: string): string {
  const lines = text.split("\n");
  let fence: string | undefined;
  return lines
    .map((line) => {
      const open = FENCE.exec(line);
      if (fence === undefined && open) {
        fence = open[2] as string;
        return "";
      }
      if (fence !== undefined) {
        if (closes(line, fence)) fence = undefined;
        return "";
      }
      return line;
    })
    .join("\n");
}

/** The anchors GitHub gives a document's headings: lower case, punctuation dropped, `-` for spaces. */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of prose(text).split("\n")) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const slug = slugOf(heading[1] as string);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    result.add(count === 0 ? slug : `${slug}-${count}`);
  }
  for (const match of text.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) result.add(match[1] as string);
  return result;
}

export function slugOf(heading: string): string {
  const rendered = heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/<[^>]+>/g, "")
    .replace(/[*`]/g, "");
  return rendered
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}_\- ]/gu, "")
    .replaceAll(" ", "-");
}

export interface Link {
  readonly file: string;
  readonly line: number;
  readonly target: string;
}

/** Inline links `[text](target)` of the prose (not inside code spans or blocks). */
export function links(file: string, text = readDoc(file)): Link[] {
  const result: Link[] = [];
  prose(text)
    .split("\n")
    .forEach((line, index) => {
      const withoutCode = line.replace(/`[^`]*`/g, (span) => " ".repeat(span.length));
      for (const match of withoutCode.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        result.push({ file, line: index + 1, target: match[1] as string });
      }
    });
  return result;
}

/** The inline code spans of the prose, a span that wraps a line joined with a space. */
export function inlineCode(text: string): string[] {
  const joined = prose(text).replace(/([^\n])\n(?!\n)/g, "$1 ");
  return [...joined.matchAll(/(`+)([^`]+?)\1/g)].map((match) => (match[2] as string).trim());
}

/** A command line split as the shell splits it (quotes, backslash-newline), without expansions. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  const text = line.replace(/\\\n/g, " ");
  for (let index = 0; index < text.length; index++) {
    const character = text[index] as string;
    if (quote !== undefined) {
      if (character === quote) quote = undefined;
      else word = (word ?? "") + character;
    } else if (character === "'" || character === '"') {
      quote = character;
      word ??= "";
    } else if (/\s/.test(character)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? "") + character;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}
