/**
 * Turns one raw value (flag or env text, or a value the YAML file already typed) into the typed value of
 * a scalar key, checking the key's type, range and rule. Structured keys are `structured.ts`'s job.
 *
 * Text follows Go's parsers, which upstream's flags and env vars went through: booleans as
 * `strconv.ParseBool`, durations as `time.ParseDuration`, lists split on `,`. File values keep their
 * YAML type, and a wrong type is an error rather than a guess: `max-in-flight: "5"` is a string.
 */
import { quantityText } from "../k8s/quantity.ts";
import { DURATION_SYNTAX, formatDuration, parseDuration } from "./duration.ts";
import { type ConfigProblem, type ConfigSource, invalidValue } from "./problems.ts";
import { checkAgentTag, checkStringRule } from "./rules.ts";
import type { KeySpec, KeyType, StringRule } from "./schema.ts";

export type RawValue =
  /** One env var, or one occurrence of a scalar flag. */
  | { readonly from: "text"; readonly text: string; readonly source: ConfigSource }
  /** Every occurrence of a repeatable list flag. */
  | { readonly from: "texts"; readonly texts: readonly string[]; readonly source: ConfigSource }
  /** A value of the YAML file. */
  | { readonly from: "file"; readonly value: unknown; readonly source: ConfigSource };

export type Coerced =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

type Scalar = Exclude<KeyType, { kind: "structured" }>;

const TRUE_TEXT = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const FALSE_TEXT = new Set(["0", "f", "F", "FALSE", "false", "False"]);
const INTEGER_TEXT = /^[+-]?[0-9]+$/;

interface Failure {
  readonly shown: unknown;
  readonly problem: string;
  readonly expected: string;
  readonly path?: string;
}

export function coerceScalar(spec: KeySpec, type: Scalar, raw: RawValue): Coerced {
  const result = coerceByKind(spec, type, raw);
  if ("failures" in result) {
    return {
      ok: false,
      problems: result.failures.map((failure) =>
        invalidValue(
          spec.key,
          failure.path ?? spec.key,
          failure.shown,
          raw.source,
          failure.problem,
          failure.expected,
        ),
      ),
    };
  }
  return { ok: true, value: result.value };
}

type KindResult = { readonly value: unknown } | { readonly failures: readonly Failure[] };

function fail(shown: unknown, problem: string, expected: string): KindResult {
  return { failures: [{ shown, problem, expected }] };
}

function rawShown(raw: RawValue): unknown {
  switch (raw.from) {
    case "text":
      return raw.text;
    case "texts":
      return raw.texts.join(",");
    case "file":
      return raw.value;
  }
}

function coerceByKind(spec: KeySpec, type: Scalar, raw: RawValue): KindResult {
  switch (type.kind) {
    case "string":
      return coerceString(spec, type.rule, raw);
    case "bool":
      return coerceBool(raw);
    case "int":
      return coerceInteger(raw, type.min, type.max);
    case "port":
      return coerceInteger(raw, 0, 65535, "a port number from 0 to 65535 (0 disables it)");
    case "duration":
      return coerceDuration(raw, type.min);
    case "enum":
      return coerceEnum(raw, type.values);
    case "stringList":
      return coerceStringList(spec, raw, type.itemRule);
  }
}

function coerceString(spec: KeySpec, rule: StringRule | undefined, raw: RawValue): KindResult {
  let text: string;
  if (raw.from === "file") {
    const quantityKey = rule === "cpuLimit" || rule === "memoryLimit";
    if (typeof raw.value === "string") text = raw.value;
    // Kubernetes quantities may be written as numbers (`cpu: 0.5`); anything else must be a string.
    else if (quantityKey && typeof raw.value === "number") text = quantityText(raw.value);
    else return fail(raw.value, "is not a string", "a string (quote it in YAML)");
  } else {
    text = rawShown(raw) as string;
  }
  if (text === "" && spec.emptyMeansDefault && spec.type.kind === "string")
    return { value: spec.type.default };
  if (rule !== undefined) {
    const failure = checkStringRule(rule, text);
    if (failure) return fail(text, failure.problem, failure.expected);
  }
  return { value: text };
}

function coerceBool(raw: RawValue): KindResult {
  const expected = "true or false";
  if (raw.from === "file") {
    return typeof raw.value === "boolean"
      ? { value: raw.value }
      : fail(raw.value, "is not a boolean", expected);
  }
  const text = rawShown(raw) as string;
  if (TRUE_TEXT.has(text)) return { value: true };
  if (FALSE_TEXT.has(text)) return { value: false };
  return fail(text, "is not a boolean", `${expected} (also 1/0, t/f, TRUE/FALSE)`);
}

function integerExpectation(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return `an integer from ${min} to ${max}`;
  if (min !== undefined) return `an integer ≥ ${min}`;
  if (max !== undefined) return `an integer ≤ ${max}`;
  return "an integer";
}

function coerceInteger(
  raw: RawValue,
  min: number | undefined,
  max: number | undefined,
  expected = integerExpectation(min, max),
): KindResult {
  let value: number;
  if (raw.from === "file") {
    if (typeof raw.value !== "number" || !Number.isInteger(raw.value))
      return fail(raw.value, "is not an integer", expected);
    value = raw.value;
  } else {
    const text = rawShown(raw) as string;
    if (!INTEGER_TEXT.test(text)) return fail(text, "is not an integer", expected);
    value = Number(text);
  }
  if (!Number.isSafeInteger(value)) return fail(value, "is too large", expected);
  if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
    return fail(value, "is out of range", expected);
  }
  return { value };
}

function coerceDuration(raw: RawValue, min: number | undefined): KindResult {
  const expected =
    min === undefined ? DURATION_SYNTAX : `${DURATION_SYNTAX}, at least ${formatDuration(min)}`;
  let text: string;
  if (raw.from === "file") {
    // Go would read a bare YAML number as nanoseconds, which is never what `job-ttl: 600` means.
    if (raw.value === 0) return { value: 0 };
    if (typeof raw.value !== "string") {
      return fail(raw.value, "is not a duration string (a bare number would be nanoseconds)", expected);
    }
    text = raw.value;
  } else {
    text = rawShown(raw) as string;
  }
  const parsed = parseDuration(text);
  if (!parsed.ok) return fail(text, `is not a duration (${parsed.error})`, expected);
  if (min !== undefined && parsed.nanoseconds < min) return fail(text, "is negative", expected);
  return { value: parsed.nanoseconds };
}

function coerceEnum(raw: RawValue, values: readonly string[]): KindResult {
  const named = values.filter((value) => value !== "").map((value) => JSON.stringify(value));
  const expected = values.includes("")
    ? `one of ${named.join(", ")} or "" (unset)`
    : `one of ${named.join(", ")}`;
  const value = raw.from === "file" ? raw.value : rawShown(raw);
  if (typeof value !== "string" || !values.includes(value)) return fail(value, "is not allowed", expected);
  return { value };
}

/** Env and flag text is a comma list (`TAGS=queue=a,os=linux`); blanks around items are dropped. */
export function splitList(text: string): string[] {
  return text
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

function coerceStringList(spec: KeySpec, raw: RawValue, itemRule: "agentTag" | undefined): KindResult {
  let items: string[];
  if (raw.from === "file") {
    if (!Array.isArray(raw.value) || raw.value.some((item) => typeof item !== "string")) {
      return fail(raw.value, "is not a list of strings", "a YAML list of strings");
    }
    items = raw.value as string[];
  } else if (raw.from === "texts") {
    items = raw.texts.flatMap(splitList);
  } else {
    items = splitList(raw.text);
  }
  if (itemRule === "agentTag") {
    const failures: Failure[] = [];
    items.forEach((item, index) => {
      const failure = checkAgentTag(item);
      if (failure) failures.push({ ...failure, shown: item, path: `${spec.key}[${index}]` });
    });
    if (failures.length > 0) return { failures };
  }
  return { value: items };
}
