import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// Mesa 25 lavapipe (shader-f16, subgroups), unpacked without a system install (.ci/run does it): where it is,
// the engine's kernel tests run a second time on it, so every kernel variant is checked on both adapters.
const mesa25 = process.env.TIMESFORMER_MESA25 ?? '/opt/mesa25';
const lavapipeIcd = `${mesa25}/usr/share/vulkan/icd.d/lvp_icd.json`;

// Node tests (vitest + Dawn for GPU kernels). Browser tests live in e2e/ and run under Playwright.
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // GPU tests share one Dawn device per file; files run in parallel on the 2 cores.
    pool: 'forks',
    projects: [
      // SwiftShader (test/gpu.ts), or the driver VK_ICD_FILENAMES names.
      { extends: true, test: { name: 'node', include: ['test/**/*.test.ts'] } },
      // The engine and its kernels on a device with WebGPU's default limits and no optional features (test/gpu.ts):
      // what every adapter grants.
      { extends: true, test: { name: 'baseline', include: ['test/engine/*.test.ts'], env: { TIMESFORMER_DEVICE: 'baseline' } } },
      ...(existsSync(lavapipeIcd)
        ? [{
            extends: true as const,
            test: {
              name: 'lavapipe',
              include: ['test/engine/kernels.test.ts', 'test/engine/backward-kernels.test.ts', 'test/engine/explain-kernels.test.ts', 'test/engine/explain.test.ts', 'test/engine/sequence-chunks.test.ts', 'test/engine/autotune.test.ts', 'test/engine/variants.test.ts', 'test/engine/kernel-needs.test.ts'],
              // Set before the test process starts: the Vulkan loader reads them when Dawn loads the driver.
              env: { VK_ICD_FILENAMES: lavapipeIcd, LD_LIBRARY_PATH: `${mesa25}/usr/lib/x86_64-linux-gnu` },
            },
          }]
        : []),
    ],
  },
});
