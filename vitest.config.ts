import { defineConfig } from 'vitest/config';

// Node tests (vitest + Dawn for GPU kernels). Browser tests live in e2e/ and run under Playwright.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // GPU tests share one Dawn device per file; files run in parallel on the 2 cores.
    pool: 'forks',
  },
});
