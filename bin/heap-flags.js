// Memory is a feature of the long-running commands: with V8's defaults, a burst of short-lived objects
// (a poll of Buildkite jobs, a burst of watch events or admissions) grows the young generation to 48 MB
// and the old one far beyond what stays alive, and the resident set stays there for good. A 2 MB
// semi-space and an old generation that grows by a fifth at a time keep it down for a little CPU
// (measured with `npm run bench`: 10,000 Jobs tracked in 180 MB instead of 300-420 MB).
//
// The image's compile cache is filled with these flags too (scripts/build-image.ts): Node keys it by
// the V8 flags in use.
const LONG_RUNNING = ["--max-semi-space-size=2", "--heap-growing-percent=20"];

/** V8 flags by subcommand. */
export const HEAP_FLAGS = { launcher: LONG_RUNNING, webhook: LONG_RUNNING, certs: LONG_RUNNING };
