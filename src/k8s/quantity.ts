/**
 * Kubernetes resource quantities (`100m`, `1.5Gi`, `2e3`): the grammar of apimachinery's
 * `resource.ParseQuantity`, used to reject a bad value where the user wrote it instead of at the
 * API server.
 */
const NUMBER = String.raw`[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)`;
const SUFFIX = "(?:Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?";
const QUANTITY = new RegExp(`^${NUMBER}${SUFFIX}$`);

export const QUANTITY_RULE = "a quantity such as 100m, 0.5, 128Mi or 1e3";

export function isQuantity(value: string): boolean {
  return QUANTITY.test(value);
}

/** Quantities may be written as JSON numbers; Kubernetes' schema types them as strings. */
export function quantityText(value: string | number): string {
  return typeof value === "number" ? String(value) : value;
}
