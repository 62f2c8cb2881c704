/**
 * The chart's values schema refuses what the stack refuses: each JSON-schema pattern against its rule,
 * value by value, so that `helm install` and the stack's startup always agree.
 */
import { describe, expect, test } from "vitest";
import {
  AGENT_TAG_PATTERN,
  LABEL_VALUE_PATTERN,
  QUALIFIED_NAME_PATTERN,
  STRING_RULE_PATTERNS,
  type StringPattern,
} from "../../src/config/rule-patterns.ts";
import { checkAgentTag, checkStringRule } from "../../src/config/rules.ts";
import type { StringRule } from "../../src/config/schema.ts";
import { isLabelValue, isQualifiedName } from "../../src/k8s/names.ts";

function schemaAccepts(rule: StringPattern, value: string): boolean {
  return (
    new RegExp(rule.pattern).test(value) && (rule.maxLength === undefined || value.length <= rule.maxLength)
  );
}

const HEX64 = "a".repeat(64);
const CORPUS: Readonly<Record<StringRule, readonly string[]>> = {
  hostnamePort: [
    "",
    ":6060",
    "localhost:6060",
    "127.0.0.1:8080",
    "[::1]:80",
    "[]:80",
    "[localhost]:80",
    "host:0",
    "host:65535",
    "host:65536",
    "host:+80",
    "host:0080",
    "host:-1",
    ":",
    "host",
    "a:b:80",
    "-host:80",
    `${"a".repeat(63)}.example:1`,
    `${"a".repeat(64)}:1`,
  ],
  imageReference: [
    "",
    "alpine",
    "alpine:3.20",
    "ALPINE:latest",
    "Alpine",
    "registry:5000/team/app:1.2",
    "[::1]:5000/app",
    "Registry.Example.com/app",
    "localhost/app:TAG_1.x",
    "a__b",
    "a___b",
    "a--b.c_d",
    "-a",
    "a:",
    "a:-tag",
    `a:${"t".repeat(128)}`,
    `a:${"t".repeat(129)}`,
    "a/b/c/d",
    "a//b",
    `a@sha256:${HEX64}`,
    `a:1@sha256:${HEX64}`,
    `a@sha256:${HEX64.toUpperCase()}`,
    `a@sha256:${HEX64.slice(1)}`,
    `a@sha512:${"b".repeat(128)}`,
    `a@sha384:${"c".repeat(96)}`,
    `a@sha1:${"d".repeat(40)}`,
    `a@SHA256:${HEX64}`,
    `a@foo+bar:${"e".repeat(32)}`,
    "ghcr.io/buildkite/agent:3.136.2",
  ],
  cpuLimit: [
    "",
    "200m",
    "0.5",
    "1",
    ".5",
    "1.",
    "+1",
    "-1",
    "2e3",
    "1E-3",
    "500u",
    "10n",
    "1Gi",
    "1 Gi",
    "m",
    "1.5.5",
    "1x",
  ],
  memoryLimit: ["", "128Mi", "1Gi", "64M", "1e9", "1ki", "1GiB", "Mi"],
  labelValue: [
    "",
    "stack-a",
    "a",
    "A_b.c-1",
    "-a",
    "a-",
    "Not Valid!",
    "a".repeat(63),
    "a".repeat(64),
    "a/b",
  ],
  dnsLabel: ["", "buildkite", "ci-jobs-1", "Ci", "-a", "a.b", "a".repeat(63), "a".repeat(64)],
  dnsSubdomain: [
    "",
    "buildkite-agent-token",
    "a.b.c",
    "a..b",
    "A.b",
    `${"a".repeat(63)}.${"b".repeat(63)}`,
    "a".repeat(254),
  ],
  jobPrefix: ["", "buildkite-", "ci.", "a", "-a", "A-", "a_b", "a".repeat(27), "a".repeat(28)],
  httpUrl: [
    "",
    "https://graphql.buildkite.com/v1",
    "http://127.0.0.1:8080/graphql",
    "HTTPS://EXAMPLE.COM",
    "https://user@host/x?y=1#z",
    "ftp://example.com",
    "http://",
    "example.com",
    "http://a b",
  ],
  uuid: [
    "",
    "018f2b4e-7c3a-4d6e-9f10-2a3b4c5d6e7f",
    "018F2B4E-7C3A-4D6E-9F10-2A3B4C5D6E7F",
    "018f2b4e7c3a4d6e9f102a3b4c5d6e7f",
    "x",
  ],
};

describe.each(Object.keys(CORPUS) as StringRule[])("the %s rule", (rule) => {
  test.each(CORPUS[rule].map((value) => [value]))("%j: the schema and the stack agree", (value) => {
    expect(schemaAccepts(STRING_RULE_PATTERNS[rule], value)).toBe(checkStringRule(rule, value) === undefined);
  });
});

test.each([
  "queue=kubernetes",
  "queue=",
  "os=linux",
  "Os_1.x=v-1",
  "=v",
  "queue",
  "a/b=c",
  "k=v=w",
  "k=Not Valid",
  `${"k".repeat(63)}=v`,
  `${"k".repeat(64)}=v`,
  `k=${"v".repeat(64)}`,
])("agent tag %j: the schema and the stack agree", (tag) => {
  expect(new RegExp(AGENT_TAG_PATTERN).test(tag)).toBe(checkAgentTag(tag) === undefined);
});

test.each([
  "team",
  "example.com/team",
  "argocd.argoproj.io/tracking-id",
  "Example.com/team",
  "example.com/",
  "/team",
  "a/b/c",
  "team!",
  "-team",
  "k".repeat(63),
  "k".repeat(64),
])("metadata key %j: the schema and the stack agree", (key) => {
  expect(new RegExp(QUALIFIED_NAME_PATTERN).test(key)).toBe(isQualifiedName(key));
});

test.each(["", "ci", "a.b_c-d", "-a", "a".repeat(64), "has space"])(
  "label value %j: the schema and the stack agree",
  (value) => {
    expect(new RegExp(LABEL_VALUE_PATTERN).test(value)).toBe(isLabelValue(value));
  },
);
