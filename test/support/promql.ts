/**
 * The metric names a PromQL expression selects, to check a dashboard's queries against the metrics the
 * code registers. A tokenizer that knows what in PromQL is not a metric name: function and aggregation
 * names (an identifier before `(`), keywords, the label lists of `by`/`without`/`on`/`ignoring`/
 * `group_left`/`group_right`, label matchers (`{…}`, where only `__name__="x"` names a metric), range
 * and subquery brackets, strings, numbers and durations, and Grafana's `$variables`.
 */

const KEYWORDS = new Set(["and", "or", "unless", "atan2", "bool", "offset", "start", "end", "inf", "nan"]);
const LABEL_LISTS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right"]);
const IDENTIFIER = /[A-Za-z_:][A-Za-z0-9_:]*/y;
const NUMBER = /(0x[0-9a-fA-F]+|[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?)([a-zA-Z]+[0-9]*)*/y;
const NAME_MATCHER = /__name__\s*=\s*(["'`])([^"'`]*)\1/g;

export interface PromqlNames {
  readonly metrics: readonly string[];
  /** Unbalanced brackets or an unterminated string, with where: a query Prometheus would refuse. */
  readonly problems: readonly string[];
}

export function promqlMetricNames(expression: string): PromqlNames {
  const metrics: string[] = [];
  const problems: string[] = [];
  const open: { char: string; at: number }[] = [];
  const closing: Record<string, string> = { ")": "(", "]": "[", "}": "{" };
  let index = 0;
  const peekNonSpace = (from: number) => {
    let at = from;
    while (at < expression.length && /\s/.test(expression[at] as string)) at++;
    return { char: expression[at], at };
  };
  /** The index just past the bracket that closes the one at `from`, strings skipped. */
  const skipGroup = (from: number, close: string): number => {
    let at = from + 1;
    while (at < expression.length && expression[at] !== close) {
      const char = expression[at] as string;
      at = char === '"' || char === "'" || char === "`" ? skipString(at) : at + 1;
    }
    if (at >= expression.length) problems.push(`${expression[from]} at ${from} is never closed`);
    return at + 1;
  };
  const skipString = (from: number): number => {
    const quote = expression[from];
    let at = from + 1;
    while (at < expression.length && expression[at] !== quote) at += expression[at] === "\\" ? 2 : 1;
    if (at >= expression.length) problems.push(`the string at ${from} is never closed`);
    return at + 1;
  };

  const isGrouping = (at: number) => {
    IDENTIFIER.lastIndex = at;
    const word = IDENTIFIER.exec(expression)?.[0]?.toLowerCase();
    return word === "by" || word === "without";
  };

  while (index < expression.length) {
    const char = expression[index] as string;
    if (/\s/.test(char)) {
      index++;
    } else if (char === "#") {
      const end = expression.indexOf("\n", index);
      index = end === -1 ? expression.length : end;
    } else if (char === '"' || char === "'" || char === "`") {
      index = skipString(index);
    } else if (char === "{") {
      const end = skipGroup(index, "}");
      for (const match of expression.slice(index, end).matchAll(NAME_MATCHER))
        metrics.push(match[2] as string);
      index = end;
    } else if (char === "[") {
      index = skipGroup(index, "]");
    } else if (char === "$") {
      // Grafana's variables: $name, ${name}, ${name:format}, [[name]] is old and not used here.
      if (expression[index + 1] === "{") index = skipGroup(index + 1, "}");
      else {
        IDENTIFIER.lastIndex = index + 1;
        index = IDENTIFIER.exec(expression) ? IDENTIFIER.lastIndex : index + 1;
      }
    } else if (/[0-9.]/.test(char)) {
      NUMBER.lastIndex = index;
      index = NUMBER.exec(expression) ? NUMBER.lastIndex : index + 1;
    } else if (/[A-Za-z_:]/.test(char)) {
      IDENTIFIER.lastIndex = index;
      const name = (IDENTIFIER.exec(expression) as RegExpExecArray)[0];
      index = IDENTIFIER.lastIndex;
      const next = peekNonSpace(index);
      if (LABEL_LISTS.has(name.toLowerCase())) {
        if (next.char === "(") index = skipGroup(next.at, ")");
      } else if (KEYWORDS.has(name.toLowerCase()) || next.char === "(" || isGrouping(next.at)) {
        // a keyword, a function, or an aggregation (`sum by (…) (…)`): its arguments are read as they come
      } else {
        metrics.push(name);
      }
    } else if (char === "(") {
      open.push({ char, at: index });
      index++;
    } else if (char === ")") {
      if (open.pop()?.char !== closing[char]) problems.push(`${char} at ${index} closes nothing`);
      index++;
    } else {
      index++;
    }
  }
  for (const unclosed of open) problems.push(`${unclosed.char} at ${unclosed.at} is never closed`);
  return { metrics: [...new Set(metrics)], problems };
}

export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

/** The metric families of a Prometheus text exposition (`# TYPE name type` lines). */
export function exposedFamilies(text: string): Map<string, MetricType> {
  const families = new Map<string, MetricType>();
  for (const match of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    families.set(match[1] as string, match[2] as MetricType);
  }
  return families;
}

/**
 * The family a selected series name belongs to, or why none does: a histogram is selected through its
 * `_bucket`, `_sum` and `_count` series (its bare name has no samples), a summary through its own
 * name, `_sum` and `_count`.
 */
export function familyOf(
  name: string,
  families: ReadonlyMap<string, MetricType>,
): { family: string } | { problem: string } {
  const type = families.get(name);
  if (type === "histogram") return { problem: `${name} is a histogram: select _bucket, _sum or _count` };
  if (type !== undefined) return { family: name };
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const baseType = families.get(base);
    if (baseType === "histogram" || (baseType === "summary" && suffix !== "_bucket")) return { family: base };
  }
  return { problem: `${name} is not a metric the stack serves` };
}
