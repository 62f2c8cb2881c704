/**
 * Label and field selectors of list and watch requests. Equality-based label selectors
 * (`a=b`, `a==b`, `a!=b`, `a`, `!a`) and set-based ones (`a in (x,y)`, `a notin (x)`) as kubectl
 * writes them; field selectors on `metadata.name` and `metadata.namespace`, the ones every
 * resource supports.
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

export function parseFieldSelector(selector: string | undefined): ObjectPredicate {
  if (selector === undefined || selector.trim() === "") return () => true;
  const requirements = selector.split(",").map((part) => {
    const match = /^\s*(metadata\.name|metadata\.namespace)\s*(==|=|!=)\s*([^\s]*)\s*$/.exec(part);
    if (match === null) {
      throw new Error(
        `field selector ${JSON.stringify(part)}: only metadata.name and metadata.namespace are supported`,
      );
    }
    const [, field, operator, value] = match;
    const key = field === "metadata.name" ? "name" : "namespace";
    return (object: JsonObject) => (asObject(object.metadata)[key] === value) === (operator !== "!=");
  });
  return (object) => requirements.every((matches) => matches(object));
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
