import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'db/test/**/*.test.ts', 'workers/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'apps/*/e2e/**/*.test.ts', 'infra/test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/.next/**'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
