# syntax=docker/dockerfile:1
# One image for both programs: the aggregator by default (the last stage), the shipper with
# `--target shipper` (or `node dist/apps/shipper/src/main.js` as the command).

FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 is compiled here, from source; nothing is downloaded at run time.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .prebuild-installrc ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY apps apps
COPY libs libs
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY migrations migrations

FROM runtime AS shipper
USER node
# A small young generation and a capped heap: the live heap is ~13 MB, and V8's defaults let garbage
# grow the RSS far past what a sidecar should hold.
CMD ["node", "--max-semi-space-size=1", "--max-old-space-size=64", "dist/apps/shipper/src/main.js"]

FROM runtime AS aggregator
COPY apps/aggregator/start.sh apps/aggregator/start.sh
ENV DAYLOG_DATA_DIR=/var/lib/daylog
RUN mkdir -p /var/lib/daylog && chown node:node /var/lib/daylog
USER node
VOLUME ["/var/lib/daylog"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["sh", "apps/aggregator/start.sh"]
