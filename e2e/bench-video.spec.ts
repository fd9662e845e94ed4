import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';

// Decode + sample + GPU preprocess of one 8-frame clip (src/video/bench.ts) in Chromium, for a 320×240
// H.264 clip and a 1080p one; median of 5 runs. Only with BENCH=1: `BENCH=1 npx playwright test e2e/bench-video.spec.ts`.
// Writes test-results/bench-video.json.

test.skip(process.env.BENCH !== '1', 'set BENCH=1 to run the video benchmark');

test('video → model input: 8 frames of 320×240 and of 1080p H.264', async ({ page }) => {
  test.setTimeout(600_000);
  execFileSync('bash', ['e2e/clips/make-clips.sh', 'bench'], { stdio: 'inherit', timeout: 300_000 });
  await page.goto('/e2e/harness/video.html');
  await page.waitForFunction(() => window.videoTest !== undefined);
  const result = await page.evaluate(() => window.videoTest.bench(['/e2e/clips/out/h264.mp4', '/e2e/clips/out/1080p.mp4'], 5));
  mkdirSync('test-results', { recursive: true });
  writeFileSync('test-results/bench-video.json', JSON.stringify({ date: new Date().toISOString(), ...result }, null, 2));
  console.log(`adapter: ${result.adapter.vendor} ${result.adapter.architecture} ${result.adapter.description} (fallback: ${result.adapter.isFallback})`);
  for (const r of result.results) {
    const stages = `open ${r.stagesMs.open.toFixed(1)}, decode+upload ${r.stagesMs.decodeUpload.toFixed(1)}, GPU ${r.stagesMs.gpu.toFixed(1)}`;
    console.log(`${r.video} ${r.width}×${r.height} ${r.codec}, upload ${r.upload}→${r.uploadPath}: median ${r.medianMs.toFixed(1)} ms (min ${r.minMs.toFixed(1)}, max ${r.maxMs.toFixed(1)}; ${stages}) for ${r.frames} frames; decoding them alone ${r.decodeOnlyMs.toFixed(1)} ms: ${(r.medianMs / r.decodeOnlyMs).toFixed(2)}×`);
    expect(r.medianMs).toBeGreaterThan(0);
  }
});
