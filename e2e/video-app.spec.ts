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

test("a phone's slow-motion file, 10-bit VP9 and AV1, HDR10 and 12-bit VP9 are classified, with nothing left out", async ({ page }) => {
  const notes = page.locator('.predictions-panel').getByRole('status').locator('li');
  const frameTimes = async () => (await page.getByTestId('frame-strip').locator('li').allTextContents()).map((t) => Number(/([\d.]+) s/.exec(t)![1]));
  // Each file's own result: its frames differ from the previous file's (the slow-motion file's lie past 1 s, the
  // others are 1 s long, each at another rate than the one before).
  let previous: number[] = [];
  for (const [name, inRange] of [
    ['slow-motion.mp4', (t: number) => t > 1],
    ['vp9-10bit.webm', (t: number) => t < 1],
    ['av1-10bit.mp4', (t: number) => t < 1],
    ['vp9-hdr10.webm', (t: number) => t < 1],
    ['vp9-12bit.webm', (t: number) => t < 1],
  ] as const) {
    await choose(page, name);
    await expect(page.locator('.video-panel')).toContainText(name);
    await predictions(page);
    await expect.poll(async () => {
      const times = await frameTimes();
      return times.every(inRange) && times.join() !== previous.join();
    }, { timeout: 120_000 }).toBe(true);
    previous = await frameTimes();
    await expect(page.getByRole('alert')).toHaveCount(0);
    await expect(page.getByTestId('frame-strip').locator('li')).toHaveCount(4);
    // Only the sampling note of a short video, if any: no frame left out or replaced.
    for (const note of await notes.allTextContents()) expect(note, name).toMatch(/spread evenly/);
  }
});

test('a file that cannot be used leaves the previous video, predictions and attention on screen', async ({ page }) => {
  await choose(page, 'h264.mp4');
  const before = await predictions(page);
  const explorer = page.getByRole('region', { name: 'Attention explorer' });
  const explorerBefore = await explorer.ariaSnapshot();
  const player = page.locator('video.player');
  const playing = await player.getAttribute('src');

  const alert = page.getByRole('alert');
  for (const [name, says] of [
    ['not-a-video.mp4', 'is not a video file'],
    ['mpeg2.mpegts', 'holds MPEG-2 video'],
    ['mpeg2.mpg', 'holds MPEG-2 video in MPEG-PS'],
    ['mpeg4-part2.mpegts', 'holds MPEG-4 Part 2 video'],
    ['xvid.avi', 'is an AVI file'],
    ['sorenson.flv', 'is a FLV file'],
  ]) {
    await choose(page, name);
    await expect(alert).toContainText(`Cannot use ${name}`, { timeout: 60_000 });
    await expect(alert).toContainText(says);
    expect(await predictions(page)).toEqual(before);
    expect(await explorer.ariaSnapshot()).toBe(explorerBefore);
    await expect(page.getByTestId('frame-strip').locator('li')).toHaveCount(4);
    await expect(player).toHaveAttribute('src', playing!);
    await expect(page.locator('.video-panel')).toContainText('h264.mp4');
  }
});
