/**
 * A finding of `lint`, and the two ways it is printed: one line per problem,
 * `FILE:LINE:COL: error|warning: message (CODE)`, as compilers print them so that editors and CI
 * annotations pick them up; or a JSON array of objects with the same fields.
 */
import type { ErrorCode } from "../errors.ts";

export type Severity = "error" | "warning";

export interface Problem {
  readonly file: string;
  /** 1-based, of the YAML node the problem is about. */
  readonly line: number;
  readonly column: number;
  readonly severity: Severity;
  /** One line. */
  readonly message: string;
  readonly code: ErrorCode;
}

export function formatText(problems: readonly Problem[]): string {
  return problems
    .map(
      (problem) =>
        `${problem.file}:${problem.line}:${problem.column}: ${problem.severity}: ${problem.message} (${problem.code})\n`,
    )
    .join("");
}

export function formatJson(problems: readonly Problem[]): string {
  const fields = problems.map(({ file, line, column, severity, message, code }) => ({
    file,
    line,
    column,
    severity,
    message,
    code,
  }));
  return `${JSON.stringify(fields, null, 2)}\n`;
}

/** In file order; at one place, errors first. */
export function sortProblems(problems: readonly Problem[]): Problem[] {
  const severity = (problem: Problem): number => (problem.severity === "error" ? 0 : 1);
  return [...problems].sort(
    (a, b) =>
      compare(a.file, b.file) ||
      a.line - b.line ||
      a.column - b.column ||
      severity(a) - severity(b) ||
      compare(a.message, b.message),
  );
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A message on one line: a multi-line one (a table) is joined with `; `. */
export function oneLine(message: string): string {
  return message
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .join("; ");
}
