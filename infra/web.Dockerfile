# The web app (dashboard + REST API). The workspaces export TypeScript sources; Next.js compiles them.
FROM node:20-bookworm-slim AS build
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip NEXT_TELEMETRY_DISABLED=1
COPY . .
RUN npm ci --no-audit --no-fund
RUN npm run build -w @kvbench/web

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production NEXT_TELEMETRY_DISABLED=1 PORT=3000
COPY --from=build /app /app
EXPOSE 3000
# Migrations run on the first database use (under a Postgres advisory lock, so web and workers may race).
CMD ["sh", "-c", "cd apps/web && exec node ../../node_modules/next/dist/bin/next start -p ${PORT}"]
