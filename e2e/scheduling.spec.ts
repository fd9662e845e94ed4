// The inference service as a user meets it (Chromium): work that overlaps — a timeline asked for during a
// classification, a second video dropped during a timeline — is scheduled, never refused: no alert, the
// timeline completes, the newest classification is shown.
import { expect, test, type Page } from '@playwright/test';
import { CLIPS, dropFile, makeClips, offlineHub } from './app-page';

test.beforeAll(makeClips);
test.beforeEach(({ context }) => offlineHub(context));

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
