/**
 * The checks a single string value can fail, each with what was wrong and what is expected, so that a
 * message can name both. The Kubernetes name rules are apimachinery's (`validation.IsDNS1123Label`,
 * `IsQualifiedName`, `IsValidLabelValue`): a value that fails them here would fail at the API server
 * on every Job instead of once at startup.
 */
import { parseImageReference } from "../images/reference.ts";
import { isDnsLabel, isDnsSubdomain, isLabelValue, isQualifiedName } from "../k8s/names.ts";
import { isQuantity } from "../k8s/quantity.ts";
import type { StringRule } from "./schema.ts";

export interface RuleFailure {
  /** What is wrong, phrased to follow the value: `is not a valid label value`. */
  readonly problem: string;
  readonly expected: string;
}

/** go-playground validator's `hostnameRegexRFC1123`, which IPv4 addresses match too. */
const RFC1123_HOSTNAME = /^[a-zA-Z0-9][a-zA-Z0-9-]{0,62}(?:\.[a-zA-Z0-9][a-zA-Z0-9-]{0,62})*$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** A Job name must also be a label value (63 characters); a Buildkite job UUID takes 36 of them. */
const MAX_JOB_PREFIX_LENGTH = 63 - 36;
const JOB_PREFIX = /^[a-z0-9][-a-z0-9.]*$/;

/**
 * go-playground validator's `hostname_port`: Go's `net.SplitHostPort`, a port from 1 to 65535, and an
 * empty host or an RFC 1123 host name (IPv4 addresses match it; IPv6 literals do not).
 */
export function isHostnamePort(value: string): boolean {
  const split = splitHostPort(value);
  if (split === undefined) return false;
  if (!/^[+-]?[0-9]+$/.test(split.port)) return false;
  const port = Number(split.port);
  if (port < 1 || port > 65535) return false;
  return split.host === "" || RFC1123_HOSTNAME.test(split.host);
}

/** Go's `net.SplitHostPort`, which only brackets make IPv6-safe. */
function splitHostPort(value: string): { host: string; port: string } | undefined {
  const colon = value.lastIndexOf(":");
  if (colon === -1) return undefined;
  let host = value.slice(0, colon);
  const port = value.slice(colon + 1);
  if (host.startsWith("[")) {
    if (!host.endsWith("]")) return undefined;
    host = host.slice(1, -1);
  } else if (host.includes(":") || host.includes("[") || host.includes("]")) {
    return undefined;
  }
  if (port.includes("[") || port.includes("]")) return undefined;
  return { host, port };
}

const LABEL_VALUE_RULE =
  "at most 63 characters of letters, digits, '-', '_' and '.', starting and ending with a letter or digit";

const STRING_RULES: Readonly<Record<StringRule, (value: string) => RuleFailure | undefined>> = {
  hostnamePort: (value) =>
    isHostnamePort(value)
      ? undefined
      : {
          problem: "is not a valid host:port",
          expected:
            "host:port with a port from 1 to 65535 and an empty host, a host name or an IPv4 address, such as :6060 or localhost:6060",
        },
  imageReference: (value) => {
    const parsed = parseImageReference(value);
    return parsed.ok
      ? undefined
      : {
          problem: `is not an image reference (Invalid default image reference!: ${parsed.error})`,
          expected: "an image reference such as ghcr.io/buildkite/agent:3.136.2",
        };
  },
  cpuLimit: (value) =>
    isQuantity(value)
      ? undefined
      : {
          problem: `is not a quantity (invalid CPU resource limit defined: ${value})`,
          expected: "a Kubernetes quantity such as 200m, 0.5 or 1",
        },
  memoryLimit: (value) =>
    isQuantity(value)
      ? undefined
      : {
          problem: `is not a quantity (invalid memory resource limit defined: ${value})`,
          expected: "a Kubernetes quantity such as 128Mi or 1Gi",
        },
  labelValue: (value) =>
    isLabelValue(value) ? undefined : { problem: "is not a valid label value", expected: LABEL_VALUE_RULE },
  dnsLabel: (value) =>
    isDnsLabel(value)
      ? undefined
      : {
          problem: "is not a valid Kubernetes name",
          expected:
            "an RFC 1123 label: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit",
        },
  dnsSubdomain: (value) =>
    isDnsSubdomain(value)
      ? undefined
      : {
          problem: "is not a valid Kubernetes name",
          expected:
            "an RFC 1123 subdomain: at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
        },
  jobPrefix: (value) =>
    value.length <= MAX_JOB_PREFIX_LENGTH && JOB_PREFIX.test(value)
      ? undefined
      : {
          problem: "cannot start a Job name",
          expected: `at most ${MAX_JOB_PREFIX_LENGTH} lowercase letters, digits, '-' and '.', starting with a letter or digit, so that the prefix and a 36-character job UUID make a valid Job name`,
        },
  httpUrl: (value) =>
    URL.canParse(value) && /^https?:$/.test(new URL(value).protocol)
      ? undefined
      : { problem: "is not an http(s) URL", expected: "an http or https URL" },
  uuid: (value) =>
    UUID.test(value)
      ? undefined
      : { problem: "is not a UUID", expected: "a UUID such as 018f2b4e-7c3a-4d6e-9f10-2a3b4c5d6e7f" },
};

/** Rules apply to non-empty values; whether a value may be empty is the key's `requiredBy`. */
export function checkStringRule(rule: StringRule, value: string): RuleFailure | undefined {
  return value === "" ? undefined : STRING_RULES[rule](value);
}

const TAG_EXPECTED = "k=v, where tag.buildkite.com/k is a valid label key and v a valid label value";

/**
 * An agent tag becomes the label `tag.buildkite.com/<k>: <v>` that the launcher's watchers select on;
 * upstream finds a bad one only when it builds its informers.
 */
export function checkAgentTag(tag: string): RuleFailure | undefined {
  const equals = tag.indexOf("=");
  if (equals <= 0) return { problem: "is not a k=v tag", expected: TAG_EXPECTED };
  const key = tag.slice(0, equals);
  const value = tag.slice(equals + 1);
  if (!isQualifiedName(`tag.buildkite.com/${key}`)) {
    return {
      problem: `has a key that gives the invalid label key tag.buildkite.com/${key}`,
      expected: TAG_EXPECTED,
    };
  }
  if (!isLabelValue(value)) {
    return { problem: `has a value that is not a valid label value`, expected: TAG_EXPECTED };
  }
  return undefined;
}
