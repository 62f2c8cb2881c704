import { describe, expect, test } from "vitest";
import { checkAgentTag, isHostnamePort } from "../../src/config/rules.ts";
import { closest } from "../../src/config/suggest.ts";
import { isLabelValue, isQualifiedName } from "../../src/k8s/names.ts";

describe("hostname_port (go-playground validator)", () => {
  test.each([":6060", "localhost:6060", "127.0.0.1:6060", "0.0.0.0:1", "pprof.internal:65535", "my-host:80"])(
    "%s is valid",
    (value) => expect(isHostnamePort(value)).toBe(true),
  );

  test.each([
    ["6060", "no colon"],
    ["localhost", "no port"],
    ["localhost:", "empty port"],
    ["localhost:0", "port 0"],
    ["localhost:65536", "port too large"],
    ["localhost:http", "named port"],
    ["[::1]:6060", "IPv6 literal"],
    ["::1:6060", "unbracketed IPv6"],
    ["under_score:80", "underscore in host"],
    ["-host:80", "leading hyphen"],
  ])("%s is invalid (%s)", (value) => expect(isHostnamePort(value)).toBe(false));
});

describe("label values and qualified names (apimachinery)", () => {
  test.each(["", "a", "kubernetes", "a.b_c-d", "A1", "x".repeat(63)])("label value %j", (value) =>
    expect(isLabelValue(value)).toBe(true),
  );
  test.each(["-a", "a-", "a b", "x".repeat(64), "a/b", "kubernetes=2"])("not a label value %j", (value) =>
    expect(isLabelValue(value)).toBe(false),
  );
  test.each(["app", "app.kubernetes.io/name", "argocd.argoproj.io/tracking-id", "tag.buildkite.com/queue"])(
    "qualified name %j",
    (value) => expect(isQualifiedName(value)).toBe(true),
  );
  test.each(["", "/name", "Example.com/name", "a/b/c", "bad key", `example.com/${"x".repeat(64)}`])(
    "not a qualified name %j",
    (value) => expect(isQualifiedName(value)).toBe(false),
  );
});

describe("agent tags", () => {
  test("k=v with a label-safe key and value, split at the first '='", () => {
    expect(checkAgentTag("queue=kubernetes")).toBeUndefined();
    expect(checkAgentTag("resource_class=")).toBeUndefined();
    expect(checkAgentTag("queue")?.problem).toBe("is not a k=v tag");
    expect(checkAgentTag("=x")?.problem).toBe("is not a k=v tag");
    expect(checkAgentTag("a/b=x")?.problem).toContain("invalid label key tag.buildkite.com/a/b");
  });
});

describe("did you mean", () => {
  const keys = ["max-in-flight", "job-ttl", "hooksVolume", "imagePullPolicy", "image"];
  test.each([
    ["max-inflight", "max-in-flight"],
    ["maxInFlight", "max-in-flight"],
    ["MAX_IN_FLIGHT", "max-in-flight"],
    ["hooks-volume", "hooksVolume"],
    ["imagePolicy", "imagePullPolicy"],
    ["jb-ttl", "job-ttl"],
  ])("%s → %s", (typo, key) => expect(closest(typo, keys)).toBe(key));

  test("nothing close, no suggestion", () => {
    expect(closest("colour", keys)).toBeUndefined();
    expect(closest("ttl", ["pagination-page-size"])).toBeUndefined();
  });
});
