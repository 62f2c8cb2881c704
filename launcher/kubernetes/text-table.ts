/**
 * Tables in Buildkite failure messages, drawn with box-drawing characters as upstream HEAD's go-pretty
 * `StyleRounded` draws them. Cells are single-line (line breaks become spaces); long cells wrap at
 * `maxCellWidth`, so a pod's long event message stays readable in a job log.
 */

export interface TableOptions {
  /** Longer cells wrap onto more lines; default 80. */
  readonly maxCellWidth?: number;
}

export function roundedTable(
  header: readonly string[],
  rows: ReadonlyArray<readonly string[]>,
  options: TableOptions = {},
): string {
  const maxWidth = Math.max(10, options.maxCellWidth ?? 80);
  const wrapped = rows.map((row) => header.map((_, column) => wrap(oneLine(row[column] ?? ""), maxWidth)));
  const widths = header.map((title, column) =>
    Math.max(title.length, ...wrapped.flatMap((row) => row[column]!.map((line) => line.length))),
  );
  const rule = (left: string, middle: string, right: string) =>
    `${left}${widths.map((width) => "─".repeat(width + 2)).join(middle)}${right}`;
  const line = (cells: readonly string[]) =>
    `│ ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(" │ ")} │`;
  const body = wrapped.flatMap((row) => {
    const height = Math.max(...row.map((cell) => cell.length));
    return Array.from({ length: height }, (_, index) => line(row.map((cell) => cell[index] ?? "")));
  });
  return [rule("╭", "┬", "╮"), line(header), rule("├", "┼", "┤"), ...body, rule("╰", "┴", "╯")].join("\n");
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, " ").trim();
}

function wrap(text: string, width: number): string[] {
  if (text.length <= width) return [text];
  const lines: string[] = [];
  let current = "";
  for (const word of text.split(" ")) {
    for (let piece = word; piece !== ""; ) {
      const room = current === "" ? width : width - current.length - 1;
      if (piece.length <= room) {
        current = current === "" ? piece : `${current} ${piece}`;
        piece = "";
      } else if (current !== "") {
        lines.push(current);
        current = "";
      } else {
        lines.push(piece.slice(0, width));
        piece = piece.slice(width);
      }
    }
  }
  if (current !== "") lines.push(current);
  return lines;
}
