/**
 * Kubernetes resource quantities (`100m`, `1.5Gi`, `2e3`): the grammar of apimachinery's
 * `resource.ParseQuantity`, used to reject a bad value where the user wrote it instead of at the
 * API server.
 */
const NUMBER = String.raw`[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)`;
const SUFFIX = "(?:Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?";
/** The grammar as an unanchored pattern, for schemas. */
export const QUANTITY_SYNTAX = `${NUMBER}${SUFFIX}`;
const QUANTITY = new RegExp(`^${QUANTITY_SYNTAX}$`);

export const QUANTITY_RULE = "a quantity such as 100m, 0.5, 128Mi or 1e3";

export function isQuantity(value: string): boolean {
  return QUANTITY.test(value);
}

/** Quantities may be written as JSON numbers; Kubernetes' schema types them as strings. */
export function quantityText(value: string | number): string {
  return typeof value === "number" ? String(value) : value;
}

const SUFFIX_FACTORS: Readonly<Record<string, number>> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};
const PARTS = new RegExp(`^(${NUMBER})(${SUFFIX})$`);

/**
 * A quantity's value as a number, to compare two of them (`100m` < `0.2`); undefined for text that is
 * not a quantity. Precise enough for any comparison of real requests and limits.
 */
export function quantityValue(text: string): number | undefined {
  const match = PARTS.exec(text);
  if (match === null) return undefined;
  const [, number = "", suffix = ""] = match;
  // `E` alone is exa; `e3`, `E-3` are exponents.
  const factor = /^[eE][+-]?[0-9]+$/.test(suffix) ? 10 ** Number(suffix.slice(1)) : SUFFIX_FACTORS[suffix];
  return factor === undefined ? undefined : Number(number) * factor;
}
