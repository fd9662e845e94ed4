// Real-world video in the app, on the tiny model: files with a damaged start, frame or end are classified
// with a note saying what was left out, and a file that cannot be used leaves the previous result on screen.
// Clips are made by ffmpeg (e2e/clips/make-clips.sh) into e2e/clips/out/.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';

const CLIPS = 'e2e/clips/out';

test.beforeAll(() => {
  execFileSync('bash', ['e2e/clips/make-clips.sh'], { stdio: 'inherit', timeout: 170_000 });
});

test.beforeEach(async ({ page, context }) => {
  await context.route('https://huggingface.co/**', (route) => route.abort('internetdisconnected'));
  await page.goto('/?model=/models/tiny-divided');
  await expect(page.getByTestId('model-status')).toBeVisible({ timeout: 120_000 });
});

/** The five predictions once shown: label and probability attributes. */
async function predictions(page: Page): Promise<string[]> {
  const items = page.getByTestId('prediction');
  await expect(items).toHaveCount(5, { timeout: 120_000 });
  return items.evaluateAll((els) => els.map((e) => `${e.getAttribute('data-label')} ${e.getAttribute('data-prob')}`));
}

const choose = (page: Page, name: string) => page.getByTestId('video-input').setInputFiles(join(CLIPS, name));

test('a broadcast segment, a damaged frame and a file that ends early are classified, with notes', async ({ page }) => {
  const notes = page.locator('.predictions-panel').getByRole('status');
  for (const [name, note] of [
    ['broadcast-cut.mpegts', 'the first 1.93 s of broadcast-cut.mpegts come before its first keyframe and cannot be decoded: frames were sampled from 1.93 s on'],
    ['damaged-frame.mp4', /^\d+ of the 4 frames needed from damaged-frame\.mp4 could not be decoded \(at [\d., ]+ s; the decoder said: .*\): the nearest decodable frames \(at [\d., ]+ s\) were used instead$/],
    ['ends-early.mp4', 'ends-early.mp4 ends early, at 0.50 s of the 35.00 s its index promises: frames were sampled from what is there'],
  ] as const) {
    await choose(page, name);
    await predictions(page);
    await expect(notes.locator('li').filter({ hasText: note })).toHaveCount(1);
    await expect(page.getByRole('alert')).toHaveCount(0);
    if (name === 'broadcast-cut.mpegts') {
      // The frames the model saw are labelled from the video's start too, not by the stream's own clock (114 s on).
      const times = (await page.getByTestId('frame-strip').locator('li').allTextContents()).map((t) => Number(/([\d.]+) s/.exec(t)![1]));
      expect(times.length).toBe(4);
      for (const t of times) {
        expect(t).toBeGreaterThanOrEqual(1.9);
        expect(t).toBeLessThan(3);
      }
    }
  }
});

test('a file that cannot be used leaves the previous video, predictions and attention on screen', async ({ page }) => {
  await choose(page, 'h264.mp4');
  const before = await predictions(page);
  const explorer = page.getByRole('region', { name: 'Attention explorer' });
  const explorerBefore = await explorer.ariaSnapshot();
  const player = page.locator('video.player');
  const playing = await player.getAttribute('src');

  await choose(page, 'not-a-video.mp4');
  const alert = page.getByRole('alert');
  await expect(alert).toContainText('Cannot use not-a-video.mp4', { timeout: 60_000 });
  expect(await predictions(page)).toEqual(before);
  expect(await explorer.ariaSnapshot()).toBe(explorerBefore);
  await expect(page.getByTestId('frame-strip').locator('li')).toHaveCount(4);
  await expect(player).toHaveAttribute('src', playing!);
  await expect(page.locator('.video-panel')).toContainText('h264.mp4');
});
