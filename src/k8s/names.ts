/**
 * Kubernetes name rules (apimachinery `validation.IsDNS1123Label`, `IsDNS1123Subdomain`,
 * `IsQualifiedName`, `IsValidLabelValue`): checked where a value enters, so it fails once with a
 * message instead of on every Job at the API server.
 */
const LABEL_VALUE = /^(?:(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME_PART = /^(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_LABEL = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;

export function isLabelValue(value: string): boolean {
  return value.length <= 63 && LABEL_VALUE.test(value);
}

/** A label or annotation key: an optional DNS subdomain prefix and `/`, then a name of ≤ 63 characters. */
export function isQualifiedName(value: string): boolean {
  const slash = value.lastIndexOf("/");
  const name = slash === -1 ? value : value.slice(slash + 1);
  const prefix = slash === -1 ? undefined : value.slice(0, slash);
  if (prefix !== undefined && !isDnsSubdomain(prefix)) return false;
  return name.length <= 63 && QUALIFIED_NAME_PART.test(name);
}

export function isDnsLabel(value: string): boolean {
  return value.length <= 63 && DNS_LABEL.test(value);
}

export function isDnsSubdomain(value: string): boolean {
  return value.length <= 253 && DNS_SUBDOMAIN.test(value);
}
