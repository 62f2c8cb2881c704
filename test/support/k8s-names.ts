/**
 * The name grammars of apimachinery's validation (`IsDNS1123Label`, `IsDNS1123Subdomain`,
 * `IsQualifiedName`, `IsValidLabelValue`). Each returns the reasons a value fails, or nothing.
 */

const DNS1123_LABEL = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_PART = /^(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(?:(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export const DNS1123_LABEL_MAX = 63;
const DNS1123_SUBDOMAIN_MAX = 253;
const QUALIFIED_NAME_PART_MAX = 63;
const LABEL_VALUE_MAX = 63;

export function dns1123LabelErrors(value: string): string[] {
  return [
    ...tooLong(value, DNS1123_LABEL_MAX),
    ...(DNS1123_LABEL.test(value)
      ? []
      : [
          "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
        ]),
  ];
}

export function dns1123SubdomainErrors(value: string): string[] {
  return [
    ...tooLong(value, DNS1123_SUBDOMAIN_MAX),
    ...(DNS1123_SUBDOMAIN.test(value)
      ? []
      : [
          "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        ]),
  ];
}

/** Label and annotation keys: an optional DNS subdomain prefix and `/`, then a name of at most 63. */
export function qualifiedNameErrors(value: string): string[] {
  const parts = value.split("/");
  if (parts.length > 2) {
    return [
      "a qualified name must be a name part with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  const [prefixOrName = "", maybeName] = parts;
  const name = maybeName ?? prefixOrName;
  const prefixErrors = maybeName === undefined ? [] : qualifiedNamePrefixErrors(prefixOrName);
  return [...prefixErrors, ...qualifiedNamePartErrors(name)];
}

export function labelValueErrors(value: string): string[] {
  return [
    ...tooLong(value, LABEL_VALUE_MAX),
    ...(LABEL_VALUE.test(value)
      ? []
      : [
          "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        ]),
  ];
}

function qualifiedNamePrefixErrors(prefix: string): string[] {
  if (prefix === "") return ["prefix part must be non-empty"];
  return dns1123SubdomainErrors(prefix).map((error) => `prefix part ${error}`);
}

function qualifiedNamePartErrors(name: string): string[] {
  if (name === "") return ["name part must be non-empty"];
  return [
    ...tooLong(name, QUALIFIED_NAME_PART_MAX).map((error) => `name part ${error}`),
    ...(QUALIFIED_NAME_PART.test(name)
      ? []
      : [
          "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        ]),
  ];
}

function tooLong(value: string, max: number): string[] {
  return value.length > max ? [`must be no more than ${max} characters`] : [];
}
