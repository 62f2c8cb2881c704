/** A generated block of the README: what stands between its start and end markers, replaced. */
export function withBlock(readme: string, start: string, end: string, body: string): string {
  const from = readme.indexOf(start);
  const to = readme.indexOf(end);
  if (from === -1 || to < from) throw new Error(`README.md has no ${start} … ${end} block`);
  return `${readme.slice(0, from)}${start}\n${body}\n${readme.slice(to)}`;
}
