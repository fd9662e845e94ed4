// ?gpu=baseline: the inference worker asks for WebGPU's default limits. A model whose residual stream outgrows a
// 128 MiB binding (TimeSformer-HR's shapes at base width, with 96 frames) is refused in one line from its config.json alone,
// before its weights are asked for; the app keeps working: the tiny model loads and classifies on that device.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { CLIPS, dropFile, makeClips, offlineHub } from './app-page';

test.beforeAll(makeClips);
test.beforeEach(({ context }) => offlineHub(context));

test('?gpu=baseline refuses what a baseline binding cannot hold before reading its weights, and the tiny model still classifies', async ({ page, context }) => {
  const tiny = JSON.parse(readFileSync('fixtures/timesformer/tiny-divided/model/config.json', 'utf8'));
  const hr = { ...tiny, hidden_size: 768, num_attention_heads: 12, intermediate_size: 3072, num_hidden_layers: 12, image_size: 448, num_frames: 96 };
  const asked: string[] = [];
  await context.route('**/models/hr-shaped/**', (route) => {
    const file = route.request().url().split('/').pop()!;
    asked.push(file);
    return file === 'config.json' ? route.fulfill({ json: hr }) : route.fulfill({ status: 404 });
  });
  await page.goto('/?model=/models/hr-shaped&backend=wgsl&gpu=baseline');
  const alert = page.getByRole('alert');
  await expect(alert).toContainText('models/hr-shaped needs a 221 MiB buffer (context); this GPU allows 128 MiB in one', { timeout: 120_000 });
  expect(asked).toEqual(['config.json']);

  await page.getByTestId('model-select').selectOption('tiny-divided');
  await page.getByTestId('model-load').click();
  await expect(page.getByTestId('model-status')).toBeVisible({ timeout: 120_000 });
  await expect(alert).toHaveCount(0);
  await dropFile(page, join(CLIPS, 'h264.mp4'), 'video/mp4');
  await expect(page.getByTestId('prediction')).toHaveCount(5, { timeout: 120_000 });
  await expect(page.getByTestId('attention-map')).toBeVisible();
});
