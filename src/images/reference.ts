/**
 * Container image references (`registry:5000/team/app:1.2@sha256:…`), parsed the way upstream parses
 * them: Docker's reference grammar (`distribution/reference` `Parse`, not the normalising variant)
 * with the digest checks of `opencontainers/go-digest`. The error texts are theirs, word for word,
 * because upstream puts them in the message that fails the Buildkite job (podspec-expansion.md §5.5).
 *
 * The grammar, from the outside in:
 *
 *     reference := name [":" tag] ["@" digest]
 *     name      := [domain "/"] path
 *     domain    := host [":" port]          host: DNS-like components (any case), or [IPv6]
 *     path      := component ("/" component)*
 *     component := [a-z0-9]+ (separator [a-z0-9]+)*      separator: "." | "_" | "__" | "-"+
 *     tag       := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *     digest    := algorithm ":" hex{32,}
 */

export interface ImageReference {
  /** The registry host and port, when the name has one (`gcr.io`, `localhost:5000`, `[::1]:5000`). */
  readonly domain?: string;
  /** The repository path inside the registry (`library/alpine`). */
  readonly path: string;
  readonly tag?: string;
  /** `algorithm:hex`, already checked for a supported algorithm and the right length. */
  readonly digest?: string;
}

export type ImageReferenceResult =
  | { readonly ok: true; readonly reference: ImageReference }
  | { readonly ok: false; readonly error: string };

export const IMAGE_REFERENCE_ERRORS = {
  empty: "repository name must have at least one component",
  uppercase: "repository name must be lowercase",
  format: "invalid reference format",
  tooLong: "repository name must not be more than 255 characters",
  digestFormat: "invalid checksum digest format",
  digestLength: "invalid checksum digest length",
  digestAlgorithm: "unsupported digest algorithm",
} as const;

const MAX_PATH_LENGTH = 255;

/** Hex length of each digest algorithm upstream can verify: twice the hash size in bytes. */
const DIGEST_HEX_LENGTHS: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };

const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const PATH = `${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])`;
const DOMAIN = `${HOST}(?::[0-9]+)?`;
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";

/**
 * The whole reference. The domain alternative is tried first, so `foo/bar` has domain `foo`: the
 * grammar cannot tell a one-word registry from a namespace, and upstream resolves it this way.
 */
const REFERENCE = new RegExp(`^(?:(${DOMAIN})/)?(${PATH})(?::(${TAG}))?(?:@(${DIGEST}))?$`);

/**
 * The grammar with the digest checks folded in, as one unanchored pattern (the chart's values schema
 * uses it): a digest is one of the algorithms upstream verifies, in lower-case hex of its length. Only
 * the 255-character bound on the path is left out.
 */
export const IMAGE_REFERENCE_SYNTAX = `(?:${DOMAIN}/)?${PATH}(?::${TAG})?(?:@(?:${Object.entries(
  DIGEST_HEX_LENGTHS,
)
  .map(([algorithm, length]) => `${algorithm}:[a-f0-9]{${length}}`)
  .join("|")}))?`;

/** go-digest's own idea of a well-formed digest, consulted only for algorithms it cannot verify. */
const WELL_FORMED_DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const LOWERCASE_HEX = /^[a-f0-9]+$/;

/**
 * Images repeat from job to job, and the grammar's expression is most of an image check's time: each
 * reference is parsed once. Bounded: emptied when full, and long texts (never valid) are not kept.
 */
const PARSED = new Map<string, ImageReferenceResult>();
const PARSED_LIMIT = 1_000;
const PARSED_MAX_LENGTH = 512;

export function parseImageReference(text: string): ImageReferenceResult {
  const known = PARSED.get(text);
  if (known !== undefined) return known;
  const result = parse(text);
  if (text.length <= PARSED_MAX_LENGTH) {
    if (PARSED.size >= PARSED_LIMIT) PARSED.clear();
    PARSED.set(text, result);
  }
  return result;
}

function parse(text: string): ImageReferenceResult {
  if (text === "") return failure(IMAGE_REFERENCE_ERRORS.empty);
  const match = REFERENCE.exec(text);
  if (match === null) return failure(unmatchedReferenceError(text));
  const [, domain, path = "", tag, digest] = match;
  if (path.length > MAX_PATH_LENGTH) return failure(IMAGE_REFERENCE_ERRORS.tooLong);
  if (digest !== undefined) {
    const digestError = checkDigest(digest);
    if (digestError !== undefined) return failure(digestError);
  }
  return { ok: true, reference: withoutUndefined({ domain, path, tag, digest }) };
}

/** True when `text` is a valid reference pinned by a digest (it then decides the pull policy). */
export function hasDigest(text: string): boolean {
  const result = parseImageReference(text);
  return result.ok && result.reference.digest !== undefined;
}

/**
 * A reference that only fails because of upper case in its path is reported as such, so
 * `ALPINE:latest` gets a hint. Upper case in the domain, tag or digest never needs this: the grammar
 * accepts it there.
 */
function unmatchedReferenceError(text: string): string {
  const lower = goToLower(text);
  return lower !== text && REFERENCE.test(lower)
    ? IMAGE_REFERENCE_ERRORS.uppercase
    : IMAGE_REFERENCE_ERRORS.format;
}

/**
 * Go's `strings.ToLower` maps each code point with the simple case mapping. JavaScript applies the
 * full mapping, which differs for one character only: `İ` becomes `i` plus a combining dot instead of `i`.
 */
function goToLower(text: string): string {
  return text.replaceAll("\u0130", "i").toLowerCase();
}

function checkDigest(digest: string): string | undefined {
  const separator = digest.indexOf(":");
  const algorithm = digest.slice(0, separator);
  const hex = digest.slice(separator + 1);
  const expectedLength = DIGEST_HEX_LENGTHS[algorithm];
  if (expectedLength === undefined) {
    return WELL_FORMED_DIGEST.test(digest)
      ? IMAGE_REFERENCE_ERRORS.digestAlgorithm
      : IMAGE_REFERENCE_ERRORS.digestFormat;
  }
  if (hex.length !== expectedLength) return IMAGE_REFERENCE_ERRORS.digestLength;
  // The reference grammar accepts upper-case hex; the digest itself must be lower case.
  if (!LOWERCASE_HEX.test(hex)) return IMAGE_REFERENCE_ERRORS.digestFormat;
  return undefined;
}

function failure(error: string): ImageReferenceResult {
  return { ok: false, error };
}

function withoutUndefined(parts: {
  domain: string | undefined;
  path: string;
  tag: string | undefined;
  digest: string | undefined;
}): ImageReference {
  return {
    path: parts.path,
    ...(parts.domain !== undefined && { domain: parts.domain }),
    ...(parts.tag !== undefined && { tag: parts.tag }),
    ...(parts.digest !== undefined && { digest: parts.digest }),
  };
}
