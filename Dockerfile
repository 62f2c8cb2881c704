# syntax=docker/dockerfile:1
# One image for the launcher, the webhook and the certificate keeper:
#   docker build -t ghcr.io/agent-stack-k8s/agent-stack-k8s:0.1.0 .
# The sources are TypeScript run by Node 24's own type stripping: there is no build step, only the
# production dependencies are installed.

ARG NODE_IMAGE=node:24.21.0-trixie-slim

FROM ${NODE_IMAGE} AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
# No dev dependencies; no optional ones either (the only one is the Node runtime npm brings to machines
# whose Node is older, and this image has its own). No install scripts run.
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund \
    && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# npm and corepack are not needed at run time; fewer binaries, fewer CVEs to track.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
           /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY cli ./cli
COPY src ./src
COPY runtime ./runtime
COPY webhook ./webhook
COPY launcher ./launcher
COPY certs ./certs
COPY diagnose ./diagnose
RUN ln -s /app/bin/agent-stack-k8s.js /usr/local/bin/agent-stack-k8s
# The OCI labels, after the last RUN: a build argument's value is part of the cache key of every RUN that
# follows it, and REVISION changes with every commit. The release pipeline passes VERSION and REVISION.
ARG NODE_IMAGE
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
      org.opencontainers.image.base.name="${NODE_IMAGE}"
# The `node` user of the base image, by number so that runAsNonRoot can check it. Nothing is written
# outside /tmp, so the root filesystem can be read-only.
USER 1000:1000
ENTRYPOINT ["agent-stack-k8s"]
CMD ["--help"]
