/**
 * The figures of the footprint table (issue 12), collected from every part of the bench and printed
 * together at the end, each next to the baseline it is compared with in the same run and its goal.
 */
export interface Figure {
  /** The table's row, as the issue names it. */
  readonly row: string;
  /** The measured figure, formatted (`162 MB`, `3.1× (190 ms)`). */
  readonly value: string;
  /** What it is compared with in the same run, formatted. */
  readonly baseline: string;
  readonly goal: string;
  /** Undefined for figures without a goal. */
  readonly met?: boolean;
}

const figures: Figure[] = [];

export function record(figure: Figure): void {
  figures.push(figure);
}

export function printTable(write: (text: string) => void): void {
  if (figures.length === 0) return;
  const header: Figure = { row: "figure", value: "measured", baseline: "baseline (same run)", goal: "goal" };
  const rows = [header, ...figures];
  const width = (pick: (figure: Figure) => string) => Math.max(...rows.map((figure) => pick(figure).length));
  const widths = [width((f) => f.row), width((f) => f.value), width((f) => f.baseline), width((f) => f.goal)];
  const line = (figure: Figure, verdict: string) =>
    `| ${figure.row.padEnd(widths[0]!)} | ${figure.value.padEnd(widths[1]!)} | ${figure.baseline.padEnd(widths[2]!)} | ${figure.goal.padEnd(widths[3]!)} | ${verdict.padEnd(6)} |\n`;
  write("\nfootprint, start-up and admission throughput (issue 12's table)\n\n");
  write(line(header, "goal?"));
  write(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|--------|\n`);
  for (const figure of figures) {
    write(line(figure, figure.met === undefined ? "" : figure.met ? "met" : "missed"));
  }
}

export function formatMb(value: number): string {
  return `${value.toFixed(0)} MB`;
}

export function formatMs(seconds: number): string {
  return `${(seconds * 1000).toFixed(0)} ms`;
}
