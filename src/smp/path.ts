/**
 * Where in the patch a problem is, as a JSON path (`$.containers[1].env`). Built as a linked list so
 * that descending costs one small object and the string is only made when an error needs it.
 */
export interface PatchPath {
  readonly parent: PatchPath | undefined;
  /** A field name, a list index, or the root text (`$`, `$.podSpecPatch`). */
  readonly segment: string | number;
}

export function rootPath(text = "$"): PatchPath {
  return { parent: undefined, segment: text };
}

export function childPath(parent: PatchPath, segment: string | number): PatchPath {
  return { parent, segment };
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function formatPath(path: PatchPath): string {
  const segments: (string | number)[] = [];
  for (let at: PatchPath | undefined = path; at !== undefined; at = at.parent) segments.push(at.segment);
  let text = String(segments.pop());
  for (let i = segments.length - 1; i >= 0; i--) {
    const segment = segments[i]!;
    if (typeof segment === "number") text += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) text += `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}
