import { describe, expect, test } from "vitest";
import { hasDigest, type ImageReference, parseImageReference } from "../../src/images/reference.ts";

const SHA256 = `sha256:${"f".repeat(64)}`;
const SHA384 = `sha384:${"0123456789abcdef".repeat(6)}`;
const SHA512 = `sha512:${"f".repeat(128)}`;

const EMPTY = "repository name must have at least one component";
const UPPERCASE = "repository name must be lowercase";
const FORMAT = "invalid reference format";
const TOO_LONG = "repository name must not be more than 255 characters";
const DIGEST_FORMAT = "invalid checksum digest format";
const DIGEST_LENGTH = "invalid checksum digest length";
const DIGEST_ALGORITHM = "unsupported digest algorithm";

const validReferences: ReadonlyArray<readonly [string, ImageReference]> = [
  ["alpine", { path: "alpine" }],
  ["alpine:latest", { path: "alpine", tag: "latest" }],
  ["buildkite/agent:3.92.1", { domain: "buildkite", path: "agent", tag: "3.92.1" }],
  ["library/alpine", { domain: "library", path: "alpine" }],
  ["docker.io/library/alpine:3.20", { domain: "docker.io", path: "library/alpine", tag: "3.20" }],
  ["ghcr.io/buildkite/agent-stack-k8s/agent", { domain: "ghcr.io", path: "buildkite/agent-stack-k8s/agent" }],
  ["localhost/app", { domain: "localhost", path: "app" }],
  ["localhost:5000/app:dev", { domain: "localhost:5000", path: "app", tag: "dev" }],
  ["test:5000/repo", { domain: "test:5000", path: "repo" }],
  ["test.com:8080/foo", { domain: "test.com:8080", path: "foo" }],
  ["test-com:8080/foo", { domain: "test-com:8080", path: "foo" }],
  ["test_com", { path: "test_com" }],
  ["test_com/foo", { path: "test_com/foo" }],
  ["test.com:tag", { path: "test.com", tag: "tag" }],
  ["test.com:5000", { path: "test.com", tag: "5000" }],
  ["foo_bar.com:8080", { path: "foo_bar.com", tag: "8080" }],
  ["foo/foo_bar.com:8080", { domain: "foo", path: "foo_bar.com", tag: "8080" }],
  ["192.168.1.1", { path: "192.168.1.1" }],
  ["192.168.1.1:5000", { path: "192.168.1.1", tag: "5000" }],
  ["192.168.1.1:5000/repo:5050", { domain: "192.168.1.1:5000", path: "repo", tag: "5050" }],
  ["[2001:db8::1]/repo", { domain: "[2001:db8::1]", path: "repo" }],
  ["[2001:db8::1]:5000/repo:tag", { domain: "[2001:db8::1]:5000", path: "repo", tag: "tag" }],
  ["[::1]:5000/repo", { domain: "[::1]:5000", path: "repo" }],
  [
    "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
    { domain: "sub-dom1.foo.com", path: "bar/baz/quux", tag: "some-long-tag" },
  ],
  [
    "b.gcr.io/test.example.com/my-app:test.example.com",
    { domain: "b.gcr.io", path: "test.example.com/my-app", tag: "test.example.com" },
  ],
  ["xn--n3h.com/myimage:xn--n3h.com", { domain: "xn--n3h.com", path: "myimage", tag: "xn--n3h.com" }],
  // Upper case is fine in a domain, so a first component in upper case is read as a registry.
  ["Uppercase/lowercase:tag", { domain: "Uppercase", path: "lowercase", tag: "tag" }],
  ["Registry.Example.COM/app", { domain: "Registry.Example.COM", path: "app" }],
  ["lowercase:Uppercase", { path: "lowercase", tag: "Uppercase" }],
  // Separators inside a path component: one dot, one or two underscores, any number of dashes.
  ["a.b_c__d-e--f---g", { path: "a.b_c__d-e--f---g" }],
  ["my--image", { path: "my--image" }],
  ["my__image", { path: "my__image" }],
  ["0/1/2", { domain: "0", path: "1/2" }],
  // Tags: a word character first, then up to 127 of word characters, dots and dashes.
  ["app:_underscore", { path: "app", tag: "_underscore" }],
  ["app:v1.2.3-rc.1_build", { path: "app", tag: "v1.2.3-rc.1_build" }],
  [`app:${"t".repeat(128)}`, { path: "app", tag: "t".repeat(128) }],
  // Digests, with or without a tag.
  [`golang:1.23.5@${SHA256}`, { path: "golang", tag: "1.23.5", digest: SHA256 }],
  [`alpine@${SHA256}`, { path: "alpine", digest: SHA256 }],
  [`test:5000/repo:tag@${SHA256}`, { domain: "test:5000", path: "repo", tag: "tag", digest: SHA256 }],
  [`app@${SHA384}`, { path: "app", digest: SHA384 }],
  [
    `xn--7o8h.com/myimage:xn--7o8h.com@${SHA512}`,
    { domain: "xn--7o8h.com", path: "myimage", tag: "xn--7o8h.com", digest: SHA512 },
  ],
  // The 255-character limit applies to the path, without the domain.
  [`example.com/${"a".repeat(255)}:tag`, { domain: "example.com", path: "a".repeat(255), tag: "tag" }],
  [
    `${"a/".repeat(127)}a:tag-puts-this-over-max`,
    { domain: "a", path: `${"a/".repeat(126)}a`, tag: "tag-puts-this-over-max" },
  ],
];

const invalidReferences: ReadonlyArray<readonly [string, string]> = [
  ["", EMPTY],
  ["buildkite/agent:latest plus some extra junk", FORMAT],
  ["ALPINE:latest", UPPERCASE],
  ["Uppercase:tag", UPPERCASE],
  ["test:5000/Uppercase/lowercase:tag", UPPERCASE],
  ["team/App", UPPERCASE],
  [":justtag", FORMAT],
  [`@${SHA256}`, FORMAT],
  ["aa/asdf$$^/aa", FORMAT],
  // Separators may not start, end or double up (except the ones the grammar allows).
  ["-alpine", FORMAT],
  ["alpine-", FORMAT],
  ["alpine.", FORMAT],
  ["alpine_", FORMAT],
  ["a..b", FORMAT],
  ["a___b", FORMAT],
  ["a._b", FORMAT],
  ["team//app", FORMAT],
  ["team/app/", FORMAT],
  ["/app", FORMAT],
  // Domains: no underscore, no dash at either end of a component, numeric ports only.
  ["-registry.com/app", FORMAT],
  ["registry-.com/app", FORMAT],
  ["registry.com:port/app", FORMAT],
  ["registry.com:/app", FORMAT],
  ["[2001:db8::1]", FORMAT],
  ["[2001:db8::1]:5000", FORMAT],
  ["[2001:db8::1]:tag", FORMAT],
  ["[fe80::1%eth0]:5000/repo", FORMAT],
  ["https://registry.com/app", FORMAT],
  // Tags.
  ["app:", FORMAT],
  ["app:.dotfirst", FORMAT],
  ["app:-dashfirst", FORMAT],
  ["app:a/b", FORMAT],
  [`app:${"t".repeat(129)}`, FORMAT],
  ["app:tag:again", FORMAT],
  ["app:tag\n", FORMAT],
  [" alpine", FORMAT],
  ["alpine ", FORMAT],
  // Path length.
  [`domain/${"a".repeat(256)}:tag`, TOO_LONG],
  ["a".repeat(256), TOO_LONG],
  // Digests.
  ["app@", FORMAT],
  ["app@sha256:", FORMAT],
  ["app@sha256:abc", FORMAT],
  [`app@sha256:${"f".repeat(31)}`, FORMAT],
  [`app@sha256:${"g".repeat(64)}`, FORMAT],
  [`repo@sha256:${"f".repeat(34)}`, DIGEST_LENGTH],
  [`repo@sha256:${"f".repeat(65)}`, DIGEST_LENGTH],
  [`repo@sha512:${"f".repeat(64)}`, DIGEST_LENGTH],
  [`repo@sha384:${"f".repeat(64)}`, DIGEST_LENGTH],
  [`repo@sha256:${"F".repeat(64)}`, DIGEST_FORMAT],
  [`validname@invaliddigest:${"f".repeat(64)}`, DIGEST_ALGORITHM],
  [`repo@md5:${"f".repeat(32)}`, DIGEST_ALGORITHM],
  [`repo@sha256+b64:${"f".repeat(64)}`, DIGEST_ALGORITHM],
  [`repo@SHA256:${"f".repeat(64)}`, DIGEST_FORMAT],
  [`repo@sha256:${"f".repeat(64)}@${SHA256}`, FORMAT],
  // Upper case anywhere that lower-casing repairs is reported as upper case, digest included.
  [`Repo@${SHA256}`, UPPERCASE],
  // Go lower-cases code point by code point: the dotted capital I and the Kelvin sign both repair.
  ["\u0130mage", UPPERCASE],
  ["\u212Aube", UPPERCASE],
  ["ima\u00DFe", FORMAT],
];

describe("image references", () => {
  test.each(validReferences)("%s is a valid reference", (text, expected) => {
    expect(parseImageReference(text)).toEqual({ ok: true, reference: expected });
  });

  test.each(invalidReferences)("%j is refused", (text, error) => {
    expect(parseImageReference(text)).toEqual({ ok: false, error });
  });

  test("the parsed parts put back together give the reference again", () => {
    for (const [text] of validReferences) {
      const result = parseImageReference(text);
      if (!result.ok) throw new Error(`${text} did not parse: ${result.error}`);
      const { domain, path, tag, digest } = result.reference;
      const rebuilt = `${domain === undefined ? "" : `${domain}/`}${path}${tag === undefined ? "" : `:${tag}`}${digest === undefined ? "" : `@${digest}`}`;
      expect(rebuilt).toBe(text);
    }
  });

  test("a path of exactly 255 characters is the longest accepted", () => {
    expect(parseImageReference("a".repeat(255)).ok).toBe(true);
    expect(parseImageReference("a".repeat(256))).toEqual({ ok: false, error: TOO_LONG });
  });

  test("long hostile input is answered quickly", () => {
    const hostile = [`${"a-".repeat(5000)}!`, `${"a.".repeat(5000)}A`, `${"a/".repeat(5000)}:`];
    const started = performance.now();
    for (const text of hostile) expect(parseImageReference(text).ok).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe("digest pinning", () => {
  test("a reference with a digest is pinned", () => {
    expect(hasDigest(`golang:1.23.5@${SHA256}`)).toBe(true);
    expect(hasDigest(`alpine@${SHA512}`)).toBe(true);
  });

  test("a reference with only a tag, or none, is not pinned", () => {
    expect(hasDigest("golang:1.23.5")).toBe(false);
    expect(hasDigest("alpine")).toBe(false);
  });

  test("an invalid reference is never pinned, even with something after an @", () => {
    expect(hasDigest(`repo@sha256:${"f".repeat(34)}`)).toBe(false);
    expect(hasDigest(`Repo@${SHA256}`)).toBe(false);
    expect(hasDigest("")).toBe(false);
  });
});
