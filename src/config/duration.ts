/**
 * Go `time.Duration` text: `ParseDuration` and `Duration.String()`, ported so that configuration
 * written for the upstream Go controller (`300ms`, `1.5h`, `2h45m`) means the same here, and so that
 * durations we hand to the agent (`BUILDKITE_KUBERNETES_CONTAINER_START_TIMEOUT`) read as Go prints
 * them (`5m0s`, `1m30s`, `500ms`). Values are nanoseconds; the arithmetic runs on BigInt because Go's
 * range (±292 years in nanoseconds) exceeds what a double holds exactly.
 */

export const NANOSECOND = 1;
export const MICROSECOND = 1_000;
export const MILLISECOND = 1_000_000;
export const SECOND = 1_000_000_000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;

const UNITS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5 micro sign
  μs: 1_000n, // U+03BC Greek small letter mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const MAX_MAGNITUDE = 1n << 63n;

export const DURATION_SYNTAX = "a Go duration such as 300ms, 1.5h or 2h45m (units ns, us, µs, ms, s, m, h)";

export type DurationParseResult =
  | { readonly ok: true; readonly nanoseconds: number }
  | { readonly ok: false; readonly error: string };

function isDigit(char: string | undefined): boolean {
  return char !== undefined && char >= "0" && char <= "9";
}

/**
 * Go's `time.ParseDuration`, with Go's error texts (`time: invalid duration "x"`,
 * `time: missing unit in duration "1"`, `time: unknown unit "d" in duration "1d"`).
 */
export function parseDuration(text: string): DurationParseResult {
  const invalid = { ok: false, error: `time: invalid duration ${goQuote(text)}` } as const;
  let rest = text;
  let negative = false;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    negative = rest.startsWith("-");
    rest = rest.slice(1);
  }
  if (rest === "0") return { ok: true, nanoseconds: 0 };
  if (rest === "") return invalid;

  let total = 0n;
  while (rest !== "") {
    if (!(rest[0] === "." || isDigit(rest[0]))) return invalid;

    let index = 0;
    let whole = 0n;
    while (isDigit(rest[index])) {
      whole = whole * 10n + BigInt(rest.charCodeAt(index) - 48);
      if (whole >= MAX_MAGNITUDE) return invalid;
      index++;
    }
    const hasWhole = index > 0;

    // Go keeps at most the fraction digits that fit; the rest are read but ignored.
    let fraction = 0n;
    let scale = 1n;
    let hasFraction = false;
    if (rest[index] === ".") {
      index++;
      const start = index;
      let overflowed = false;
      while (isDigit(rest[index])) {
        if (!overflowed) {
          const next = fraction * 10n + BigInt(rest.charCodeAt(index) - 48);
          if (next >= MAX_MAGNITUDE) overflowed = true;
          else {
            fraction = next;
            scale *= 10n;
          }
        }
        index++;
      }
      hasFraction = index > start;
    }
    if (!hasWhole && !hasFraction) return invalid;

    const unitStart = index;
    while (index < rest.length && !(rest[index] === "." || isDigit(rest[index]))) index++;
    if (index === unitStart) return { ok: false, error: `time: missing unit in duration ${goQuote(text)}` };
    const unitText = rest.slice(unitStart, index);
    const unit = UNITS[unitText];
    if (unit === undefined) {
      return {
        ok: false,
        error: `time: unknown unit ${goQuote(unitText)} in duration ${goQuote(text)}`,
      };
    }
    rest = rest.slice(index);

    if (whole > MAX_MAGNITUDE / unit) return invalid;
    let value = whole * unit;
    if (fraction > 0n) {
      // Go computes this part in float64: uint64(float64(f) * (float64(unit) / scale)).
      value += BigInt(Math.trunc(Number(fraction) * (Number(unit) / Number(scale))));
      if (value > MAX_MAGNITUDE) return invalid;
    }
    total += value;
    if (total > MAX_MAGNITUDE) return invalid;
  }
  if (!negative && total > MAX_MAGNITUDE - 1n) return invalid;
  return { ok: true, nanoseconds: Number(negative ? -total : total) };
}

/** Go's `time.Duration.String()`: `0s`, `1.5µs`, `500ms`, `1m30s`, `1h0m0s`, `-2h45m0s`. */
export function formatDuration(nanoseconds: number): string {
  let magnitude = BigInt(Math.trunc(nanoseconds));
  const negative = magnitude < 0n;
  if (negative) magnitude = -magnitude;
  const sign = negative ? "-" : "";

  if (magnitude === 0n) return "0s";
  if (magnitude < 1_000_000_000n) {
    if (magnitude < 1_000n) return `${sign}${magnitude}ns`;
    if (magnitude < 1_000_000n) return `${sign}${withFraction(magnitude, 3)}µs`;
    return `${sign}${withFraction(magnitude, 6)}ms`;
  }
  const seconds = magnitude / 1_000_000_000n;
  const secondsText = `${seconds % 60n}${fractionDigits(magnitude % 1_000_000_000n, 9)}s`;
  const minutes = seconds / 60n;
  if (minutes === 0n) return `${sign}${secondsText}`;
  const hours = minutes / 60n;
  const minutesText = `${minutes % 60n}m${secondsText}`;
  return hours === 0n ? `${sign}${minutesText}` : `${sign}${hours}h${minutesText}`;
}

/** `value / 10**precision` with the fraction's trailing zeros (and a bare point) dropped. */
function withFraction(value: bigint, precision: number): string {
  const divisor = 10n ** BigInt(precision);
  return `${value / divisor}${fractionDigits(value % divisor, precision)}`;
}

function fractionDigits(remainder: bigint, precision: number): string {
  if (remainder === 0n) return "";
  return `.${remainder.toString().padStart(precision, "0").replace(/0+$/, "")}`;
}

/** Go's `strconv.Quote` for the texts that reach these messages (printable input). */
function goQuote(text: string): string {
  return JSON.stringify(text);
}
