# syntax=docker/dockerfile:1
# One image for every Fillpath process; the command picks which (README "Containers"):
#   api (default)  node dist/api.js        listens on PORT (3000)
#   worker         node dist/worker.js     health on WORKER_PORT (3001)
#   migrations     node dist/migrate.js    one-shot, exits 0 when the schema is current
#   operator tasks node scripts/keys-rotate.ts, node scripts/create-admin.ts <email> (run from sources)
# Build: docker build -t fillpath .   Node 24 (SPEC §2), Debian slim: glibc, so the native addons' prebuilt
# binaries (argon2, msgpackr) load as they do on the developers' machines.
ARG NODE_IMAGE=node:24-bookworm-slim

# Production dependencies only, install scripts included (native addons pick their prebuilt binaries here).
# `npm install --no-save` installs what package-lock.json pins, like `npm ci`, but accepts a lock file without the
# other platforms' optional packages (scripts/lib.sh ensure_deps says why).
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-save --no-audit --no-fund && npm cache clean --force

# The bundle (scripts/build.ts). Scripts are skipped: esbuild's binary comes from its optional package, and the
# `node` devDependency is not needed inside an image that already is Node 24.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --ignore-scripts --no-save --no-audit --no-fund
COPY tsconfig.json ./
COPY drizzle ./drizzle
COPY shared ./shared
COPY server ./server
COPY scripts ./scripts
RUN node scripts/build.ts

FROM ${NODE_IMAGE} AS runtime
# tini as PID 1: it forwards SIGTERM to node (which drains: SPEC §10 graceful shutdown) and reaps zombies.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
# Memory: a young generation fixed at 16 MB semi-spaces (the min flag is refused in NODE_OPTIONS, so CMD passes it)
# and an old space of half the container's limit (scripts/node-memory.ts says why); without them V8 lets garbage
# grow far past the live heap before collecting it.
ENV NODE_OPTIONS="--max-semi-space-size=16 --max-old-space-size-percentage=50"
WORKDIR /app
# Owned by root and read-only for the process: the running user cannot change the code it runs.
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Migrations (SQL the migrator reads at run time) and the sources the operator scripts run from.
COPY drizzle ./drizzle
COPY shared ./shared
COPY server ./server
COPY scripts/keys-rotate.ts scripts/create-admin.ts scripts/migrate.ts ./scripts/
# The official image's unprivileged user (uid 1000).
USER node
EXPOSE 3000 3001
# Liveness of the api on PORT; the compose file points the worker's check at WORKER_PORT. No curl in slim images:
# Node's own fetch does it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/live', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--min-semi-space-size=16", "dist/api.js"]
