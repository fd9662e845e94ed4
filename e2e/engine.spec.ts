// The WGSL engine in real headless Chromium (WebGPU on SwiftShader without a GPU) against the
// Hugging Face fixtures: the same comparison as `npm run verify -- --backend wgsl --browser`.
import { expect, test } from '@playwright/test';

const fixtures = ['tiny-divided', 'tiny-space_only', 'tiny-joint_space_time', 'small-divided'];

test.describe('WGSL engine in Chromium matches the reference fixtures', () => {
  for (const name of fixtures) {
    test(name, async ({ page }) => {
      await page.goto('/src/cli/browser/harness.html');
      await page.waitForFunction(() => 'harness' in window);
      const run = await page.evaluate(
        ([model, expected]) => window.harness.verify(model, expected),
        [`/fixtures/timesformer/${name}/model`, `/fixtures/timesformer/${name}/expected.safetensors`] as const,
      );
      const failures = run.results.filter((r) => !r.pass).map((r) => `${r.name}: ${r.problem ?? r.maxAbsError}`);
      expect(failures).toEqual([]);
      expect(run.results.length).toBeGreaterThan(5);
      expect(run.verdict).toBe('verify: PASS');
    });
  }
});
