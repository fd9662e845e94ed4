// The explorer's "Why this class" view in Chromium with WebGPU (tiny model, SwiftShader without a GPU): a dropped
// video explained for its top class and for a second one (different pictures), the deletion curves drawn with
// their areas, PNG and JSON exports, Cancel and one click to start again; and the same on the ONNX wasm backend
// through the one click to our engine.
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { canvasPixels, CLIPS, difference, dropFile, makeClips, offlineHub } from './app-page';

const CLIP = `${CLIPS}/h264.mp4`;
const TIMEOUT = 300_000;

test.beforeAll(makeClips);
test.beforeEach(({ context }) => offlineHub(context));

/** Load the tiny model on `backend`, drop the clip, and open the "Why" view. */
async function dropAndAsk(page: Page, backend: string) {
  await page.goto(`/?model=/models/tiny-divided&backend=${backend}`);
  await expect(page.getByTestId('model-status')).toBeVisible({ timeout: TIMEOUT });
  await expect(page.getByTestId('backend-active')).toHaveAttribute('data-backend', backend, { timeout: TIMEOUT });
  await dropFile(page, CLIP, 'video/mp4');
  await expect(page.getByTestId('prediction')).toHaveCount(5, { timeout: TIMEOUT });
  await page.getByRole('tab', { name: 'Why this class' }).click();
}

/** The explanation shown for `classIndex`: drawn, with three deletion curves whose areas are probabilities' means. */
async function explained(page: Page, classIndex: number) {
  const view = page.getByTestId('why-explanation');
  await expect(view).toHaveAttribute('data-class', String(classIndex), { timeout: TIMEOUT });
  await expect(page.getByTestId('why-progress')).toHaveCount(0);
  for (const id of ['why-relevance', 'why-saliency', 'why-frames', 'why-deletion']) expect((await canvasPixels(page, id)).colours, id).toBeGreaterThan(5);
  const areas: Record<string, number> = {};
  for (const order of ['relevance', 'rollout', 'random']) {
    const item = page.getByTestId(`deletion-area-${order}`);
    await expect(item).toContainText(/area \d\.\d{3}/);
    areas[order] = Number(await item.getAttribute('data-area'));
    expect(areas[order], order).toBeGreaterThanOrEqual(0);
    expect(areas[order], order).toBeLessThanOrEqual(1);
  }
  return { relevance: await canvasPixels(page, 'why-relevance'), saliency: await canvasPixels(page, 'why-saliency'), areas };
}

/** The top five classes' indices, in the order the picker lists them. */
const pickerClasses = (page: Page) => page.getByTestId('why-class').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-index'))));

test('a dropped video: why the top class and why a second one, deletion curves with areas, PNG and JSON exports', async ({ page }) => {
  test.setTimeout(900_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await dropAndAsk(page, 'wgsl');
  const [top, second] = await pickerClasses(page);
  await expect(page.getByTestId('why-title')).toHaveAttribute('data-class', String(top));
  await expect(page.getByTestId('why-class').first()).toHaveAttribute('aria-pressed', 'true');
  const first = await explained(page, top);

  // The numbers behind the relevance view, and the picture with its colour scale.
  const relevanceFigure = page.locator('figure', { has: page.getByTestId('why-relevance') });
  const [json] = await Promise.all([page.waitForEvent('download'), relevanceFigure.getByTestId('export-json').click()]);
  expect(json.suggestedFilename()).toMatch(/^why-.+-relevance\.json$/);
  const numbers = JSON.parse(readFileSync(await json.path(), 'utf8'));
  expect(numbers.class).toBe(top);
  expect(numbers.relevance).toHaveLength(4); // 4 frames of a 4 × 4 grid
  expect(numbers.relevance[0]).toHaveLength(16);
  expect(numbers.frameImportance).toHaveLength(4);
  const [png] = await Promise.all([page.waitForEvent('download'), relevanceFigure.getByRole('button', { name: 'Export PNG' }).click()]);
  expect(png.suggestedFilename()).toMatch(/^why-.+-relevance\.png$/);
  expect(readFileSync(await png.path()).subarray(1, 4).toString()).toBe('PNG');
  const deletionFigure = page.locator('figure', { has: page.getByTestId('why-deletion') });
  const [curves] = await Promise.all([page.waitForEvent('download'), deletionFigure.getByTestId('export-json').click()]);
  const deletion = JSON.parse(readFileSync(await curves.path(), 'utf8'));
  expect(deletion.curves.map((c: { order: string }) => c.order)).toEqual(['relevance', 'rollout', 'random']);
  for (const c of deletion.curves) {
    expect(c.fractions).toHaveLength(11);
    expect(c.probabilities).toHaveLength(11);
    expect(c.area).toBeCloseTo(first.areas[c.order], 6);
  }
  // Every curve starts from the whole clip.
  expect(new Set(deletion.curves.map((c: { probabilities: number[] }) => c.probabilities[0])).size).toBe(1);

  // A second class: another explanation, other pixels.
  await page.getByTestId('why-class').nth(1).click();
  await expect(page.getByTestId('why-title')).toHaveAttribute('data-class', String(second));
  const other = await explained(page, second);
  expect(difference(other.relevance, first.relevance)).toBeGreaterThan(2);
  expect(difference(other.saliency, first.saliency)).toBeGreaterThan(2);

  // Any class by name: the search over the labels.
  const labels = await page.getByTestId('prediction').evaluateAll((els) => els.map((e) => e.getAttribute('data-label')!));
  await page.getByTestId('why-class-search').fill(labels[0]);
  await explained(page, top);

  // Cancelled: nothing half-done is shown, and one click starts it again.
  const third = (await pickerClasses(page))[2];
  await page.getByTestId('why-class').nth(2).click();
  await page.getByTestId('why-progress').getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByTestId('why-progress')).toHaveCount(0);
  await expect(page.getByTestId('why-explanation')).toHaveCount(0);
  await page.getByTestId('why-fallback-run').click();
  await explained(page, third);
  await expect(page.getByRole('alert')).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('the ONNX wasm backend has no gradients: one click explains the top class with our engine', async ({ page }) => {
  test.setTimeout(900_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await dropAndAsk(page, 'onnx-wasm');
  const [top] = await pickerClasses(page);
  await expect(page.getByTestId('why-fallback')).toContainText('has no backward pass');
  await expect(page.getByTestId('why-explanation')).toHaveCount(0);
  await page.getByTestId('why-fallback-run').click();
  await explained(page, top);
  await expect(page.getByTestId('backend-active')).toHaveAttribute('data-backend', 'onnx-wasm'); // still the chosen backend
  await expect(page.getByRole('alert')).toHaveCount(0);
  expect(errors).toEqual([]);
});
