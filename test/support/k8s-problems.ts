/**
 * Field paths and problem lines in kube-apiserver's style:
 * `spec.template.spec.containers[0].image: Required value`.
 */

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A field that is absent or `null` is unset: Go's JSON decoding leaves it at its zero value. */
export function isUnset(value: unknown): value is undefined | null {
  return value === undefined || value === null;
}

export function fieldPath(parent: string, field: string): string {
  return parent === "" ? field : `${parent}.${field}`;
}

export function itemPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

export function keyPath(parent: string, key: string): string {
  return `${parent}[${key}]`;
}

export function problem(path: string, message: string): string {
  return `${path === "" ? "<root>" : path}: ${message}`;
}

/** A value as kube-apiserver quotes it in `Invalid value: …`, cut short when it is long. */
export function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function invalid(path: string, value: unknown, reason: string): string {
  return problem(path, `Invalid value: ${shown(value)}: ${reason}`);
}

export function required(path: string, detail?: string): string {
  return problem(path, detail === undefined ? "Required value" : `Required value: ${detail}`);
}

export function duplicate(path: string, value: unknown): string {
  return problem(path, `Duplicate value: ${shown(value)}`);
}

export function unsupported(path: string, value: unknown, supported: readonly string[]): string {
  const choices = supported.map((choice) => JSON.stringify(choice)).join(", ");
  return problem(path, `Unsupported value: ${shown(value)}: supported values: ${choices}`);
}
