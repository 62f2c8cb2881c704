/**
 * "Did you mean …?" for misspelt keys and flags. The likely slips are a typo, a different case or
 * separator (`maxInFlight`, `max_in_flight`, `hooks-volume` for `hooksVolume`), so those are compared
 * with separators and case removed, by edit distance, then for a word left out.
 */

function normalise(name: string): string {
  return name.toLowerCase().replace(/[-_.]/g, "");
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The candidate closest to `name`, if any is close enough to be what was meant. */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  const wanted = normalise(name);
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(wanted, normalise(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const tolerance = Math.max(2, Math.floor(wanted.length / 4));
  if (bestDistance <= tolerance) return best;
  // A word left out (`imagePolicy` for `imagePullPolicy`): most of the candidate, in order.
  for (const candidate of candidates) {
    const target = normalise(candidate);
    if (wanted.length >= 0.6 * target.length && isSubsequence(wanted, target)) return candidate;
  }
  return undefined;
}

function isSubsequence(short: string, long: string): boolean {
  let position = 0;
  for (const char of long) if (char === short[position]) position++;
  return position === short.length;
}

/** `; did you mean "max-in-flight"?`, or nothing. */
export function didYouMean(name: string, candidates: readonly string[], quote = true): string {
  const suggestion = closest(name, candidates);
  if (suggestion === undefined) return "";
  return `; did you mean ${quote ? JSON.stringify(suggestion) : suggestion}?`;
}
