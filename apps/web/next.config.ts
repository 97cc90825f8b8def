import path from 'node:path';
import type { NextConfig } from 'next';

const config: NextConfig = {
  // The workspaces export TypeScript sources (no build step): Next compiles them.
  transpilePackages: ['@kvbench/protocol', '@kvbench/db', '@kvbench/quant', '@kvbench/onnx', '@kvbench/inference-worker'],
  // Native or WASM packages stay outside the bundle and are required at run time.
  serverExternalPackages: ['onnxruntime-node', '@electric-sql/pglite', 'pg', 'bullmq', 'ioredis', 'drizzle-orm'],
  // Monorepo root, so output tracing and Turbopack see the hoisted node_modules.
  outputFileTracingRoot: path.join(import.meta.dirname, '../..'),
  turbopack: { root: path.join(import.meta.dirname, '../..') },
  poweredByHeader: false,
  // A separate build folder lets a second server (tests, a second checkout's `npm start`) run beside `next dev`.
  ...(process.env.KVBENCH_NEXT_DIST_DIR ? { distDir: process.env.KVBENCH_NEXT_DIST_DIR } : {}),
};

export default config;
