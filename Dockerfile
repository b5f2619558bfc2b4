# syntax=docker/dockerfile:1
# Hookline: one image for every role (APP_ROLE=all|api|worker|psp).
# Node 24, the current LTS: the major .ci/run passes the whole suite on (docs/decisions/0024-node-24-lts.md).

# ---- build: full dependencies, compile, then drop devDependencies ----
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
COPY migrations ./migrations
COPY scripts ./scripts
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: production node_modules + dist only, as the non-root `node` user ----
FROM node:24-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000
WORKDIR /app
# Files stay owned by root: the app only reads them.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
# Slim images have no curl; Node's own fetch does the probe.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live',{signal:AbortSignal.timeout(2500)}).then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]
# NODE_FLAGS of src/node-flags.ts (a larger young generation: less garbage collection under load).
CMD ["node", "--max-semi-space-size=64", "dist/src/main.js"]
