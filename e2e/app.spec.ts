// The app as a user sees it, in Chromium with WebGPU: pick a model, drop or pick a video, read the
// predictions, explore the attention, recover from bad files, download a model from a hub (a local
// server standing in for huggingface.co; nothing here uses the network).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Page, type TestInfo } from '@playwright/test';
import { CLIPS, dropFile, makeClips, offlineHub, standInHub } from './app-page';
import { pageGpuInfo } from './gpu';

// Our engine: these tests explore attention maps, which auto's choice on a software adapter (the wasm EP) has not.
const TINY = '/?model=/models/tiny-divided&backend=wgsl';

test.beforeAll(makeClips);
test.beforeEach(({ context }) => offlineHub(context));

async function screenshot(page: Page, testInfo: TestInfo, name: string) {
  const path = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await testInfo.attach(name, { path, contentType: 'image/png' });
}

async function predictions(page: Page): Promise<{ label: string; prob: number }[]> {
  const items = page.getByTestId('prediction');
  await expect(items).toHaveCount(5, { timeout: 120_000 });
  return items.evaluateAll((els) => els.map((e) => ({ label: e.getAttribute('data-label')!, prob: Number(e.getAttribute('data-prob')) })));
}

/** How many colours a canvas has and a hash of its pixels (to tell whether it changed). */
function canvasPixels(page: Page, testId: string) {
  return page.getByTestId(testId).evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const colours = new Set<number>();
    let hash = 0;
    for (let i = 0; i < d.length; i += 4) {
      const v = (d[i] << 16) | (d[i + 1] << 8) | d[i + 2];
      colours.add(v);
      hash = (Math.imul(hash, 31) + v + d[i + 3]) | 0;
    }
    return { colours: colours.size, hash };
  });
}

async function loadTiny(page: Page) {
  await page.goto(TINY);
  await expect(page.getByTestId('model-status')).toBeVisible({ timeout: 120_000 });
}

test('the app starts; offline, it starts quietly on a served model, and a hub model asked for fails with advice', async ({ page }, testInfo) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/');
  await expect(page).toHaveTitle('TimeSformer WebGPU');
  await expect(page.getByRole('heading', { name: 'TimeSformer WebGPU' })).toBeVisible();

  const gpu = await pageGpuInfo(page);
  expect(gpu.available, 'navigator.gpu is missing: check the WebGPU flags in playwright.config.ts').toBe(true);
  expect(gpu.adapter, 'navigator.gpu.requestAdapter() returned null').not.toBeNull();
  expect(gpu.crossOriginIsolated, 'COOP/COEP headers missing (vite.config.ts)').toBe(true);
  await expect(page.getByTestId('gpu-status')).toHaveAttribute('data-state', 'available');

  // The default is a 486 MB hub download: offline, the first visit starts on the first served model instead,
  // with no alert (the user asked for nothing yet), and the model panel says why.
  const alert = page.getByRole('alert');
  await expect(page.getByTestId('model-status')).toContainText('tiny-divided', { timeout: 120_000 });
  await expect(page.getByTestId('model-notice')).toContainText('could not be downloaded (you may be offline)');
  await expect(page.getByTestId('model-notice')).toContainText('timesformer-base-finetuned-k400');
  await expect(alert).toHaveCount(0);
  await screenshot(page, testInfo, 'offline-default-model');
  // It classifies.
  await dropFile(page, join(CLIPS, 'h264.mp4'), 'video/mp4');
  await predictions(page);
  await expect(alert).toHaveCount(0);

  // Asked for by the user, the hub model fails clearly, pointing at the served models.
  await page.getByTestId('model-select').selectOption('facebook/timesformer-base-finetuned-k400');
  await expect(page.getByTestId('licence')).toContainText('CC BY-NC 4.0');
  await page.getByTestId('model-load').click();
  await expect(alert).toContainText('Could not load the model timesformer-base-finetuned-k400');
  await expect(alert).toContainText('offline');
  await expect(alert).toContainText('Served by this app');
  await expect(page.getByTestId('model-notice')).toHaveCount(0);

  // Picking a model served by the app works.
  await page.getByTestId('model-select').selectOption('tiny-divided');
  await page.getByTestId('model-load').click();
  await expect(page.getByTestId('model-status')).toBeVisible({ timeout: 120_000 });
  await expect(alert).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('a dropped video and a picked one are classified, and the attention explorer responds', async ({ page }, testInfo) => {
  await loadTiny(page);

  await dropFile(page, join(CLIPS, 'h264.mp4'), 'video/mp4');
  const first = await predictions(page);
  const sum = first.reduce((s, p) => s + p.prob, 0);
  expect(sum).toBeGreaterThan(0);
  expect(sum).toBeLessThanOrEqual(1 + 1e-6);
  first.forEach((p, i) => {
    expect(p.label).toMatch(/^class_\d$/);
    if (i > 0) expect(p.prob).toBeLessThanOrEqual(first[i - 1].prob);
  });
  await expect(page.getByTestId('frame-strip').locator('li')).toHaveCount(4);

  // Spatial attention: drawn (not one flat colour), and different for another layer and another head.
  const map = page.getByTestId('attention-map');
  await expect(map).toBeVisible();
  const start = await canvasPixels(page, 'attention-map');
  expect(start.colours).toBeGreaterThan(50);
  await page.getByTestId('layer-select').selectOption({ value: '0' });
  await expect.poll(async () => (await canvasPixels(page, 'attention-map')).hash).not.toBe(start.hash);
  await page.getByTestId('head-select').selectOption({ value: '0' });
  const head0 = await canvasPixels(page, 'attention-map');
  await page.getByTestId('head-select').selectOption({ value: '1' });
  await expect.poll(async () => (await canvasPixels(page, 'attention-map')).hash).not.toBe(head0.hash);
  await screenshot(page, testInfo, 'spatial-head-2');

  // Click a patch of the first frame: its temporal attention appears, one plot per head and the mean.
  const box = (await map.boundingBox())!;
  await map.click({ position: { x: box.width * 0.1, y: box.height * 0.5 } });
  await expect(page.getByTestId('temporal')).toContainText('in frame 1');
  expect((await canvasPixels(page, 'temporal-plot')).colours).toBeGreaterThan(5);
  // The keyboard picks patches too: PageDown moves the query to the next frame.
  await map.focus();
  await page.keyboard.press('PageDown');
  await expect(page.getByTestId('temporal')).toContainText('in frame 2');
  await page.getByTestId('head-select').selectOption({ value: 'grid' });
  await screenshot(page, testInfo, 'spatial-grid-temporal');

  // Export PNG: a real PNG download named after the view.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export PNG' }).first().click()]);
  expect(download.suggestedFilename()).toBe('spatial-layer1-all-heads.png');
  expect(readFileSync(await download.path()).subarray(1, 4).toString()).toBe('PNG');

  await page.getByRole('tab', { name: 'Rollout' }).click();
  expect((await canvasPixels(page, 'attention-map')).colours).toBeGreaterThan(50);
  await screenshot(page, testInfo, 'rollout');
  await page.getByRole('tab', { name: 'Attention schemes' }).click();
  await page.getByRole('radio', { name: /Axial/ }).click();
  await expect(page.getByText('3. height: 4 keys')).toBeVisible();
  await screenshot(page, testInfo, 'schemes-axial');

  // The file picker: the old result goes, a new one comes.
  await page.getByTestId('video-input').setInputFiles(join(CLIPS, 'vp9.webm'));
  await expect(page.getByTestId('prediction')).toHaveCount(0);
  const second = await predictions(page);
  expect(second.reduce((s, p) => s + p.prob, 0)).toBeLessThanOrEqual(1 + 1e-6);

  // The paper's 3-crop protocol: a per-view breakdown appears.
  await page.getByRole('combobox', { name: 'Views' }).selectOption({ value: 'multi' });
  await page.getByRole('button', { name: 'Run again with these settings' }).click();
  await expect(page.getByTestId('view-breakdown').locator('tbody tr')).toHaveCount(3, { timeout: 120_000 });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.getByRole('tab', { name: 'Spatial attention' }).click();
  await screenshot(page, testInfo, 'dark');
});

test('a corrupt file and a non-video file show an alert, and the next good file still works', async ({ page }, testInfo) => {
  await loadTiny(page);
  const alert = page.getByRole('alert');

  await page.getByTestId('video-input').setInputFiles(join(CLIPS, 'not-a-video.mp4'));
  await expect(alert).toContainText('Cannot use not-a-video.mp4', { timeout: 60_000 });
  await expect(alert).toContainText('Choose another file');
  await screenshot(page, testInfo, 'not-a-video');

  // A file cut short is classified from what it holds, with a note saying where it ends.
  await dropFile(page, join(CLIPS, 'truncated.mp4'), 'video/mp4');
  const notes = page.locator('.predictions-panel').getByRole('status').locator('li');
  await expect(notes.filter({ hasText: /^truncated\.mp4 ends early, at [\d.]+ s of the [\d.]+ s its index promises/ })).toHaveCount(1, { timeout: 120_000 });
  await expect(alert).toHaveCount(0);

  await page.getByTestId('video-input').setInputFiles(join(CLIPS, 'h264.mp4'));
  await expect(alert).toHaveCount(0);
  const after = await predictions(page);
  expect(after.reduce((s, p) => s + p.prob, 0)).toBeLessThanOrEqual(1 + 1e-6);
});

test('a long video gets a timeline of its windows, and a click on one seeks the player there', async ({ page }, testInfo) => {
  await loadTiny(page);
  await page.getByTestId('video-input').setInputFiles(join(CLIPS, 'long-20s.mp4'));
  await predictions(page);
  await page.getByRole('button', { name: 'Classify the whole video over time' }).click();
  const segments = page.getByTestId('timeline-segment');
  await expect(page.getByTestId('timeline-progress')).toHaveCount(0, { timeout: 120_000 });
  expect(await segments.count()).toBeGreaterThan(1);
  await screenshot(page, testInfo, 'timeline');
  const last = segments.last();
  const start = Number(/^([\d.]+) s/.exec((await last.getAttribute('title'))!)![1]);
  await last.click();
  await expect.poll(() => page.locator('video.player').evaluate((v: HTMLVideoElement) => v.currentTime)).toBeCloseTo(start, 1);
});

test('a local model folder opens from the folder picker', async ({ page }, testInfo) => {
  // Our engine, for the attention maps this test clicks (auto runs the wasm EP on a software adapter).
  await page.goto('/?backend=wgsl');
  await page.getByTestId('model-folder-input').setInputFiles('models/tiny-joint_space_time');
  await expect(page.getByTestId('model-status')).toContainText('joint space-time', { timeout: 120_000 });
  await expect(page.getByTestId('model-select')).toHaveValue('folder:tiny-joint_space_time');
  await expect(page.getByRole('alert')).toHaveCount(0);
  await page.getByTestId('video-input').setInputFiles(join(CLIPS, 'h264.mp4'));
  await predictions(page);
  const map = page.getByTestId('attention-map');
  const box = (await map.boundingBox())!;
  await map.click({ position: { x: box.width * 0.1, y: box.height * 0.5 } });
  await expect(page.getByText('Only divided space-time models have separate temporal attention')).toBeVisible();
  await screenshot(page, testInfo, 'joint-from-folder');
});

test('a model downloads from the hub with progress, lands in Cache Storage, and a reload uses the cache', async ({ page }, testInfo) => {
  const repo = 'facebook/timesformer-base-finetuned-k400';
  const tiny = 'fixtures/timesformer/tiny-divided/model';
  const { hub, close } = await standInHub({ 'config.json': `${tiny}/config.json`, 'model.safetensors': `${tiny}/model.safetensors` });
  try {
    // First visit, a very slow server: the download shows its progress, and Cancel stops it.
    hub.chunkDelayMs = 1000;
    await page.goto(`/?hub=${encodeURIComponent(hub.url)}&model=${repo}`);
    const progress = page.getByTestId('model-progress');
    await expect(progress).toHaveAttribute('data-stage', 'download');
    await expect(progress).toContainText(/kB of 646\.\d kB/);
    await expect(progress).toContainText(/\/s · .* left/);
    await screenshot(page, testInfo, 'download-progress');
    await progress.getByRole('button', { name: 'Cancel' }).click();
    await expect(progress).toHaveCount(0);
    await expect(page.getByRole('alert')).toHaveCount(0);

    // Download again, at a pace that finishes.
    hub.chunkDelayMs = 40;
    await page.getByTestId('model-load').click();
    await expect(page.getByTestId('model-status')).toBeVisible({ timeout: 120_000 });
    const base = `${hub.url}/${repo}/resolve/main`;
    const cached = await page.evaluate(async () => (await (await caches.open('timesformer-models-v1')).keys()).map((r) => r.url));
    expect(cached).toEqual(expect.arrayContaining([`${base}/config.json`, `${base}/model.safetensors`]));
    await expect(page.getByTestId('cache-state')).toContainText('In the browser cache');
    await screenshot(page, testInfo, 'downloaded');

    // Second visit: everything comes from the cache, the files and the ones the hub does not have
    // (preprocessor_config.json): the server sees no request at all.
    const before = hub.requests.length;
    await page.reload();
    await expect(page.getByTestId('model-status')).toBeVisible({ timeout: 120_000 });
    expect(hub.requests.slice(before)).toEqual([]);

    // Evict: the cache is empty again.
    await page.getByTestId('model-evict').click();
    await expect(page.getByTestId('cache-state')).toContainText('Not downloaded yet');
    const left = await page.evaluate(async () => (await (await caches.open('timesformer-models-v1')).keys()).length);
    expect(left).toBe(0);
  } finally {
    await close();
  }
});

test('a pytorch_model.bin checkpoint (as facebook/* publish them) downloads, and a second visit works offline', async ({ page }) => {
  const repo = 'facebook/timesformer-base-finetuned-ssv2';
  // The hub has no model.safetensors for these repos: the loader's probe for it gets a 404.
  const { hub, close } = await standInHub({ 'config.json': 'fixtures/timesformer/tiny-divided/model/config.json', 'pytorch_model.bin': 'fixtures/torch-bin/tiny-divided.pytorch_model.bin' });
  let closed = false;
  try {
    // ?model= loads it at once.
    await page.goto(`/?hub=${encodeURIComponent(hub.url)}&model=${repo}`);
    await expect(page.getByTestId('model-status')).toContainText('pytorch_model.bin', { timeout: 120_000 });
    expect(hub.requests.some((r) => r.endsWith('/model.safetensors'))).toBe(true);
    // Offline: the server is gone; the model still loads, from the cache alone.
    await close();
    closed = true;
    await page.reload();
    await expect(page.getByTestId('model-status')).toContainText('pytorch_model.bin', { timeout: 120_000 });
    await expect(page.getByRole('alert')).toHaveCount(0);
    await page.getByTestId('video-input').setInputFiles(join(CLIPS, 'h264.mp4'));
    await predictions(page);
  } finally {
    if (!closed) await close();
  }
});

test('our engine keeps an engine-ready copy: the next visit streams it to the GPU, reads no checkpoint, and classifies the same', async ({ page }, testInfo) => {
  const repo = 'facebook/timesformer-base-finetuned-k600';
  const tiny = 'fixtures/timesformer/tiny-divided/model';
  const { hub, close } = await standInHub({ 'config.json': `${tiny}/config.json`, 'model.safetensors': `${tiny}/model.safetensors` });
  try {
    hub.chunkDelayMs = 0;
    await page.goto(`/?hub=${encodeURIComponent(hub.url)}&model=${repo}&backend=wgsl`);
    const report = page.getByTestId('load-report');
    await expect(report).toHaveAttribute('data-from', 'checkpoint', { timeout: 120_000 });
    await expect(report).toContainText('engine-ready copy kept for the next load');
    // The kernels were tuned from config.json while the weights downloaded.
    await expect(report).toContainText('kernels tuned meanwhile');
    expect(Number(await report.getAttribute('data-tuned-while-reading-ms'))).toBeGreaterThan(0);
    await page.getByTestId('video-input').setInputFiles(join(CLIPS, 'h264.mp4'));
    const first = await predictions(page);

    // The checkpoint's bytes leave Cache Storage: now only the engine-ready copy can give the weights.
    const weightsUrl = `${hub.url}/${repo}/resolve/main/model.safetensors`;
    expect(await page.evaluate(async (u) => (await caches.open('timesformer-models-v1')).delete(u), weightsUrl)).toBe(true);
    const before = hub.requests.length;
    await page.reload();
    await expect(report).toHaveAttribute('data-from', 'engine-ready copy', { timeout: 120_000 });
    await screenshot(page, testInfo, 'loaded-from-engine-ready-copy');
    await expect(page.getByRole('alert')).toHaveCount(0);
    expect(hub.requests.slice(before)).toEqual([]);
    // The model panel says the copy is what loads it offline (the checkpoint's files are no longer cached).
    await expect(page.getByTestId('cache-state')).toContainText('Engine-ready copy kept');
    await expect(page.getByTestId('cache-state')).toHaveAttribute('data-copy', 'true');
    await page.getByTestId('video-input').setInputFiles(join(CLIPS, 'h264.mp4'));
    expect(await predictions(page)).toEqual(first);

    // A copy cut short (a full disk, a crash while writing) is refused, dropped, and the checkpoint loads instead.
    const cut = await page.evaluate(async () => {
      const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('engine-ready-v1');
      const names: string[] = [];
      for await (const name of (dir as unknown as { keys(): AsyncIterable<string> }).keys()) if (name.startsWith('weights-')) names.push(name);
      for (const name of names) {
        const writable = await (await dir.getFileHandle(name)).createWritable({ keepExistingData: true });
        await writable.truncate(1000);
        await writable.close();
      }
      return names.length;
    });
    expect(cut).toBe(1);
    await page.reload();
    await expect(report).toHaveAttribute('data-from', 'checkpoint', { timeout: 120_000 });
    await expect(report).toContainText('engine-ready copy kept for the next load');
    await expect(page.getByRole('alert')).toHaveCount(0);
  } finally {
    await close();
  }
});
