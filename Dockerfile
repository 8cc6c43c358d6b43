# The hub as one image for every role: HUB_SERVICES picks a node's services, as for
# `node dist/hub/node.js` anywhere (docs/configuration.md#hub-nodes-in-production).
#
#   docker build -t linkage-hub .
#   docker run -e DATABASE_URL=... -e NATS_URL=... -e NATS_CREDS=... -e TEMPORAL_ADDRESS=... \
#     -e HUB_SERVICES=api -p 3000:3000 -v hub-data:/home/node/data linkage-hub
#
# Not built on this project's machines (they have no container engine):
# test/integration/production-build.test.ts runs what this file runs instead, its COPY, ENV
# and RUN lines of the runtime stage and its CMD, read from here (see docs/operations.md).

# Build: every dependency, then TypeScript to dist/ with the workflow bundle (ops/build.ts).
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build

# Runtime: production dependencies only, the build, the CLI's entry; as the image's node user.
FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production HUB_HOST=0.0.0.0 HUB_DATA_DIR=/home/node/data
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
COPY --from=build /app/dist dist
COPY bin bin
USER node
EXPOSE 3000
CMD ["node", "--enable-source-maps", "dist/hub/node.js"]
