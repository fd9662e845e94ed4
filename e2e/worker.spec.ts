// The inference worker in Chromium: model loading, classification with attention maps, cancellation,
// and errors that leave it usable — through the same client the app uses.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';

test.beforeAll(() => {
  execFileSync('bash', ['e2e/clips/make-clips.sh'], { stdio: 'inherit', timeout: 170_000 });
  // 20 s at 30 fps: long enough for several windows of the tiny model's 4×64-frame clips.
  if (!existsSync('e2e/clips/out/long-20s.mp4')) {
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=96x64:rate=30:duration=20', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', 'e2e/clips/out/long-20s.mp4']);
  }
});

async function open(page: Page) {
  await page.goto('/e2e/harness/worker.html');
  await page.waitForFunction(() => 'workerApi' in window);
}

test('loads a model, classifies a video with attention maps, and survives bad input', async ({ page }) => {
  await open(page);
  const missing = await page.evaluate(() => window.workerApi.loadModel('/models/no-such-model'));
  expect(missing).toMatchObject({ ok: false, kind: 'model' });
  expect(missing.ok || missing.message).toMatch(/no config.json/);

  // No model yet is the user's next step, not a GPU failure.
  const noModel = await page.evaluate(() => window.workerApi.classify('/e2e/clips/out/h264.mp4', { views: 'single', attention: true, sampling: 'auto' }));
  expect(noModel).toMatchObject({ ok: false, kind: 'model' });
  expect(noModel.ok || noModel.message).toMatch(/no model is loaded/);

  // Auto: our engine on a hardware GPU, the wasm EP on a software adapter (the tiny model ships model.onnx).
  const auto = await page.evaluate(() => window.workerApi.loadModel('/models/tiny-divided'));
  expect(auto.ok).toBe(true);
  if (!auto.ok) return;
  const software = auto.value.adapter.endsWith('(software)');
  expect(auto.value.backend).toMatchObject(software ? { name: 'onnx-wasm', capabilities: { attention: false, gpuInput: false } } : { name: 'wgsl' });
  expect(auto.value.backend.reason).toMatch(software ? /software WebGPU adapter.*wasm EP on \d CPU thread/ : /hardware GPU/);
  // The engine for the rest: attention maps.
  const loaded = await page.evaluate(() => window.workerApi.loadModel('/models/tiny-divided', 'wgsl'));
  expect(loaded.ok).toBe(true);
  expect(loaded.ok && loaded.value.backend).toMatchObject({ name: 'wgsl', reason: 'wgsl, as chosen', capabilities: { attention: true, gpuInput: true, threads: null } });
  expect(loaded.ok && loaded.value).toMatchObject({ attentionType: 'divided_space_time', frames: 4, layers: 2, heads: 4, labels: Array.from({ length: 10 }, (_, i) => `class_${i}`) });

  const single = await page.evaluate(() => window.workerApi.classify('/e2e/clips/out/h264.mp4', { views: 'single', attention: true, sampling: 'auto' }));
  expect(single.ok).toBe(true);
  if (!single.ok) return;
  expect(single.probs).toHaveLength(10);
  expect(Math.abs(single.probs.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-5);
  expect(single.frames).toEqual(Array(4).fill([64, 64]));
  expect(single.timestamps).toHaveLength(4);
  // 3 s at 30 fps (90 frames) is shorter than a 4×64 clip: frames spread evenly, and the user is told.
  expect(single.notes.join()).toMatch(/spread evenly/);
  // Attention: [L=2, T=4, H=4, N=16] CLS rows, each a distribution over 16 patches (+ CLS); temporal [2, 16, 4, 4, 4].
  expect(single.attention).toMatchObject({ layers: 2, frames: 4, heads: 4, grid: [4, 4], spatialCls: 2 * 4 * 4 * 16, temporal: 2 * 16 * 4 * 4 * 4 });
  expect(single.attention!.spatialSum).toBeGreaterThan(0.5 * 2 * 4 * 4);
  expect(single.attention!.spatialSum).toBeLessThan(2 * 4 * 4 + 1e-3);

  const multi = await page.evaluate(() => window.workerApi.classify('/e2e/clips/out/vp9.webm', { views: 'multi', attention: false, sampling: 'auto' }));
  expect(multi.ok).toBe(true);
  if (!multi.ok) return;
  expect(multi.views.map((v) => v.name)).toEqual(['clip 1, start crop', 'clip 1, centre crop', 'clip 1, end crop']);
  const mean = multi.probs.map((_, i) => multi.views.reduce((s, v) => s + v.probs[i], 0) / 3);
  multi.probs.forEach((p, i) => expect(p).toBeCloseTo(mean[i], 6));

  for (const [clip, message] of [['not-a-video.mp4', /not a video|format/i], ['hevc.mp4', /HEVC/], ['audio-only.mp4', /no video/i]] as const) {
    const bad = await page.evaluate((url) => window.workerApi.classify(url, { views: 'single', attention: false, sampling: 'auto' }), `/e2e/clips/out/${clip}`);
    expect(bad, clip).toMatchObject({ ok: false, kind: 'video' });
    expect(bad.ok || bad.message, clip).toMatch(message);
  }
  const cancelled = await page.evaluate(() => window.workerApi.cancelled('/e2e/clips/out/h264.mp4'));
  expect(cancelled).toMatchObject({ ok: false, kind: 'cancelled', outcome: 'cancelled' });

  // Still usable after all of that.
  const again = await page.evaluate(() => window.workerApi.classify('/e2e/clips/out/h264.mp4', { views: 'single', attention: false, sampling: 'auto' }));
  expect(again.ok && again.probs).toEqual(single.probs);
  // A timeline across the video: segments stream in order, cover it, and each is a distribution.
  const { result, segments } = await page.evaluate(() => window.workerApi.timeline('/e2e/clips/out/long-20s.mp4', 8));
  expect(result).toEqual({ ok: true, value: segments.length });
  expect(segments.length).toBeGreaterThan(1);
  segments.forEach((s, i) => {
    expect(s).toMatchObject({ index: i, count: segments.length });
    expect(Math.abs(s.sum - 1)).toBeLessThan(1e-5);
    if (i > 0) expect(s.start).toBeGreaterThan(segments[i - 1].start);
  });
  expect(segments[0].start).toBeCloseTo(0, 1);
  expect(segments.at(-1)!.end).toBeCloseTo(20, 1);

  const stages = await page.evaluate(() => [...new Set(window.workerApi.stages)]);
  expect(stages).toEqual(expect.arrayContaining(['download', 'upload', 'decode', 'inference']));
});

test('the scheduler: a classification during a timeline runs, a newer one replaces it, the timeline completes; no listener is left', async ({ page }) => {
  await open(page);
  expect((await page.evaluate(() => window.workerApi.loadModel('/models/tiny-divided'))).ok).toBe(true);
  const run = await page.evaluate(() => window.workerApi.concurrent('/e2e/clips/out/h264.mp4', '/e2e/clips/out/long-20s.mp4'));
  expect(run.first).toMatchObject({ ok: false, kind: 'cancelled', outcome: 'replaced' });
  expect(run.second).toBe(3); // the multi-view one, shown
  expect(run.timeline).toEqual({ ok: true, value: 6 });
  expect(run.segments).toBe(6);
  // The user's classification went ahead of the background timeline's remaining windows.
  expect(run.finished.indexOf('second')).toBeLessThan(run.finished.indexOf('timeline'));
  expect(await page.evaluate(() => window.workerApi.listenersLeft('/e2e/clips/out/h264.mp4'))).toEqual({ ok: true, failed: 'video', listeners: 0 });
});

test('a killed worker: the request it had fails with a clear message, a new worker reloads the model and the next request succeeds', async ({ page }) => {
  await open(page);
  expect((await page.evaluate(() => window.workerApi.loadModel('/models/tiny-divided'))).ok).toBe(true);
  const before = await page.evaluate(() => window.workerApi.classify('/e2e/clips/out/h264.mp4', { views: 'single', attention: false, sampling: 'auto' }));
  const run = await page.evaluate(() => window.workerApi.killed('/e2e/clips/out/h264.mp4'));
  expect(run.pending).toMatchObject({ ok: false, kind: 'internal' });
  expect(run.pending.ok || run.pending.message).toMatch(/worker stopped .*a new one was started and is reloading the model/);
  expect(run.restarts).toHaveLength(1);
  expect(run.workers).toBe(2);
  expect(run.next).toEqual({ ok: true, probs: before.ok && before.probs });
});
