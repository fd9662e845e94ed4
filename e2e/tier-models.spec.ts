// The two models at TimeSformer-HR's (16×448²) and -L's (96×224²) shapes, in the app on a device with WebGPU's
// default limits (?gpu=baseline: 128 MiB per binding, 256 MiB per buffer): each classifies a dropped video and the
// explorer draws its maps. Opt-in: the models come from `/usr/bin/python3 scripts/make-tier-models.py` (PyTorch,
// gitignored tier-models/), and on a CPU adapter each view takes minutes —
//   TIER_MODELS=1 npx playwright test e2e/tier-models.spec.ts
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { CLIPS, canvasPixels, makeClips, offlineHub, standInHub } from './app-page';

const MODELS = ['hr-2layer', 'l-2layer'];
const CLIP = `${CLIPS}/long-20s.mp4`; // 600 frames: enough for L's 96

test.skip(!process.env.TIER_MODELS, 'opt-in: TIER_MODELS=1 after scripts/make-tier-models.py');
test.beforeAll(makeClips);
test.beforeEach(({ context }) => offlineHub(context));

for (const name of MODELS) {
  test(`${name} classifies on ?gpu=baseline and the explorer draws its maps`, async ({ page }) => {
    test.setTimeout(40 * 60_000);
    const dir = join('tier-models', name, 'model');
    expect(existsSync(join(dir, 'config.json')), `${dir}: run scripts/make-tier-models.py first`).toBe(true);
    const { hub, close } = await standInHub({ 'config.json': join(dir, 'config.json'), 'model.safetensors': join(dir, 'model.safetensors') });
    hub.chunkDelayMs = 0;
    try {
      await page.goto(`/?model=${encodeURIComponent(`${hub.url}/tier-models/${name}/resolve/main`)}&backend=wgsl&gpu=baseline`);
      await expect(page.getByTestId('model-status')).toBeVisible({ timeout: 10 * 60_000 });
      await page.getByTestId('video-input').setInputFiles(CLIP);
      await expect(page.getByTestId('prediction')).toHaveCount(5, { timeout: 30 * 60_000 });
      await expect(page.getByRole('alert')).toHaveCount(0);
      await expect(page.getByTestId('attention-map')).toBeVisible();
      await expect.poll(async () => (await canvasPixels(page, 'attention-map')).colours, { timeout: 60_000 }).toBeGreaterThan(20);
    } finally {
      await close();
    }
  });
}
