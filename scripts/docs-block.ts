/** A generated block of a document: what stands between its start and end markers, replaced. */
export function withBlock(
  text: string,
  start: string,
  end: string,
  body: string,
  where = "the document",
): string {
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from === -1 || to < from) throw new Error(`${where} has no ${start} … ${end} block`);
  return `${text.slice(0, from)}${start}\n${body}\n${text.slice(to)}`;
}
