# A GPU inference worker: CUDA 12 runtime + cuDNN 9 (what onnxruntime-node 1.30's CUDA provider links),
# Node 20, and onnxruntime-node's CUDA execution provider fetched at build time (it ships from NuGet, not
# in the npm tarball). One container per GPU; KVBENCH_DEVICE_CLASS picks the queue (gpu-24g, gpu-80g, gpu-141g).
FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04
ENV DEBIAN_FRONTEND=noninteractive NODE_MAJOR=20
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl gnupg \
 && mkdir -p /etc/apt/keyrings \
 && curl -fsSL https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key | gpg --dearmor -o /etc/apt/keyrings/nodesource.gpg \
 && echo "deb [signed-by=/etc/apt/keyrings/nodesource.gpg] https://deb.nodesource.com/node_${NODE_MAJOR}.x nodistro main" > /etc/apt/sources.list.d/nodesource.list \
 && apt-get update && apt-get install -y --no-install-recommends nodejs \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
# Install without the postinstall downloads, then fetch the CUDA 12 provider explicitly.
RUN ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm ci --no-audit --no-fund \
 && cd node_modules/onnxruntime-node \
 && ONNXRUNTIME_NODE_INSTALL=cuda12 npm_config_onnxruntime_node_install=cuda12 node script/install.js \
 && rm -rf /app/apps/web/.next
ENV NODE_ENV=production KVBENCH_DEVICE_CLASS=gpu-24g NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility
CMD ["node", "--import", "tsx", "workers/inference/src/main.ts"]
