// The inference service as a user meets it (Chromium): work that overlaps — a timeline asked for during a
// classification, a second video dropped during a timeline — is scheduled, never refused: no alert, the
// timeline completes, the newest classification is shown.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { expect, test, type Page } from '@playwright/test';

const CLIPS = 'e2e/clips/out';

test.beforeAll(() => {
  execFileSync('bash', ['e2e/clips/make-clips.sh'], { stdio: 'inherit', timeout: 170_000 });
  if (!existsSync(`${CLIPS}/long-20s.mp4`)) {
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=96x64:rate=30:duration=20', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', `${CLIPS}/long-20s.mp4`]);
  }
});

test.beforeEach(async ({ context }) => {
  await context.route('https://huggingface.co/**', (route) => route.abort('internetdisconnected'));
});

/** A real drop event carrying the file, on the video drop zone. */
async function dropFile(page: Page, path: string, type: string) {
  const data = await page.evaluateHandle(
    ({ b64, name, type }) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type }));
      return transfer;
    },
    { b64: readFileSync(path).toString('base64'), name: basename(path), type },
  );
  const zone = page.getByTestId('drop-zone');
  await zone.dispatchEvent('dragover', { dataTransfer: data });
  await zone.dispatchEvent('drop', { dataTransfer: data });
}

const frameTimes = (page: Page) => page.getByTestId('frame-strip').locator('li').allInnerTexts();

for (const backend of ['wgsl', 'auto']) {
  test(`${backend}: a timeline clicked during a classification, and a second video dropped during a timeline: no alert, the timeline completes, the newest classification is shown`, async ({ page }) => {
    test.setTimeout(600_000);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`/?model=/models/tiny-divided&backend=${backend}`);
    await expect(page.getByTestId('model-status')).toBeVisible({ timeout: 300_000 });

    // 1. The timeline asked for while the classification runs.
    await dropFile(page, `${CLIPS}/long-20s.mp4`, 'video/mp4');
    await expect(page.getByTestId('classify-progress')).toBeVisible();
    await page.getByRole('button', { name: 'Classify the whole video over time' }).click();
    await expect(page.getByTestId('prediction')).toHaveCount(5, { timeout: 180_000 });
    await expect(page.getByTestId('timeline-progress')).toHaveCount(0, { timeout: 300_000 });
    expect(await page.getByTestId('timeline-segment').count()).toBeGreaterThan(1);
    await expect(page.getByRole('alert')).toHaveCount(0);
    const longFrames = await frameTimes(page);

    // 2. A second video dropped while a timeline runs: its classification is the one shown.
    await page.getByRole('button', { name: 'Recompute' }).click();
    await expect(page.getByTestId('timeline-progress')).toBeVisible();
    await dropFile(page, `${CLIPS}/h264.mp4`, 'video/mp4');
    await expect(page.getByTestId('classify-progress')).toHaveCount(0, { timeout: 180_000 });
    await expect(page.getByTestId('prediction')).toHaveCount(5);
    // The frames the model saw are the new (3 s) video's, not the 20 s one's.
    await expect.poll(() => frameTimes(page)).not.toEqual(longFrames);
    const times = (await frameTimes(page)).map((t) => Number(/([\d.]+) s/.exec(t)![1]));
    expect(Math.max(...times)).toBeLessThan(3);
    // Its own timeline, asked for now, completes too.
    await page.getByRole('button', { name: 'Classify the whole video over time' }).click();
    await expect(page.getByTestId('timeline-progress')).toHaveCount(0, { timeout: 300_000 });
    expect(await page.getByTestId('timeline-segment').count()).toBeGreaterThan(0);
    await expect(page.getByRole('alert')).toHaveCount(0);
    expect(errors).toEqual([]);
  });
}
