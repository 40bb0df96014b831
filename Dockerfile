# One image for the operator and the gateway: `beastmode operator …` or `beastmode gateway --configmap ns/name`
# (the launcher cli/main.ts picks the component).
# Multi-stage: compile TypeScript with the full toolchain, ship only dist/ and production dependencies on a
# distroless Node 24 base that runs as the non-root user 65532 (Pod Security "restricted").

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No install script runs: the image's own Node compiles, and nothing shipped needs one.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY api ./api
COPY kube ./kube
COPY cli ./cli
COPY operator/src ./operator/src
COPY gateway/src ./gateway/src
RUN npx tsc -p tsconfig.build.json \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/node node_modules/.bin/node

FROM gcr.io/distroless/nodejs24-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# The dashboard's page (plain HTML, ES modules and CSS: no build step) next to its compiled server.
COPY --from=build /src/operator/src/dashboard/static ./dist/operator/src/dashboard/static
USER 65532:65532
EXPOSE 8080 8081
# The one launcher: `beastmode operator|gateway|canary …` (cli/main.ts).
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/cli/main.js"]
CMD ["operator"]
