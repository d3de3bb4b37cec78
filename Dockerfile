# One image for every SettleFlow process; the command picks the role:
#   API (default)   node dist/src/main.js
#   worker          node dist/src/worker.js
#   admin command   node dist/src/cli/main.js setup   (namespace + search attributes, idempotent)
# Configuration comes only from the environment (src/config.ts); NODE_ENV=production makes VAULT_KEY mandatory.

ARG NODE_IMAGE=node:22-bookworm-slim

# ---- build: the full dependency tree, only to run tsc ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# `prepare` would run tsc before the sources are here, and no native module is needed to compile TypeScript.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY tools ./tools
RUN npm run build

# ---- prod-deps: runtime dependencies, native modules made loadable ----
FROM ${NODE_IMAGE} AS prod-deps
# argon2 is compiled from source against this image's Node, so the image never depends on a prebuilt binary
# matching its Node-API version (argon2's prebuilds have needed a newer Node-API than Node 20 offers). That needs
# this toolchain, which stays in this stage: the final image only receives the compiled node_modules.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# The official Node images ship their own headers, so node-gyp needs no download.
ENV npm_config_nodedir=/usr/local
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts skips `prepare` (tsc is a dev dependency) and every other package's script. The native
# modules that matter need none: @temporalio/core-bridge and @swc/core (webpack bundling of workflows in the
# worker) ship per-platform binaries inside their packages. argon2 is the exception, rebuilt explicitly.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild argon2 \
 && npm cache clean --force
# Fail the build, not the first request, if a native module cannot load on this platform.
RUN node -e "require('@temporalio/core-bridge'); require('@swc/core'); \
  require('argon2').hash('build-probe').then(() => console.log('native modules load'))"

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Served by the API at GET /openapi.yaml.
COPY docs/openapi.yaml ./docs/openapi.yaml
# Files stay root-owned and read-only for the process: a compromised API cannot rewrite its own code.
USER node
EXPOSE 3000
# Liveness of the default role, the API (the slim image has no curl). Other roles (worker, admin command) are
# started with their own command and turn it off (docker-compose.yml).
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health', { signal: AbortSignal.timeout(4000) }).then((res) => process.exit(res.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/main.js"]
