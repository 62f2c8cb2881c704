# syntax=docker/dockerfile:1
# One image for the launcher, the webhook and the certificate keeper:
#   docker build -t ghcr.io/agent-stack-k8s/agent-stack-k8s:0.1.0 .
# The build stage installs the production dependencies, precompiles the TypeScript to JavaScript and
# keeps only what can run (scripts/build-image.ts); the image is that, Node's own binary and a minimal
# distroless base (glibc, libstdc++, CA certificates; no shell, no package manager).

ARG NODE_IMAGE=node:24.21.0-trixie-slim
ARG BASE_IMAGE=gcr.io/distroless/cc-debian13:nonroot

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No dev dependencies; no optional ones either (the only one is the Node runtime npm brings to machines
# whose Node is older, and this image has its own). No install scripts run.
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund \
    && npm cache clean --force
COPY bin ./bin
COPY cli ./cli
COPY src ./src
COPY runtime ./runtime
COPY webhook ./webhook
COPY launcher ./launcher
COPY certs ./certs
COPY diagnose ./diagnose
COPY scripts/build-image.ts ./scripts/build-image.ts
RUN node scripts/build-image.ts /src /app
# The compile cache is kept per user id: fill it as the user the image runs as.
RUN mkdir /app/compile-cache && chown 1000:1000 /app/compile-cache
USER 1000:1000
RUN NODE_COMPILE_CACHE=/app/compile-cache node scripts/build-image.ts --warm /app

FROM ${BASE_IMAGE}
ENV NODE_ENV=production \
    NODE_COMPILE_CACHE=/app/compile-cache
COPY --from=build /usr/local/bin/node /usr/local/bin/node
# The chart's webhook pods sleep in their preStop hook: the one program they need beside Node.
COPY --from=build /usr/bin/sleep /usr/bin/sleep
COPY --from=build /app /app
WORKDIR /app
# The OCI labels, last: a build argument's value is part of the cache key of what follows it, and
# REVISION changes with every commit. The release pipeline passes VERSION and REVISION.
ARG BASE_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=https://github.com/agent-stack-k8s/agent-stack-k8s
LABEL org.opencontainers.image.title="agent-stack-k8s" \
      org.opencontainers.image.description="Runs Buildkite CI jobs as Kubernetes Jobs: launcher, admission webhook and certificates" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.url="${SOURCE}" \
      org.opencontainers.image.documentation="${SOURCE}#readme" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"
# A user by number, so that runAsNonRoot can check it (the chart runs as 1000:1000). Nothing is
# written outside /tmp, so the root filesystem can be read-only; the compile cache is only read.
USER 1000:1000
ENTRYPOINT ["/usr/local/bin/node", "/app/bin/agent-stack-k8s.js"]
CMD ["--help"]
