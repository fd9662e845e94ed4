// Backends in the app (tiny model, Chromium; WebGPU on SwiftShader without a GPU): auto's choice and why, the
// same clip through each of the four backends (same top class, probabilities within the logits' tolerance of
// each other), attention maps only where a backend has them and the one-click WGSL fallback where it has not.
import { expect, test, type Page } from '@playwright/test';
import { CLIPS, makeClips, offlineHub } from './app-page';

const CLIP = `${CLIPS}/h264.mp4`;
/** Every backend matches the reference logits within 1e-4 (src/backends/README.md), and softmax does not amplify differences: probabilities agree within that. */
const PROB_TOLERANCE = 1e-4;

test.beforeAll(makeClips);
test.beforeEach(({ context }) => offlineHub(context));

async function open(page: Page, query: string) {
  await page.goto(`/?model=/models/tiny-divided${query}`);
  await expect(page.getByTestId('model-status')).toBeVisible({ timeout: 180_000 });
}

async function classify(page: Page) {
  await page.getByTestId('video-input').setInputFiles(CLIP);
  const items = page.getByTestId('prediction');
  await expect(items).toHaveCount(5, { timeout: 180_000 });
  return items.evaluateAll((els) => els.map((e) => ({ label: e.getAttribute('data-label')!, prob: Number(e.getAttribute('data-prob')) })));
}

test('auto runs the wasm EP on a software adapter and says why; ?backend=wgsl runs our engine', async ({ page }) => {
  await open(page, '');
  const active = page.getByTestId('backend-active');
  const software = (await page.evaluate(async () => (await navigator.gpu.requestAdapter())?.info.isFallbackAdapter)) || /swiftshader/i.test(await active.innerText());
  await expect(page.getByTestId('backend-select')).toHaveValue('auto');
  if (software) {
    await expect(active).toHaveAttribute('data-backend', 'onnx-wasm');
    await expect(active).toContainText(/software WebGPU adapter .*wasm EP on \d CPU threads? is the fastest here/);
    expect(Number(await active.getAttribute('data-threads'))).toBeGreaterThanOrEqual(1);
  } else {
    await expect(active).toHaveAttribute('data-backend', 'wgsl');
  }
  await open(page, '&backend=wgsl');
  await expect(active).toHaveAttribute('data-backend', 'wgsl');
  await expect(page.getByTestId('backend-select')).toHaveValue('wgsl');
  await expect(active).toContainText('wgsl, as chosen');
});

test('the same clip through each of the four backends: same top class and probabilities; attention maps where a backend has them, the WGSL fallback where not', async ({ page }) => {
  test.setTimeout(900_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await open(page, '&backend=wgsl');
  const reference = await classify(page);
  await expect(page.getByTestId('attention-map')).toBeVisible();
  for (const backend of ['onnx-wasm', 'onnx-webgpu', 'tfjs-webgpu'] as const) {
    // Switched in the selector: the model loads again on it and the video is classified again.
    await page.getByTestId('backend-select').selectOption(backend);
    await expect(page.getByTestId('backend-active')).toHaveAttribute('data-backend', backend, { timeout: 300_000 });
    await expect(page.getByTestId('classify-progress')).toHaveCount(0, { timeout: 300_000 });
    const got = await classify(page);
    expect(got.map((p) => p.label), backend).toEqual(reference.map((p) => p.label));
    got.forEach((p, i) => expect(Math.abs(p.prob - reference[i].prob), `${backend} ${p.label}`).toBeLessThan(PROB_TOLERANCE));
    if (backend === 'tfjs-webgpu') {
      await expect(page.getByTestId('attention-map')).toBeVisible();
      continue;
    }
    // An ONNX graph has no attention: the explorer says so, and one click computes the maps with our engine.
    const fallback = page.getByTestId('attention-fallback');
    await expect(fallback).toContainText('gives no attention maps');
    await expect(page.getByTestId('attention-map')).toHaveCount(0);
    await page.getByTestId('attention-fallback-run').click();
    await expect(page.getByTestId('attention-map')).toBeVisible({ timeout: 180_000 });
    await expect(page.getByTestId('backend-active')).toHaveAttribute('data-backend', backend); // still the chosen backend
    const withMaps = await classify(page);
    withMaps.forEach((p, i) => expect(Math.abs(p.prob - reference[i].prob)).toBeLessThan(PROB_TOLERANCE));
  }
  await expect(page.getByRole('alert')).toHaveCount(0);
  expect(errors).toEqual([]);
});
