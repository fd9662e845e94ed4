// The attention explorer in Chromium with WebGPU: the query-patch spatial view and the layer/head
// comparison drawn and following the selection, JSON export, and a 96-frame clip through a small model
// within the read-back budget.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { canvasPixels, difference, type Pixels } from './app-page';

const CLIPS = 'e2e/clips/out';
const LONG = `${CLIPS}/explorer-4s-96px.mp4`;
const MB = 2 ** 20;

test.beforeAll(() => {
  execFileSync('bash', ['e2e/clips/make-clips.sh'], { stdio: 'inherit', timeout: 170_000 });
  // 120 frames: enough for 96 distinct frames.
  if (!existsSync(LONG)) execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=128x96:rate=30:duration=4', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', LONG]);
});

test.beforeEach(async ({ context }) => {
  await context.route('https://huggingface.co/**', (route) => route.abort('internetdisconnected'));
});

/** Waits until the canvas differs from `before`. */
const changes = (page: Page, testId: string, before: Pixels) => expect.poll(async () => difference(await canvasPixels(page, testId), before), { timeout: 30_000 }).toBeGreaterThan(2);

/** Load `model` on our WGSL engine (the backend with attention maps) and classify `clip`. */
async function classify(page: Page, model: string, clip: string, timeout: number) {
  await page.goto(`/?model=${encodeURIComponent(model)}&backend=wgsl`);
  await expect(page.getByTestId('model-status')).toBeVisible({ timeout });
  await page.getByTestId('video-input').setInputFiles(clip);
  await expect(page.getByTestId('prediction')).toHaveCount(5, { timeout });
  await expect(page.getByTestId('attention-map')).toBeVisible({ timeout });
}

async function readBack(page: Page) {
  const el = page.getByTestId('attention-bytes');
  return { bytes: Number(await el.getAttribute('data-bytes')), budget: Number(await el.getAttribute('data-budget')), text: await el.innerText() };
}

test('query-patch spatial view and layer comparison follow the selection', async ({ page }) => {
  await classify(page, '/models/tiny-divided', join(CLIPS, 'h264.mp4'), 120_000);
  const read = await readBack(page);
  expect(read.bytes).toBeGreaterThan(0);
  expect(read.bytes).toBeLessThanOrEqual(read.budget);

  // Pick a patch: its own spatial attention is drawn; moving it (arrow key) redraws it.
  const map = page.getByTestId('attention-map');
  const box = (await map.boundingBox())!;
  await map.click({ position: { x: box.width * 0.1, y: box.height * 0.5 } });
  await expect(page.getByTestId('query-spatial')).toContainText('of frame 1');
  const first = await canvasPixels(page, 'query-map');
  expect(first.colours).toBeGreaterThan(20);
  await map.focus();
  await page.keyboard.press('ArrowRight');
  await changes(page, 'query-map', first);
  await page.keyboard.press('PageDown');
  await expect(page.getByTestId('query-spatial')).toContainText('of frame 2');

  // The numbers behind the view, as JSON.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('query-spatial').getByTestId('export-json').click()]);
  expect(download.suggestedFilename()).toMatch(/^spatial-query-f2-p\d+-layer\d-mean\.json$/);
  const numbers = JSON.parse(readFileSync(await download.path(), 'utf8'));
  expect(numbers.query.frame).toBe(1);
  expect(numbers.values[0][1]).toHaveLength(16); // frame 2 of a 4×4 grid; the other frames are not attended
  expect(numbers.values[0][0]).toBeNull();

  // Compare: two layers side by side, the right one following its own layer and head.
  await page.getByRole('tab', { name: 'Compare layers/heads' }).click();
  await page.getByTestId('layer-select').selectOption({ value: '0' });
  await page.getByTestId('compare-layer').selectOption({ value: '0' });
  // Both sides layer 1, mean, to start with: the same picture.
  await expect.poll(async () => difference(await canvasPixels(page, 'compare-b'), await canvasPixels(page, 'compare-a'))).toBeLessThan(0.5);
  const a = await canvasPixels(page, 'compare-a');
  const b = await canvasPixels(page, 'compare-b');
  expect(a.colours).toBeGreaterThan(20);
  await page.getByTestId('compare-layer').selectOption({ value: '1' });
  await changes(page, 'compare-b', b);
  expect(difference(await canvasPixels(page, 'compare-a'), a)).toBeLessThan(0.5);
  await expect(page.getByTestId('compare-b')).toHaveAttribute('aria-label', /layer 2, mean over heads/);
  const layer2 = await canvasPixels(page, 'compare-b');
  await page.getByTestId('compare-head').selectOption({ value: '2' });
  await changes(page, 'compare-b', layer2);
  // Picking another patch on either side changes the query of both.
  const compareA = page.getByTestId('compare-a');
  const boxA = (await compareA.boundingBox())!;
  await compareA.click({ position: { x: boxA.width * 0.9, y: boxA.height * 0.5 } });
  await changes(page, 'compare-a', a);

  // Rollout with another head fusion and discard ratio.
  await page.getByRole('tab', { name: 'Rollout' }).click();
  const mean = await canvasPixels(page, 'attention-map');
  expect(mean.colours).toBeGreaterThan(20);
  await page.getByTestId('rollout-fusion').selectOption('max');
  await page.getByTestId('rollout-discard').selectOption({ value: '0.9' });
  await changes(page, 'attention-map', mean);
});

/**
 * models/small-divided made a 96-frame model (TimeSformer-L's frame count): num_frames 96 and its time
 * embeddings nearest-resized to 96 rows, as the engine does for other T; 12 heads of width 16 (the same
 * weights, split finer), so that its per-head temporal maps (64 MB) are over the read-back budget and stay
 * on the GPU, as a base model's do at 96 frames. Served with CORS like a hub.
 */
function serveSmall96(): Promise<{ url: string; server: Server }> {
  const src = 'models/small-divided';
  const bytes = readFileSync(join(src, 'model.safetensors'));
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString());
  const data = bytes.subarray(8 + n);
  const tensors: [string, { dtype: string; shape: number[] }, Buffer][] = Object.entries(header)
    .filter(([k]) => k !== '__metadata__')
    .map(([k, v]) => {
      const t = v as { dtype: string; shape: number[]; data_offsets: [number, number] };
      let body = data.subarray(t.data_offsets[0], t.data_offsets[1]);
      let shape = t.shape;
      if (k.endsWith('time_embeddings')) {
        const [, T0, D] = t.shape;
        body = Buffer.concat(Array.from({ length: 96 }, (_, i) => body.subarray(Math.floor((i * T0) / 96) * D * 4, (Math.floor((i * T0) / 96) + 1) * D * 4)));
        shape = [1, 96, D];
      }
      return [k, { dtype: t.dtype, shape }, body];
    });
  let offset = 0;
  const out: Record<string, unknown> = {};
  for (const [k, t, body] of tensors) out[k] = { ...t, data_offsets: [offset, (offset += body.length)] };
  const json = Buffer.from(JSON.stringify(out).padEnd(Math.ceil(JSON.stringify(out).length / 8) * 8));
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(json.length));
  const dir = mkdtempSync(join(tmpdir(), 'small96-'));
  writeFileSync(join(dir, 'model.safetensors'), Buffer.concat([size, json, ...tensors.map(([, , b]) => b)]));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(src, 'config.json'), 'utf8')), num_frames: 96, num_attention_heads: 12 }));
  const server = createServer((req, res) => {
    const file = /^\/small96\/(config\.json|model\.safetensors)$/.exec((req.url ?? '').split('?')[0])?.[1];
    const headers = { 'Access-Control-Allow-Origin': '*', 'Cross-Origin-Resource-Policy': 'cross-origin' };
    if (!file) return void res.writeHead(404, headers).end();
    res.writeHead(200, { ...headers, 'Content-Type': 'application/octet-stream' }).end(readFileSync(join(dir, file)));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/small96`, server })));
}

test('a 96-frame clip through a small model: views drawn, read-back under the budget', async ({ page }, testInfo) => {
  test.setTimeout(900_000);
  const { url, server } = await serveSmall96();
  try {
    const started = Date.now();
    await classify(page, url, LONG, 600_000);
    const seconds = (Date.now() - started) / 1000;
    const read = await readBack(page);
    testInfo.annotations.push({ type: 'read back', description: `${(read.bytes / MB).toFixed(2)} MB of ${(read.budget / MB).toFixed(0)} MB; ${read.text}; load + classify ${seconds.toFixed(0)} s` });
    console.log(`96 frames, small model: ${read.text} (load + classify ${seconds.toFixed(0)} s)`);
    expect(read.budget).toBe(64 * MB);
    expect(read.bytes).toBeLessThanOrEqual(read.budget);
    expect((await canvasPixels(page, 'attention-map')).colours).toBeGreaterThan(50);

    const map = page.getByTestId('attention-map');
    const box = (await map.boundingBox())!;
    await map.click({ position: { x: box.width * 0.05, y: 20 } });
    expect((await canvasPixels(page, 'query-map')).colours).toBeGreaterThan(5);
    // Only the head mean of the temporal maps came back: the picked patch's heads are read from the GPU.
    await expect(page.getByTestId('temporal-plot')).toHaveAttribute('aria-label', /mean, head 1, .*head 12, 96×96 each/, { timeout: 120_000 });
    await expect(page.getByTestId('temporal')).not.toContainText('Only the mean over heads came back');
    expect((await canvasPixels(page, 'temporal-plot')).colours).toBeGreaterThan(5);
    // What was read for the patch (its 12 × 96 × 96 maps) is counted, and the clip stays within the budget.
    const fetched = Number(await page.getByTestId('attention-bytes').getAttribute('data-fetched'));
    expect(fetched).toBe(12 * 96 * 96 * 4);
    expect(read.bytes + fetched).toBeLessThanOrEqual(read.budget);
    await page.getByRole('tab', { name: 'Compare layers/heads' }).click();
    expect((await canvasPixels(page, 'compare-b')).colours).toBeGreaterThan(5);
    await page.getByRole('tab', { name: 'Rollout' }).click();
    expect((await canvasPixels(page, 'attention-map')).colours).toBeGreaterThan(50);
  } finally {
    server.close();
  }
});
