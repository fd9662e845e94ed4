// Cache Storage is an optimization: when it refuses a model's files, or the browser says they will not fit,
// the model loads from memory all the same and the model panel says it will not be kept.
// Nothing real makes Cache Storage fail reliably (a fresh context's quota depends on the machine's disk),
// so the failures are injected into the inference worker: a `put` that rejects as a full quota, and a
// storage estimate with no room left. Everything else is real (the worker, the cache, the tiny models).
import { expect, test, type Page, type Worker } from '@playwright/test';

const MODEL_CACHE = 'timesformer-models-v1';

/** The app with tiny-divided loaded, and its inference worker. */
async function appWithWorker(page: Page): Promise<Worker> {
  await page.goto('/?model=/models/tiny-divided');
  await expect(page.getByTestId('model-status')).toBeVisible({ timeout: 120_000 });
  const worker = page.workers().find((w) => w.url().includes('inference.worker'));
  expect(worker, 'the inference worker').toBeDefined();
  return worker!;
}

async function loadJoint(page: Page) {
  await page.getByTestId('model-select').selectOption('tiny-joint_space_time');
  await page.getByTestId('model-load').click();
  await expect(page.getByTestId('model-status')).toContainText('joint space-time', { timeout: 120_000 });
  await expect(page.getByRole('alert')).toHaveCount(0);
}

const cachedUrls = (page: Page) => page.evaluate(async (name) => (await (await caches.open(name)).keys()).map((r) => new URL(r.url).pathname), MODEL_CACHE);

test('a model the cache refuses loads from memory, and the panel says it will not be kept', async ({ page }) => {
  const worker = await appWithWorker(page);
  await worker.evaluate(() => {
    Cache.prototype.put = () => Promise.reject(new DOMException('The quota has been exceeded.', 'QuotaExceededError'));
  });
  await loadJoint(page);
  await expect(page.getByTestId('cache-warning')).toHaveText(
    /^This model will not be kept in the browser \([\w.]+: the browser's cache refused it: QuotaExceededError: The quota has been exceeded\.\): it loaded from memory and downloads again next time\.$/,
  );
  await expect(page.getByTestId('cache-state')).not.toContainText('In the browser cache');
  expect((await cachedUrls(page)).filter((u) => u.includes('tiny-joint'))).toEqual([]);
  // The model works.
  await page.getByTestId('video-input').setInputFiles('e2e/clips/out/h264.mp4');
  await expect(page.getByTestId('prediction')).toHaveCount(5, { timeout: 120_000 });
});

test('a model that will not fit the storage the browser allows is not written, and the panel says so', async ({ page }) => {
  const worker = await appWithWorker(page);
  await worker.evaluate(() => {
    StorageManager.prototype.estimate = async () => ({ quota: 100_000, usage: 60_000 });
  });
  await loadJoint(page);
  await expect(page.getByTestId('cache-warning')).toHaveText(/^This model will not be kept in the browser \([\w.]+: it needs \d+\.\d MB, and the browser lets this site store 0\.0 MB more\)/);
  const kept = (await cachedUrls(page)).filter((u) => u.includes('tiny-joint'));
  expect(kept.some((u) => u.endsWith('.safetensors') || u.endsWith('.bin'))).toBe(false);
});

test('a model the cache takes has no warning, and a reload reads it from the cache', async ({ page }) => {
  await appWithWorker(page);
  await expect(page.getByTestId('cache-warning')).toHaveCount(0);
  expect(await cachedUrls(page)).toEqual(expect.arrayContaining(['/models/tiny-divided/config.json', '/models/tiny-divided/model.safetensors']));
  await page.reload();
  await expect(page.getByTestId('model-status')).toBeVisible({ timeout: 120_000 });
  await expect(page.getByTestId('cache-state')).toContainText('In the browser cache');
});
