# A CPU inference worker: consumes the `cpu` queue (KVBENCH_DEVICE_CLASS), runs the engine with ONNX
# Runtime's CPU provider. Stateless: scale with `docker compose up --scale worker=N` or KEDA.
FROM node:20-bookworm-slim
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip NODE_ENV=production
COPY . .
RUN npm ci --no-audit --no-fund && rm -rf apps/web/.next
ENV KVBENCH_DEVICE_CLASS=cpu
# exec form, so SIGTERM reaches node (it drains the running job).
CMD ["node", "--import", "tsx", "workers/inference/src/main.ts"]
