/** Fixed names, paths and scripts of the pods the stack builds (podspec-expansion.md §1.6). */

export const AGENT_CONTAINER = "agent";
export const CHECKOUT_CONTAINER = "checkout";
export const COPY_AGENT_CONTAINER = "copy-agent";
export const IMAGE_CHECK_PREFIX = "imagecheck-";

export const commandContainerName = (index: number): string => `container-${index}`;
export const sidecarName = (index: number): string => `sidecar-${index}`;
export const imageCheckName = (index: number): string => `${IMAGE_CHECK_PREFIX}${index}`;

export const WORKSPACE_VOLUME = "workspace";
export const WORKSPACE_PATH = "/workspace";
export const DEFAULT_HOOKS_PATH = "/workspace/hooks";
export const DEFAULT_PLUGINS_PATH = "/workspace/plugins";
export const DEFAULT_GIT_MIRRORS_PATH = "/buildkite/git-mirrors";
export const SIGNING_JWKS_DIR = "/buildkite/signing-jwks";
export const VERIFICATION_JWKS_DIR = "/buildkite/verification-jwks";

/** Every agent-run container gets its own socket directory. */
export const socketsPath = (containerName: string): string =>
  cleanPath(`/workspace/sockets/${containerName}`);

export const COMMAND_ENTRYPOINT: readonly string[] = ["/workspace/tini-static"];
export const COMMAND_ARGS: readonly string[] = ["--", "/workspace/buildkite-agent", "kubernetes-bootstrap"];

export const AGENT_TOKEN_KEY = "BUILDKITE_AGENT_TOKEN";

/** Nothing to clean: no empty, `.` or `..` component and no trailing slash. */
const CLEAN_ABSOLUTE = /^(?:\/(?!\.\.?(?:\/|$))[^/]+)+$/;

/** Go's `path.Clean`, enough for the absolute paths joined here. */
export function cleanPath(path: string): string {
  if (CLEAN_ABSOLUTE.test(path)) return path;
  const absolute = path.startsWith("/");
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length > 0 && parts.at(-1) !== "..") parts.pop();
      else if (!absolute) parts.push(part);
      continue;
    }
    parts.push(part);
  }
  const joined = parts.join("/");
  if (absolute) return `/${joined}`;
  return joined === "" ? "." : joined;
}

export function dirname(path: string): string {
  const cleaned = cleanPath(path);
  const slash = cleaned.lastIndexOf("/");
  if (slash < 0) return ".";
  return slash === 0 ? "/" : cleaned.slice(0, slash);
}
