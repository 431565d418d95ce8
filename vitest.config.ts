import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Inference is CPU-bound on a 2-core machine: parallel test files only fight for the cores.
    fileParallelism: false,
  },
});
