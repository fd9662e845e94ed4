// Live classification in Chromium: its fake camera plays a y4m made here by ffmpeg (a moving pattern),
// the tiny model classifies it as it goes; a denied camera; a playing video file as the live source.
// The 60 s memory run is opt-in (LIVE_MEMORY=1): it prints open VideoFrames, JS heap and the GPU
// process's memory at 10 s and at 60 s.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { basename } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { chromiumArgs } from '../src/cli/browser/chromium';
import { browserProcesses } from './processes';

const OUT = 'e2e/clips/out/live';
const CAMERA = `${OUT}/camera-320x240.y4m`;
const MOVING = `${OUT}/moving-320x240.mp4`;
const TINY = '/?model=/models/tiny-divided';

/** Made when this file loads: the fake camera reads its file when the browser starts. */
function makeClips() {
  mkdirSync(OUT, { recursive: true });
  const ff = (out: string, ...args: string[]) => {
    if (existsSync(out)) return;
    const partial = `${OUT}/partial-${basename(out)}`;
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args, partial]);
    renameSync(partial, out);
  };
  // 4 s of a moving pattern with a zooming fractal beside it: every sampled frame differs.
  const pattern = 'testsrc2=size=160x240:rate=30:duration=4[a];mandelbrot=size=160x240:rate=30,trim=duration=4[b];[a][b]hstack';
  ff(CAMERA, '-filter_complex', pattern, '-pix_fmt', 'yuv420p');
  ff(MOVING, '-filter_complex', pattern, '-c:v', 'libx264', '-pix_fmt', 'yuv420p');
}
makeClips();

const fakeCamera = ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${CAMERA}`];

async function loadTiny(page: Page) {
  await page.goto(TINY);
  await expect(page.getByTestId('model-status')).toBeVisible({ timeout: 120_000 });
  await expect(page.getByTestId('webcam-toggle')).toBeEnabled({ timeout: 120_000 });
}

async function livePredictions(page: Page): Promise<string> {
  return page
    .getByTestId('live-predictions')
    .getByTestId('prediction')
    .evaluateAll((els) => els.map((e) => `${e.getAttribute('data-label')}=${e.getAttribute('data-prob')}`).join(' '));
}

/** Distinct top-5 lists seen over `ms`. */
async function predictionsOver(page: Page, ms: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (const end = Date.now() + ms; Date.now() < end; ) {
    const top = await livePredictions(page);
    if (top) seen.add(top);
    await page.waitForTimeout(150);
  }
  return seen;
}

/** Colours on the overlay canvas. */
function overlayColours(page: Page): Promise<number> {
  return page.getByTestId('live-attention').evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const colours = new Set<number>();
    for (let i = 0; i < d.length; i += 4) colours.add(((d[i] << 24) | (d[i + 1] << 16) | (d[i + 2] << 8) | d[i + 3]) >>> 0);
    return colours.size;
  });
}

/** Live video tracks of the page's <video> elements and of every stream we can reach. */
function liveTracks(page: Page): Promise<number> {
  return page.evaluate(() => {
    const v = document.querySelector<HTMLVideoElement>('[data-testid="live-video"]')!;
    const stream = v.srcObject as MediaStream | null;
    return stream ? stream.getTracks().filter((t) => t.readyState === 'live').length : 0;
  });
}

// The browser playwright.config.ts picks, with the fake camera added (use() replaces launchOptions whole).
const systemChromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const executablePath = existsSync(systemChromium) ? systemChromium : undefined;
test.use({ launchOptions: { executablePath, args: [...chromiumArgs, ...fakeCamera] }, permissions: ['camera'] });

test.describe('with a camera', () => {
  test('live predictions from the camera change, with clips/s, latency and the attention overlay; stop releases the camera', async ({ page }) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await loadTiny(page);
    // Keep a handle on the camera's tracks, to check after stop that every one was stopped.
    await page.evaluate(() => {
      const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
      const opened: MediaStreamTrack[] = ((window as unknown as { openedTracks: MediaStreamTrack[] }).openedTracks = []);
      navigator.mediaDevices.getUserMedia = async (c) => {
        const stream = await original(c);
        opened.push(...stream.getTracks());
        return stream;
      };
    });
    await page.getByTestId('webcam-toggle').click();
    const stats = page.getByTestId('live-stats');
    await expect(stats).toHaveAttribute('data-state', 'running');
    await expect(page.getByTestId('live-predictions').getByTestId('prediction')).toHaveCount(5, { timeout: 60_000 });

    const seen = await predictionsOver(page, 8000);
    console.log(`live: ${seen.size} distinct top-5 lists in 8 s`);
    expect(seen.size).toBeGreaterThanOrEqual(3);

    const clipsPerSecond = Number(await stats.getAttribute('data-clips-per-second'));
    const latencyMs = Number(await stats.getAttribute('data-latency-ms'));
    console.log(`live (tiny-divided, SwiftShader, fake camera 320×240): ${clipsPerSecond} clips/s, latency ${latencyMs} ms, open frames ${await stats.getAttribute('data-open-frames')}`);
    expect(clipsPerSecond).toBeGreaterThan(0);
    expect(latencyMs).toBeGreaterThan(0);
    expect(await stats.textContent()).toMatch(/clips\/s.*latency \d+ ms/);
    expect(await overlayColours(page)).toBeGreaterThan(10);
    expect(await liveTracks(page)).toBe(1);

    await page.getByTestId('webcam-toggle').click();
    await expect(stats).toHaveAttribute('data-state', 'stopped');
    expect(await liveTracks(page)).toBe(0);
    const states = await page.evaluate(() => (window as unknown as { openedTracks: MediaStreamTrack[] }).openedTracks.map((t) => t.readyState));
    expect(states.length).toBeGreaterThan(0);
    expect(states.every((s) => s === 'ended')).toBe(true);
    expect(errors).toEqual([]);
  });

  test('a hidden tab pauses live mode and a shown one resumes it; an unplugged camera says so', async ({ page }) => {
    await loadTiny(page);
    await page.getByTestId('webcam-toggle').click();
    const stats = page.getByTestId('live-stats');
    await expect(page.getByTestId('live-predictions').getByTestId('prediction')).toHaveCount(5, { timeout: 60_000 });
    // Headless tabs are never hidden: the page's visibility is set as a hidden tab's would be (injected).
    const setHidden = (hidden: boolean) =>
      page.evaluate((hidden) => {
        Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
        document.dispatchEvent(new Event('visibilitychange'));
      }, hidden);
    await setHidden(true);
    await expect(stats).toHaveAttribute('data-state', 'paused');
    const clips = async () => Number(await stats.getAttribute('data-clips'));
    // What the worker already had finishes (the clip in flight, the frame waiting for it: at most 2 clips); then nothing.
    const atHide = await clips();
    let hiddenAt = atHide;
    await expect
      .poll(async () => {
        const before = hiddenAt;
        await page.waitForTimeout(3000);
        hiddenAt = await clips();
        return hiddenAt - before;
      }, { timeout: 40_000 })
      .toBe(0);
    expect(hiddenAt - atHide).toBeLessThanOrEqual(2);
    await page.waitForTimeout(3000);
    expect(await clips()).toBe(hiddenAt);
    await setHidden(false);
    await expect(stats).toHaveAttribute('data-state', 'running');
    await expect.poll(clips, { timeout: 30_000 }).toBeGreaterThan(hiddenAt + 1);

    // The camera unplugged: its track ends (injected: a fake camera cannot be unplugged).
    await page.evaluate(() => ((document.querySelector('[data-testid="live-video"]') as HTMLVideoElement).srcObject as MediaStream).getVideoTracks()[0].dispatchEvent(new Event('ended')));
    await expect(page.locator('.live-panel [role="alert"]')).toContainText('was it unplugged?');
    await expect(stats).toHaveAttribute('data-state', 'error');
    expect(await liveTracks(page)).toBe(0);
  });

  test('memory stays flat over a 60 s live run (opt-in: LIVE_MEMORY=1)', async ({ page }) => {
    test.skip(!process.env.LIVE_MEMORY, 'set LIVE_MEMORY=1 to run the 60 s memory check');
    test.setTimeout(240_000);
    await loadTiny(page);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    await page.getByTestId('webcam-toggle').click();
    await expect(page.getByTestId('live-predictions').getByTestId('prediction')).toHaveCount(5, { timeout: 60_000 });
    const started = Date.now();
    const sample = async () => {
      await cdp.send('HeapProfiler.collectGarbage');
      const metrics = (await cdp.send('Performance.getMetrics')).metrics;
      const heap = metrics.find((m) => m.name === 'JSHeapUsedSize')!.value;
      const stats = page.getByTestId('live-stats');
      return {
        seconds: Math.round((Date.now() - started) / 1000),
        openFrames: Number(await stats.getAttribute('data-open-frames')),
        clips: Number(await stats.getAttribute('data-clips')),
        pageHeapMB: +(heap / 2 ** 20).toFixed(2),
        gpuProcessMB: processMB('gpu-process'),
        renderersMB: processMB('renderer'),
      };
    };
    await page.waitForTimeout(10_000 - (Date.now() - started));
    const at10 = await sample();
    await page.waitForTimeout(60_000 - (Date.now() - started));
    const at60 = await sample();
    console.log(`live memory: ${JSON.stringify(at10)} → ${JSON.stringify(at60)}`);
    expect(at60.clips).toBeGreaterThan(at10.clips);
    expect(at60.openFrames).toBeLessThanOrEqual(3);
    expect(at60.pageHeapMB).toBeLessThan(at10.pageHeapMB * 1.2 + 2);
    expect(at60.gpuProcessMB).toBeGreaterThan(0);
    expect(at60.gpuProcessMB).toBeLessThan(at10.gpuProcessMB * 1.2 + 20);
    await page.getByTestId('webcam-toggle').click();
  });
});

/**
 * Resident memory (MB) of this test's Chromium processes of a type: 'gpu-process' (SwiftShader keeps GPU
 * buffers there), 'renderer' (the page and its workers' JS heaps, VideoFrames).
 */
function processMB(type: 'gpu-process' | 'renderer'): number {
  const matching = browserProcesses(`--use-file-for-fake-video-capture=${CAMERA}`).filter((p) => p.type === type);
  return +(matching.reduce((sum, p) => sum + p.rssKB, 0) / 1024).toFixed(1);
}

test.describe('without camera permission', () => {
  test('a denied camera says so, and files are still classified', async ({ playwright, launchOptions, baseURL }) => {
    // A browser of its own: without the fake UI's automatic yes, and denying every permission prompt.
    const browser = await playwright.chromium.launch({ ...launchOptions, args: [...chromiumArgs, '--use-fake-device-for-media-stream', '--deny-permission-prompts'] });
    // No camera permission (this file's use() grants it to the contexts Playwright makes, this one included).
    const page = await (await browser.newContext({ baseURL, permissions: [] })).newPage();
    try {
      await runDenied(page);
    } finally {
      await browser.close();
    }
  });
});

/** Start live mode where the camera is denied, then classify a file. */
async function runDenied(page: Page) {
  await loadTiny(page);
  await page.getByTestId('webcam-toggle').click();
  const alert = page.locator('.live-panel [role="alert"]');
  await expect(alert).toContainText('Camera permission was denied');
  await expect(page.getByTestId('live-stats')).toHaveAttribute('data-state', 'error');
  await page.getByTestId('video-input').setInputFiles(MOVING);
  await expect(page.getByTestId('predictions').getByTestId('prediction')).toHaveCount(5, { timeout: 120_000 });
}

test.describe('a video file as the live source', () => {
  test('a playing file gives live predictions', async ({ page }) => {
    await loadTiny(page);
    await page.getByTestId('video-input').setInputFiles({ name: 'moving.mp4', mimeType: 'video/mp4', buffer: readFileSync(MOVING) });
    await expect(page.getByTestId('predictions').getByTestId('prediction')).toHaveCount(5, { timeout: 120_000 });
    await page.getByTestId('live-source').selectOption('video');
    await page.getByTestId('webcam-toggle').click();
    await expect(page.getByTestId('live-stats')).toHaveAttribute('data-state', 'running');
    await expect(page.getByTestId('live-predictions').getByTestId('prediction')).toHaveCount(5, { timeout: 60_000 });
    const seen = await predictionsOver(page, 5000);
    expect(seen.size).toBeGreaterThanOrEqual(2);
    await page.getByTestId('webcam-toggle').click();
    await expect(page.getByTestId('live-stats')).toHaveAttribute('data-state', 'stopped');
  });
});
