// The app as `npm start` serves it: built, bundled, and cross-origin isolated by `vite preview` (the other
// specs use the dev server). The tiny model on the backend auto picks here (on a software adapter the wasm
// EP, whose threads need the isolation and whose .wasm files come from the bundle) classifies a clip.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { expect, test } from '@playwright/test';
import { CLIPS, makeClips, offlineHub } from './app-page';

let server: ChildProcess | undefined;
let origin = '';

/** A port nothing listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

test.beforeAll(async () => {
  test.setTimeout(300_000);
  makeClips();
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  // Its own process group, so that stopping it stops vite too (npm runs it in a child shell).
  server = spawn('npm', ['start', '--', '--port', String(port), '--strictPort'], { detached: true, stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<never>((_, reject) => server!.once('exit', (code) => reject(new Error(`npm start exited (${code}) before serving`))));
  const served = (async () => {
    for (;;) {
      const ok = await fetch(`${origin}/`).then((r) => r.ok, () => false);
      if (ok) return;
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  await Promise.race([served, exited]);
});

test.afterAll(() => {
  if (server?.pid && server.exitCode === null) process.kill(-server.pid, 'SIGTERM');
});

test.beforeEach(({ context }) => offlineHub(context));

test('npm start serves the built app, cross-origin isolated, and it classifies with the tiny model', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const response = await page.goto(`${origin}/?model=/models/tiny-divided`);
  // The bundle, not the dev server's modules.
  expect(await page.locator('script[type="module"]').first().getAttribute('src')).toMatch(/^\/assets\/index-[\w-]+\.js$/);
  expect(response?.headers()['cross-origin-opener-policy']).toBe('same-origin');
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);

  await expect(page.getByTestId('model-status')).toBeVisible({ timeout: 180_000 });
  await page.getByTestId('video-input').setInputFiles(`${CLIPS}/h264.mp4`);
  const predictions = page.getByTestId('prediction');
  await expect(predictions).toHaveCount(5, { timeout: 180_000 });
  const probs = await predictions.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-prob'))));
  probs.forEach((p, i) => expect(p).toBeLessThanOrEqual(i === 0 ? 1 : probs[i - 1]));
  expect(probs[0]).toBeGreaterThan(0);
  expect(errors).toEqual([]);
});
