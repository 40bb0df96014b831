# One image for the operator and the gateway: `beastmode operator …` or `beastmode gateway --configmap ns/name`.
# Multi-stage: compile TypeScript with the full toolchain, ship only dist/ and production dependencies on a
# distroless Node 24 base that runs as the non-root user 65532 (Pod Security "restricted").

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY api ./api
COPY operator/src ./operator/src
COPY gateway/src ./gateway/src
RUN npx tsc -p tsconfig.build.json \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/node node_modules/.bin/node
# The entrypoint: the first argument picks the component; argv then looks as if its main module had been run
# directly (`node dist/<component>/src/main.js flags…`), which is how the gateway's main module knows to start.
RUN printf '%s\n' \
  "import { fileURLToPath } from 'node:url';" \
  "const component = process.argv[2];" \
  "const mains = { operator: './dist/operator/src/main.js', gateway: './dist/gateway/src/main.js' };" \
  "if (!Object.hasOwn(mains, component)) { process.stderr.write('usage: beastmode operator|gateway [flags]\\n'); process.exit(2); }" \
  "const main = new URL(mains[component], import.meta.url);" \
  "process.argv.splice(1, 2, fileURLToPath(main));" \
  "await import(main.href);" > beastmode.mjs

FROM gcr.io/distroless/nodejs24-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/beastmode.mjs ./beastmode.mjs
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/nodejs/bin/node", "/app/beastmode.mjs"]
CMD ["operator"]
