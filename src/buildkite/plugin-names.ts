/**
 * The full name Buildkite gives a plugin written in pipeline YAML, which is the key it carries in
 * `BUILDKITE_PLUGINS` (https://buildkite.com/docs/plugins/using#plugin-sources, and Buildkite's
 * go-pipeline `Plugin.FullSource`):
 *
 * | written                         | becomes                                                       |
 * | ------------------------------- | ------------------------------------------------------------- |
 * | `kubernetes`                    | `github.com/buildkite-plugins/kubernetes-buildkite-plugin`    |
 * | `docker#v5.9.0`                 | `github.com/buildkite-plugins/docker-buildkite-plugin#v5.9.0` |
 * | `org/name#v1`                   | `github.com/org/name-buildkite-plugin#v1`                     |
 * | `github.com/org/x-buildkite-plugin#v1`, `https://…`, `ssh://…`, `git@host:org/x` | unchanged |
 * | `./.buildkite/plugins/x`, `/abs`, `\win` | unchanged (a local plugin)                           |
 *
 * A versioned `kubernetes#v1.0.0` becomes `…kubernetes-buildkite-plugin#v1.0.0`, which the stack does
 * not treat as its plugin (podspec-expansion.md §1.2).
 */
export function fullPluginName(written: string): string {
  if (written === "" || /^[/.\\]/.test(written)) return written;
  const hash = written.indexOf("#");
  const location = hash < 0 ? written : written.slice(0, hash);
  // An empty ref (`docker#`) is dropped, as Go's URL parser leaves an empty fragment.
  const ref = hash < 0 ? "" : written.slice(hash + 1);
  // A URL scheme (`https:`), a Windows drive (`C:`) or an scp-like `git@host:path` before the first `/`:
  // the author wrote a full location and means it.
  if (/^[^/]*:/.test(location)) return written;
  const segments = location.split("/");
  const withRef = (name: string): string => (ref === "" ? name : `${name}#${ref}`);
  if (segments.length === 1) return withRef(`github.com/buildkite-plugins/${location}-buildkite-plugin`);
  if (segments.length === 2) return withRef(`github.com/${segments[0]}/${segments[1]}-buildkite-plugin`);
  return written;
}
