#!/usr/bin/env bash
# The release steps of .buildkite/pipeline.yml:
#   release.sh image   builds the image for linux/amd64 and linux/arm64 (docker buildx); on a tag, pushes
#                      it as $IMAGE_REPOSITORY:<version>
#   release.sh chart   packages the chart (npm run package-chart); on a tag, pushes it to
#                      $CHART_REPOSITORY (helm push)
# A tag must be v<version>, package.json's version: the image is tagged and the chart versioned with it.
#
# Environment: BUILDKITE_TAG and BUILDKITE_COMMIT (Buildkite sets them); IMAGE_REPOSITORY and
# CHART_REPOSITORY (defaults: the chart's default image, and the registry its README installs from);
# REGISTRY_USERNAME and REGISTRY_PASSWORD to log in before a push (neither: the agent's own login);
# BUILDX_BUILDER (default agent-stack-k8s); HELM (default helm, 3.8 or newer, for the push).
# DRY_RUN=1 prints the commands it would run, and runs none.
set -euo pipefail

cd "$(dirname "$0")/.."

readonly PLATFORMS="linux/amd64,linux/arm64"
readonly CHART_NAME="agent-stack-k8s"
IMAGE_REPOSITORY="${IMAGE_REPOSITORY:-ghcr.io/agent-stack-k8s/agent-stack-k8s}"
CHART_REPOSITORY="${CHART_REPOSITORY:-oci://ghcr.io/agent-stack-k8s/charts}"
BUILDX_BUILDER="${BUILDX_BUILDER:-agent-stack-k8s}"
HELM="${HELM:-helm}"
DRY_RUN="${DRY_RUN:-}"

die() {
  printf 'release.sh: %s\n' "$*" >&2
  exit 1
}

usage() {
  printf 'usage: %s image|chart   (DRY_RUN=1 prints the commands instead of running them)\n' "$0" >&2
  exit 2
}

# Prints a command as a shell would read it back: words of plain characters as they are, others quoted.
show() {
  local word quoted=()
  for word in "$@"; do
    if [[ "$word" =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
      quoted+=("$word")
    else
      quoted+=("'${word//\'/\'\\\'\'}'")
    fi
  done
  printf '+ %s\n' "${quoted[*]}"
}

# Prints a command, then runs it unless this is a dry run.
run() {
  show "$@"
  if [[ -z "$DRY_RUN" ]]; then
    "$@"
  fi
}

# Logs in to a registry with REGISTRY_USERNAME and REGISTRY_PASSWORD, the password on stdin (never in
# the arguments or the log): `login_with REGISTRY COMMAND...`, where COMMAND takes --username and
# --password-stdin.
login_with() {
  local registry="$1"
  shift
  if [[ -z "${REGISTRY_USERNAME:-}" && -z "${REGISTRY_PASSWORD:-}" ]]; then
    printf -- "--- no REGISTRY_USERNAME and REGISTRY_PASSWORD: pushing with the agent's own login to %s\n" "$registry"
    return
  fi
  if [[ -z "${REGISTRY_USERNAME:-}" || -z "${REGISTRY_PASSWORD:-}" ]]; then
    die "REGISTRY_USERNAME and REGISTRY_PASSWORD go together: set both, or neither to use the agent's own login"
  fi
  show "$@" "$registry" --username "$REGISTRY_USERNAME" --password-stdin
  if [[ -z "$DRY_RUN" ]]; then
    printf '%s' "$REGISTRY_PASSWORD" | "$@" "$registry" --username "$REGISTRY_USERNAME" --password-stdin
  fi
}

version() {
  local version
  version="$(node -p 'require("./package.json").version')" || die "cannot read package.json's version (is node installed?)"
  [[ -n "$version" && "$version" != "undefined" ]] || die "package.json has no version"
  printf '%s' "$version"
}

# The commit built: BUILDKITE_COMMIT when it is one (it is "HEAD" in a build started by hand), else git's.
revision() {
  if [[ "${BUILDKITE_COMMIT:-}" =~ ^[0-9a-f]{40}$ ]]; then
    printf '%s' "$BUILDKITE_COMMIT"
  else
    git rev-parse --verify HEAD 2>/dev/null || printf 'unknown'
  fi
}

# "true" on a tag of this version, "false" on a branch; dies on a tag of another version.
pushing() {
  local version="$1"
  if [[ -z "${BUILDKITE_TAG:-}" ]]; then
    printf 'false'
  elif [[ "$BUILDKITE_TAG" == "v$version" ]]; then
    printf 'true'
  else
    die "tag $BUILDKITE_TAG is not v$version: set the version in package.json and Chart.yaml, then tag that commit v<version>"
  fi
}

# The platforms a buildx builder can build, one per line (its `Platforms:` lines, `*` marks removed).
builder_platforms() {
  docker buildx inspect --bootstrap "$BUILDX_BUILDER" |
    sed -n 's/^Platforms:[[:space:]]*//p' | tr ',' '\n' | tr -d ' *'
}

build_image() {
  local version revision push platforms platform
  version="$(version)"
  revision="$(revision)"
  push="$(pushing "$version")"
  if [[ "$push" == true ]]; then
    printf -- '--- :docker: building and pushing %s:%s (%s)\n' "$IMAGE_REPOSITORY" "$version" "$PLATFORMS"
  else
    printf -- '--- :docker: building %s:%s (%s); not a tag, so not pushing\n' "$IMAGE_REPOSITORY" "$version" "$PLATFORMS"
  fi
  if [[ -z "$DRY_RUN" ]] && docker buildx inspect "$BUILDX_BUILDER" >/dev/null 2>&1; then
    printf -- '--- buildx builder %s\n' "$BUILDX_BUILDER"
  else
    # A docker-container builder: the docker driver builds one platform at a time.
    run docker buildx create --name "$BUILDX_BUILDER" --driver docker-container
  fi
  if [[ -z "$DRY_RUN" ]]; then
    platforms="$(builder_platforms)" ||
      die "docker buildx inspect --bootstrap $BUILDX_BUILDER failed (see above): is the docker engine reachable?"
    for platform in ${PLATFORMS//,/ }; do
      grep -qx "$platform" <<<"$platforms" ||
        die "the buildx builder $BUILDX_BUILDER cannot build $platform (it builds: $(paste -sd, - <<<"$platforms")): install QEMU's binfmt handlers (docker run --privileged --rm tonistiigi/binfmt --install all) or give the builder a node of that platform"
    done
  fi
  local args=(buildx build --builder "$BUILDX_BUILDER" --platform "$PLATFORMS"
    --build-arg "VERSION=$version" --build-arg "REVISION=$revision"
    --tag "$IMAGE_REPOSITORY:$version")
  # Without --push there is no output: the build is checked for both platforms and stays in the cache.
  if [[ "$push" == true ]]; then
    login_with "${IMAGE_REPOSITORY%%/*}" docker login
    args+=(--push)
  fi
  run docker "${args[@]}" .
}

package_chart() {
  local version push archive registry
  version="$(version)"
  push="$(pushing "$version")"
  archive="dist/$CHART_NAME-$version.tgz"
  [[ "$CHART_REPOSITORY" == oci://* ]] || die "CHART_REPOSITORY must be an oci:// reference, not $CHART_REPOSITORY"
  if [[ "$push" == true && -z "$DRY_RUN" ]] && ! command -v "$HELM" >/dev/null; then
    die "$HELM not found: pushing the chart needs helm 3.8 or newer on the agent (or HELM=/path/to/helm)"
  fi
  printf -- '--- :helm: packaging %s\n' "$archive"
  run npm ci --no-audit --no-fund
  run npm run --silent package-chart
  if [[ "$push" == true ]]; then
    printf -- '--- :helm: pushing %s to %s\n' "$archive" "$CHART_REPOSITORY"
    registry="${CHART_REPOSITORY#oci://}"
    login_with "${registry%%/*}" "$HELM" registry login
    run "$HELM" push "$archive" "$CHART_REPOSITORY"
  else
    printf -- '--- not a tag: %s is this build'"'"'s artifact, not pushed\n' "$archive"
  fi
}

[[ $# -eq 1 ]] || usage
case "$1" in
  image) build_image ;;
  chart) package_chart ;;
  *) usage ;;
esac
