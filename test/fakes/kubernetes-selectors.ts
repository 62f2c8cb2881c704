/**
 * Label and field selectors of list and watch requests. Equality-based label selectors
 * (`a=b`, `a==b`, `a!=b`, `a`, `!a`) and set-based ones (`a in (x,y)`, `a notin (x)`) as kubectl
 * writes them; field selectors on `metadata.name` and `metadata.namespace`, the ones every
 * resource supports, plus the fields a resource registers (`involvedObject.name` of Events,
 * `status.phase` of Pods). Also the structured `LabelSelector` of webhook configurations.
 */
import { asObject, type JsonObject } from "./kubernetes-rules.ts";

export type ObjectPredicate = (object: JsonObject) => boolean;

/** Throws an Error whose message says what is wrong with the selector. */
export function parseLabelSelector(selector: string | undefined): ObjectPredicate {
  if (selector === undefined || selector.trim() === "") return () => true;
  const requirements = splitRequirements(selector).map(parseRequirement);
  return (object) => {
    const labels = asObject(asObject(object.metadata).labels) as Record<string, string>;
    return requirements.every((matches) => matches(labels));
  };
}

const ALWAYS_SELECTABLE = ["metadata.name", "metadata.namespace"];

/**
 * `field=value`, `field==value` and `field!=value`, comma-separated. An unset field reads as `""`, as
 * kube-apiserver's field sets hold it. `selectable` lists the resource's own fields.
 */
export function parseFieldSelector(
  selector: string | undefined,
  selectable: readonly string[] = [],
): ObjectPredicate {
  if (selector === undefined || selector.trim() === "") return () => true;
  const fields = new Set([...ALWAYS_SELECTABLE, ...selectable]);
  const requirements = selector.split(",").map((part) => {
    const match = /^\s*([\w.]+)\s*(==|=|!=)\s*([^\s]*)\s*$/.exec(part);
    if (match === null) throw new Error(`invalid field selector: ${JSON.stringify(part)}`);
    const [, field, operator, value] = match as unknown as [string, string, string, string];
    if (!fields.has(field)) throw new Error(`field label not supported: ${field}`);
    const path = field.split(".");
    return (object: JsonObject) => (fieldValue(object, path) === value) === (operator !== "!=");
  });
  return (object) => requirements.every((matches) => matches(object));
}

function fieldValue(object: JsonObject, path: readonly string[]): string {
  let value: unknown = object;
  for (const key of path) value = asObject(value)[key];
  if (value === undefined || value === null) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** A `metav1.LabelSelector` (`matchLabels`, `matchExpressions`): an empty one selects everything. */
export interface StructuredLabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: ReadonlyArray<{
    readonly key: string;
    readonly operator: string;
    readonly values?: readonly string[];
  }>;
}

export function matchesLabelSelector(
  selector: StructuredLabelSelector | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  if (selector === undefined) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  return (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    const present = Object.hasOwn(labels, key);
    switch (operator) {
      case "In":
        return present && values.includes(labels[key] as string);
      case "NotIn":
        return !present || !values.includes(labels[key] as string);
      case "Exists":
        return present;
      case "DoesNotExist":
        return !present;
      default:
        throw new Error(`label selector operator ${JSON.stringify(operator)} is not valid`);
    }
  });
}

/** Commas separate requirements except inside the parentheses of `in (…)`. */
function splitRequirements(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const character of selector) {
    if (character === "(") depth += 1;
    if (character === ")") depth -= 1;
    if (character === "," && depth === 0) {
      parts.push(current);
      current = "";
    } else {
      current += character;
    }
  }
  parts.push(current);
  return parts.map((part) => part.trim());
}

type Requirement = (labels: Readonly<Record<string, string>>) => boolean;

function parseRequirement(text: string): Requirement {
  let match = /^!\s*([\w./-]+)$/.exec(text);
  if (match !== null) {
    const key = match[1] as string;
    return (labels) => !Object.hasOwn(labels, key);
  }
  match = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(text);
  if (match !== null) {
    const [, key, operator, list] = match as unknown as [string, string, string, string];
    const values = new Set(list.split(",").map((value) => value.trim()));
    return operator === "in"
      ? (labels) => Object.hasOwn(labels, key) && values.has(labels[key] as string)
      : (labels) => !Object.hasOwn(labels, key) || !values.has(labels[key] as string);
  }
  match = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(text);
  if (match !== null) {
    const [, key, operator, value] = match as unknown as [string, string, string, string];
    return operator === "!="
      ? (labels) => labels[key] !== value
      : (labels) => Object.hasOwn(labels, key) && labels[key] === value;
  }
  match = /^([\w./-]+)$/.exec(text);
  if (match !== null) {
    const key = match[1] as string;
    return (labels) => Object.hasOwn(labels, key);
  }
  throw new Error(`label selector requirement ${JSON.stringify(text)} is not valid`);
}
