/**
 * The string rules of `rules.ts` (and the agent-tag and metadata-key rules) as JSON-schema patterns, for
 * the chart's values schema: `helm install` then refuses what the stack would refuse at startup, instead
 * of installing pods that crash-loop. Helm checks patterns with Go's regexp (RE2), which reads these the
 * same way JavaScript does. `test/config/rule-patterns.test.ts` holds each pattern against its rule on a
 * corpus of values, so the two cannot drift apart.
 *
 * Exact, except where noted: an image path over 255 characters matches the pattern but is refused.
 */
import { IMAGE_REFERENCE_SYNTAX } from "../images/reference.ts";
import { QUANTITY_SYNTAX } from "../k8s/quantity.ts";
import type { StringRule } from "./schema.ts";

export interface StringPattern {
  /** An anchored pattern that the empty string matches too: an empty value means the default. */
  readonly pattern: string;
  readonly maxLength?: number;
}

/** A label value or the name part of a qualified name, 1–63 characters. */
const NAME_63 = "[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?";
const DNS_LABEL = "[a-z0-9](?:[-a-z0-9]*[a-z0-9])?";
const DNS_SUBDOMAIN = `${DNS_LABEL}(?:\\.${DNS_LABEL})*`;
const RFC1123_HOST = "[a-zA-Z0-9][a-zA-Z0-9-]{0,62}(?:\\.[a-zA-Z0-9][a-zA-Z0-9-]{0,62})*";
const PORT_1_65535 =
  "\\+?0*(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";

/** `^…$` around a body, the empty string allowed. */
function optional(body: string): string {
  return `^(?:${body})?$`;
}

export const STRING_RULE_PATTERNS: Readonly<Record<StringRule, StringPattern>> = {
  hostnamePort: { pattern: optional(`(?:\\[(?:${RFC1123_HOST})?\\]|${RFC1123_HOST})?:${PORT_1_65535}`) },
  imageReference: { pattern: optional(IMAGE_REFERENCE_SYNTAX) },
  cpuLimit: { pattern: optional(QUANTITY_SYNTAX) },
  memoryLimit: { pattern: optional(QUANTITY_SYNTAX) },
  labelValue: { pattern: optional(NAME_63), maxLength: 63 },
  dnsLabel: { pattern: optional(DNS_LABEL), maxLength: 63 },
  dnsSubdomain: { pattern: optional(DNS_SUBDOMAIN), maxLength: 253 },
  jobPrefix: { pattern: optional("[a-z0-9][-a-z0-9.]*"), maxLength: 27 },
  // What WHATWG URL parsing accepts is wider; this is what a GraphQL endpoint looks like.
  httpUrl: { pattern: optional("[Hh][Tt][Tt][Pp][Ss]?://[^\\s/?#]+(?:[/?#][^\\s]*)?") },
  uuid: {
    pattern: optional("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"),
  },
};

/** An agent tag `k=v`: `tag.buildkite.com/k` a label key, `v` a label value. */
export const AGENT_TAG_PATTERN = `^${NAME_63}=(?:${NAME_63})?$`;

/** A label or annotation key: an optional DNS subdomain and `/`, then a name (the prefix's 253-character bound aside). */
export const QUALIFIED_NAME_PATTERN = `^(?:${DNS_SUBDOMAIN}/)?${NAME_63}$`;

/** A label value, empty included. */
export const LABEL_VALUE_PATTERN = optional(NAME_63);
