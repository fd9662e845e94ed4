import { execFileSync } from 'node:child_process';
import { expect, test, type Page } from '@playwright/test';
import type { PreprocessorConfig } from '../src/checkpoint/config';

// The video pipeline in Chromium: opening, sampling, decoding (against ffmpeg), GPU preprocessing (against
// the CPU reference), long-video windows, bad input, and file → engine → top-5 on the tiny model.
// Clips are made by ffmpeg (e2e/clips/make-clips.sh) into e2e/clips/out/, which the dev server serves.

const clip = (name: string) => `/e2e/clips/out/${name}`;
const base: PreprocessorConfig = { imageMean: [0.45, 0.45, 0.45], imageStd: [0.225, 0.225, 0.225], shortestEdge: 224, cropHeight: 224, cropWidth: 224, rescaleFactor: 1 / 255 };

test.beforeAll(() => {
  execFileSync('bash', ['e2e/clips/make-clips.sh'], { stdio: 'inherit', timeout: 170_000 });
});

async function openPage(page: Page) {
  await page.goto('/e2e/harness/video.html');
  await page.waitForFunction(() => window.videoTest !== undefined);
}

/**
 * ffmpeg's rgb24 frames `indices` of a clip (rotation applied, as a player shows them), base64 each. `eightBit`:
 * through ffmpeg's 8-bit YUV first, so that chroma is upsampled as for 8-bit video (ffmpeg's direct 10-bit → RGB
 * path interpolates chroma where its 8-bit path and Chromium repeat each sample: up to 77/255 apart at edges).
 */
function ffmpegFrames(name: string, indices: number[], width: number, height: number, eightBit = false): string[] {
  const select = indices.map((i) => `eq(n\\,${i})`).join('+');
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', `e2e/clips/out/${name}`, '-vf', `select='${select}'${eightBit ? ',format=yuv420p' : ''}`, '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 1 << 28 });
  const size = width * height * 3;
  expect(raw.length).toBe(size * indices.length);
  return indices.map((_, k) => raw.subarray(k * size, (k + 1) * size).toString('base64'));
}

test.beforeEach(async ({ page }) => openPage(page));

test('opens H.264, VP9, AV1, odd-sized, rotated and variable-rate video and reports it', async ({ page }) => {
  const info = await page.evaluate(async (clips) => {
    const out: Record<string, unknown> = {};
    for (const [name, url, asFile] of clips) {
      const r = await window.videoTest.probe(url, asFile);
      if (r.error) throw new Error(`${name}: ${r.error.message}`);
      const i = r.info!;
      out[name] = { codec: i.codec, size: `${i.width}×${i.height}`, stored: `${i.stored.width}×${i.stored.height}`, rotation: i.rotation, fps: i.frameRate, frames: i.frameCount, duration: i.duration, vfr: i.variableFrameRate };
    }
    return out;
  }, [
    ['h264 by URL', clip('h264.mp4'), false],
    ['h264', clip('h264.mp4'), true],
    ['vp9', clip('vp9.webm'), true],
    ['av1', clip('av1.mp4'), true],
    ['odd', clip('odd-317x241.webm'), true],
    ['rotated', clip('rotated-90.mp4'), true],
    ['vfr', clip('vfr.mp4'), true],
  ] as [string, string, boolean][]);
  expect(info['h264 by URL']).toEqual(info.h264);
  expect(info.h264).toEqual({ codec: 'avc', size: '320×240', stored: '320×240', rotation: 0, fps: 30, frames: 90, duration: 3, vfr: false });
  expect(info.vp9).toMatchObject({ codec: 'vp9', size: '320×240', fps: 25, frames: 50 });
  expect(info.av1).toMatchObject({ codec: 'av1', size: '320×240', fps: 24, frames: 48 });
  expect(info.odd).toMatchObject({ size: '317×241', frames: 50 });
  // The display matrix turns the stored 320×240 frames upright: 240×320 as displayed.
  expect(info.rotated).toMatchObject({ size: '240×320', stored: '320×240', rotation: 270 });
  expect(info.vfr).toMatchObject({ vfr: true, duration: 3 });
});

test("sampled timestamps equal the policy's, and the decoder returns those frames", async ({ page }) => {
  const r = await page.evaluate(async (url) => {
    const stride = await window.videoTest.sample(url, { kind: 'stride', frames: 8, stride: 8 });
    const segments = await window.videoTest.sample(url, { kind: 'segments', frames: 6 });
    const multi = await window.videoTest.sample(url, { kind: 'stride', frames: 4, stride: 16 }, { temporalClips: 2, spatialCrops: 3 });
    return { stride, segments, multi };
  }, clip('h264.mp4'));
  // 90 frames; a 8×8 clip spans 57: centred, it starts at (90 − 57) / 2 → 16.
  const strideIndices = [16, 24, 32, 40, 48, 56, 64, 72];
  expect(r.stride.sampling.views[0].frameIndices).toEqual(strideIndices);
  expect(r.stride.sampling.timestamps).toEqual(strideIndices.map((i) => expect.closeTo((i + 0.5) / 30, 9)));
  // The decoder hands back exactly those frames (their presentation times are i/30).
  expect(r.stride.decoded).toEqual(strideIndices.map((i) => expect.closeTo(i / 30, 4)));
  // Segments: the middle frame of each of 6 equal parts of 90 frames.
  expect(r.segments.sampling.views[0].frameIndices).toEqual([7, 22, 37, 52, 67, 82]);
  expect(r.segments.decoded).toEqual([7, 22, 37, 52, 67, 82].map((i) => expect.closeTo(i / 30, 4)));
  // 2 temporal clips × 3 crops = 6 views over 8 distinct frames, each decoded once.
  expect(r.multi.sampling.views.map((v) => `${v.temporalClip}:${v.crop}`)).toEqual(['0:start', '0:centre', '0:end', '1:start', '1:centre', '1:end']);
  expect(r.multi.sampling.views[0].frameIndices).toEqual([10, 26, 42, 58]);
  expect(r.multi.sampling.views[3].frameIndices).toEqual([30, 46, 62, 78]);
  expect(r.multi.decoded).toHaveLength(8);
});

test('the frames of a clip are decoded in one forward pass per GOP: every packet once, each GOP from its keyframe once', async ({ page }) => {
  // Keyframes at 0 s and 4 s (30 fps): six sampled frames in the first GOP, two in the second.
  const indices = [10, 30, 50, 70, 90, 110, 125, 140];
  const { chunks, decoded } = await page.evaluate(([url, i]) => window.videoTest.decodedChunks(url, i), [clip('gop-keys-0-4s.mp4'), indices] as const);
  expect(decoded.map((t) => Math.round(t * 30))).toEqual(indices);
  const timestamps = chunks.map((c) => c.timestamp);
  expect(new Set(timestamps).size).toBe(timestamps.length);
  expect(chunks.filter((c) => c.type === 'key').map((c) => c.timestamp / 1e6)).toEqual([0, 4]);
  // Nothing past the last frame needed, beyond the few packets a B-frame's reordering needs.
  expect(Math.max(...timestamps) / 1e6).toBeLessThan(141 / 30 + 0.2);
});

test('variable frame rate: frames are sampled in time, and the decoder shows the frame on screen then', async ({ page }) => {
  const r = await page.evaluate((url) => window.videoTest.sample(url, { kind: 'segments', frames: 6 }), clip('vfr.mp4'));
  // 1 s at 30 fps, then 2 s at 10 fps; frames sit on the 30 fps lattice, so segment j's middle is at (15j + 7.5) / 30 s.
  expect(r.sampling.timestamps).toEqual([0, 1, 2, 3, 4, 5].map((j) => expect.closeTo((15 * j + 7.5) / 30, 9)));
  // After 1 s only every third lattice slot has a frame: the decoder returns the one being shown.
  expect(r.decoded).toEqual([0.233, 0.733, 1.2, 1.7, 2.2, 2.7].map((t) => expect.closeTo(t, 2)));
});

test("decoded frames match ffmpeg's (mean abs error < 4/255; 10-bit ones < 2/255)", async ({ page }) => {
  const cases: { name: string; width: number; height: number; indices: number[]; uploads: ('auto' | 'copy' | 'external' | 'cpu')[]; tenBit?: boolean }[] = [
    { name: 'h264.mp4', width: 320, height: 240, indices: [0, 15, 47, 89], uploads: ['copy', 'cpu'] },
    { name: 'h264-bt709.mp4', width: 320, height: 240, indices: [3, 20], uploads: ['copy', 'external'] },
    { name: 'vp9.webm', width: 320, height: 240, indices: [1, 30], uploads: ['copy'] },
    { name: 'av1.mp4', width: 320, height: 240, indices: [2, 40], uploads: ['copy'] },
    // 10-bit frames, converted to 8-bit sRGB by the browser (copyTo RGBA, sRGB) and by ffmpeg: within 2/255.
    { name: 'vp9-10bit.webm', width: 160, height: 120, indices: [1, 20], uploads: ['copy', 'cpu'], tenBit: true },
    { name: 'av1-10bit.mp4', width: 160, height: 120, indices: [2, 20], uploads: ['copy', 'cpu'], tenBit: true },
    // Odd sizes put colour edges between chroma samples, where decoders upsample chroma differently: the
    // mean stays below 4, single pixels at edges differ by up to ~250.
    { name: 'odd-317x241.webm', width: 317, height: 241, indices: [5, 44], uploads: ['copy'] },
    // BT.601 primaries: 'auto' copies (importing would shift the colours to sRGB primaries); on this CPU adapter
    // it resizes on the CPU.
    { name: 'rotated-90.mp4', width: 240, height: 320, indices: [0, 33], uploads: ['copy', 'cpu', 'auto'] },
  ];
  const report: string[] = [];
  for (const c of cases) {
    const rgb = ffmpegFrames(c.name, c.indices, c.width, c.height, c.tenBit);
    // 10-bit frames also through our own conversion (yuv.ts: the GPU kernel for 'copy', the CPU for 'cpu'), as
    // browsers that cannot convert them get.
    for (const [upload, convert] of c.uploads.flatMap((u) => (c.tenBit ? (['browser', 'own'] as const) : (['browser'] as const)).map((v) => [u, v] as const))) {
      const r = await page.evaluate(([url, indices, frames, up, conv]) => window.videoTest.compareWithFfmpeg(url, indices, frames, up, conv), [clip(c.name), c.indices, rgb, upload, convert] as const);
      expect([r.width, r.height]).toEqual([c.width, c.height]);
      expect(r.uploadPath).toBe(upload === 'auto' ? (r.cpuAdapter ? 'cpu' : 'copy') : upload);
      report.push(`${c.name} ${upload}→${r.uploadPath}${convert === 'own' ? ' (own conversion)' : ''}: mean ${r.frames.map((f) => f.meanAbs.toFixed(2)).join(', ')} max ${r.frames.map((f) => f.maxAbs.toFixed(0)).join(', ')} (of 255)`);
      // A rotation the wrong way round would give mean errors near 100.
      for (const f of r.frames) expect(f.meanAbs, `${c.name} via ${upload}, ${convert}`).toBeLessThan(c.tenBit ? 2 : 4);
    }
  }
  console.log(`decoded vs ffmpeg:\n  ${report.join('\n  ')}`);
});

test('preprocessing (GPU kernels and CPU store) equals the CPU reference in the browser, for every crop', async ({ page }) => {
  const report: string[] = [];
  for (const [name, plan] of [['odd-317x241.webm', { temporalClips: 1, spatialCrops: 3 }], ['rotated-90.mp4', { temporalClips: 1, spatialCrops: 3 }], ['h264.mp4', { temporalClips: 2, spatialCrops: 1 }], ['4k.mp4', { temporalClips: 1, spatialCrops: 1 }]] as const) {
    for (const upload of ['copy', 'cpu'] as const) {
      const r = await page.evaluate(([url, config, p, up]) => window.videoTest.storeVsReference(url, config, { kind: 'segments', frames: 2 }, p, up), [clip(name), base, plan, upload] as const);
      for (const v of r.views) {
        expect(v.shape).toEqual([2, 3, 224, 224]);
        expect(v.maxAbs, `${name} ${v.crop} ${upload}`).toBeLessThan(1e-4);
      }
      report.push(`${name} ${upload}: ${r.views.map((v) => `${v.crop} ${v.maxAbs.toExponential(1)}`).join(', ')}`);
    }
  }
  console.log(`stores vs CPU reference, max abs error after normalization (mean 0.45, std 0.225):\n  ${report.join('\n  ')}`);
});

test("a frame whose visible rectangle is offset in the coded frame is read from there (even and odd corners)", async ({ page }) => {
  for (const [x, y] of [[4, 2], [3, 5]]) {
    const errors = await page.evaluate(([cx, cy]) => window.videoTest.visibleRectFrame(cx, cy), [x, y] as const);
    expect(errors.copy, `GPU store at (${x}, ${y})`).toBeLessThan(1e-4);
    expect(errors.cpu, `CPU store at (${x}, ${y})`).toBeLessThan(1e-4);
  }
});

test('bad input is refused with a specific message', async ({ page }) => {
  const r = await page.evaluate(async (urls) => {
    const out: Record<string, { kind?: string; message: string } | undefined> = {};
    for (const [name, url] of Object.entries(urls)) out[name] = (await window.videoTest.probe(url)).error;
    return out;
  }, {
    notAVideo: clip('not-a-video.mp4'),
    zeroBytes: clip('zero-bytes.mp4'),
    audioOnly: clip('audio-only.mp4'),
    hevc: clip('hevc.mp4'),
    tooWide: clip('too-wide.webm'),
    truncated: clip('truncated.mp4'),
    mpeg2Ts: clip('mpeg2.mpegts'),
    mpeg2Ps: clip('mpeg2.mpg'),
    mpeg4Ts: clip('mpeg4-part2.mpegts'),
    avi: clip('xvid.avi'),
    flv: clip('sorenson.flv'),
    mpeg4Mp4: clip('mpeg4-part2.mp4'),
    mpeg2Mp4: clip('mpeg2-in.mp4'),
    mpeg2Mkv: clip('mpeg2.mkv'),
    h263: clip('h263.3gp'),
    noKeyframe: clip('no-keyframe.mp4'),
    cutInFirstFrame: clip('cut-in-first-frame.mp4'),
  });
  expect(r.notAVideo).toMatchObject({ kind: 'not-a-video', message: 'not-a-video.mp4 is not a video file this app can open (MP4, MOV, WebM or MKV)' });
  expect(r.zeroBytes).toMatchObject({ kind: 'empty', message: 'zero-bytes.mp4 is empty (0 bytes)' });
  expect(r.audioOnly).toMatchObject({ kind: 'no-video-track', message: 'audio-only.mp4 has no video track (it holds only audio)' });
  expect(r.hevc?.kind).toBe('undecodable-codec');
  expect(r.hevc?.message).toMatch(/^hevc\.mp4 is HEVC \(H\.265\) video, which this browser cannot decode\. Convert it to H\.264, VP9 or AV1/);
  expect(r.tooWide).toMatchObject({ kind: 'too-large' });
  expect(r.tooWide?.message).toMatch(/9000×64 frames; the largest this app handles is 8192 px a side/);
  expect(r.truncated).toBeUndefined();
  // Streams mediabunny skips and containers it does not open are named, with the line that converts them.
  const convert = 'Convert it to H.264 in MP4 (e.g. ffmpeg -i in.mp4 -c:v libx264 -c:a aac out.mp4).';
  expect(r.mpeg2Ts).toEqual({ name: 'VideoError', kind: 'undecodable-codec', message: `mpeg2.mpegts holds MPEG-2 video, which this app cannot decode. ${convert}` });
  expect(r.mpeg2Ps).toEqual({ name: 'VideoError', kind: 'undecodable-codec', message: `mpeg2.mpg holds MPEG-2 video in MPEG-PS, which this app cannot decode. ${convert}` });
  expect(r.mpeg4Ts).toEqual({ name: 'VideoError', kind: 'undecodable-codec', message: `mpeg4-part2.mpegts holds MPEG-4 Part 2 video, which this app cannot decode. ${convert}` });
  expect(r.avi).toEqual({ name: 'VideoError', kind: 'not-a-video', message: `xvid.avi is an AVI file, a container this app does not open. ${convert}` });
  const undecodable = (file: string, codec: string) => ({ name: 'VideoError', kind: 'undecodable-codec', message: `${file} is ${codec} video, which this browser cannot decode. Convert it to H.264, VP9 or AV1 (e.g. ffmpeg -i in.mp4 -c:v libx264 -c:a aac out.mp4), or open it in a browser that decodes ${codec}.` });
  expect(r.mpeg4Mp4).toEqual(undecodable('mpeg4-part2.mp4', 'MPEG-4 Part 2'));
  expect(r.mpeg2Mp4).toEqual(undecodable('mpeg2-in.mp4', 'MPEG-2'));
  expect(r.mpeg2Mkv).toEqual(undecodable('mpeg2.mkv', 'MPEG-2'));
  expect(r.h263).toEqual(undecodable('h263.3gp', 'H.263'));
  expect(r.cutInFirstFrame).toMatchObject({ kind: 'corrupt', message: 'cut-in-first-frame.mp4 has no keyframe with its data in the file, so none of its frames can be decoded: the file looks truncated or damaged' });
  // All the data is there: the file is damaged, not truncated.
  expect(r.noKeyframe).toMatchObject({ kind: 'corrupt', message: 'no-keyframe.mp4 has no keyframe a decoder can start from, though its data is in the file (a cut that kept no keyframe, or an index that names the wrong frames), so none of its frames can be decoded: the file looks damaged' });
  expect(r.flv).toEqual({ name: 'VideoError', kind: 'not-a-video', message: `sorenson.flv is a FLV file, a container this app does not open. ${convert}` });
});

// Files as people have them (e2e/clips/make-clips.sh makes look-alikes): what decodes is used, the notes
// say what was not, and every time in them counts from the video's start.
test('a broadcast segment cut mid-GOP, with timestamps from 114 s, is sampled from its first keyframe on', async ({ page }) => {
  const r = await page.evaluate((url) => window.videoTest.sample(url, { kind: 'segments', frames: 8 }), clip('broadcast-cut.mpegts'));
  // First packet at 114.17 s (2 s of the source + the 112.7 s offset, less the B-frame delay), first keyframe at 116.1 s.
  expect(r.info).toMatchObject({ container: 'MPEG Transport Stream', origin: expect.closeTo(114.167, 3), startTime: expect.closeTo(116.1, 6), duration: expect.closeTo(1, 6), frameCount: 30 });
  expect(r.info.notes).toEqual(['the first 1.93 s of broadcast-cut.mpegts come before its first keyframe and cannot be decoded: frames were sampled from 1.93 s on']);
  // The middle frames of 8 segments of the 30 decodable frames, each decoded as itself.
  expect(r.sampling.views[0].frameIndices).toEqual([1, 5, 9, 13, 16, 20, 24, 28]);
  expect(r.decoded).toEqual([1, 5, 9, 13, 16, 20, 24, 28].map((i) => expect.closeTo(116.1 + i / 30, 4)));
  expect(r.notes).toEqual([]);
});

test('a frame the decoder rejects is replaced by the nearest decodable one, and too many bad frames refuse the file', async ({ page }) => {
  // Frame 10 of 60 names a PPS that does not exist; frames 11–29 refer to it; frame 30 is the next keyframe.
  const r = await page.evaluate((url) => window.videoTest.sample(url, { kind: 'segments', frames: 30 }), clip('damaged-frame.mp4'));
  const indices = Array.from({ length: 30 }, (_, j) => 2 * j + 1);
  expect(r.sampling.views[0].frameIndices).toEqual(indices);
  // Frames 11…19 take frame 9, frames 21…29 frame 31 (the nearer one); the rest are themselves.
  const standIn = (i: number) => (i > 10 && i < 30 ? (i < 20 ? 9 : 31) : i);
  expect(r.decoded).toEqual(indices.map((i) => expect.closeTo(standIn(i) / 30, 4)));
  expect(r.notes).toEqual([
    '10 of the 30 frames needed from damaged-frame.mp4 could not be decoded (at 0.38, 0.45, 0.52, 0.58, 0.65, 0.72, 0.78, 0.85, 0.92, 0.98 s; the decoder said: Decoding error.): the nearest decodable frames (at 0.32, 1.05 s) were used instead',
  ]);
  const mostlyBad = await page.evaluate((url) => window.videoTest.decodeIndices(url, [12, 14, 16, 18, 40]), clip('damaged-frame.mp4'));
  expect(mostlyBad.error).toEqual({
    name: 'VideoError',
    kind: 'corrupt',
    message: 'damaged-frame.mp4: only 1 of the 5 frames needed could be decoded (none at 0.42, 0.48, 0.55, 0.62 s; the decoder said: Decoding error.): the file looks truncated or damaged',
  });
});

test("a phone's slow-motion file (VFR, recovery-point keyframes, a trailer after the media data) is sampled whole", async ({ page }) => {
  const r = await page.evaluate((url) => window.videoTest.sample(url, { kind: 'segments', frames: 8 }), clip('slow-motion.mp4'));
  // 5 s at 30 fps then 60 fps, cut at 3 s: 60 frames at 30 fps, 120 at 60 fps; keyframes at 0 and 2.5 s.
  expect(r.info).toMatchObject({ codec: 'avc', width: 160, height: 120, startTime: 0, duration: expect.closeTo(3.97, 2), variableFrameRate: true, notes: [] });
  expect(r.sampling.timestamps).toHaveLength(8);
  // Every sampled frame decodes as itself, before and after the second keyframe.
  expect(r.notes).toEqual([]);
  expect(r.decoded.length).toBe(8);
  expect(r.decoded.some((t) => t < 2.5) && r.decoded.some((t) => t > 2.5)).toBe(true);
  for (const [k, t] of r.decoded.entries()) expect(t).toBeLessThanOrEqual(r.sampling.timestamps[k]);
});

test('frames before an edit list\'s start are not sampled: the video starts where players start it', async ({ page }) => {
  const r = await page.evaluate((url) => window.videoTest.sample(url, { kind: 'segments', frames: 4 }), clip('trimmed.mp4'));
  // Cut at 1.5 s from a file with keyframes at 0 and 4 s: the packets from 0 to 1.5 s are kept (the keyframe at 0 s
  // opens the frames after 1.5 s) and listed before the edit list's start, at -1.5 s.
  expect(r.info).toMatchObject({ origin: 0, startTime: 0, duration: expect.closeTo(3.5, 6), frameCount: 105, notes: [] });
  expect(r.decoded).toEqual([13, 39, 65, 91].map((i) => expect.closeTo(i / 30, 4)));
});

test('a file that ends long before its index says is sampled over the part that is there', async ({ page }) => {
  const r = await page.evaluate(async (urls) => ({
    early: await window.videoTest.sample(urls.early, { kind: 'segments', frames: 8 }),
    truncated: await window.videoTest.sample(urls.truncated, { kind: 'segments', frames: 4 }),
  }), { early: clip('ends-early.mp4'), truncated: clip('truncated.mp4') });
  // The index promises 35 s; the data holds 15 frames.
  expect(r.early.info).toMatchObject({ startTime: 0, duration: expect.closeTo(0.5, 6), frameCount: 15 });
  expect(r.early.info.notes).toEqual(['ends-early.mp4 ends early, at 0.50 s of the 35.00 s its index promises: frames were sampled from what is there']);
  expect(r.early.decoded).toEqual([0, 2, 4, 6, 8, 10, 12, 14].map((i) => expect.closeTo(i / 30, 4)));
  expect(r.early.notes).toEqual([]);
  // Cut at 40 % of its bytes (B-frames: the frames after the cut are gone, and some before it refer to them).
  expect(r.truncated.info.notes).toEqual([expect.stringMatching(/^truncated\.mp4 ends early, at 0\.\d\d s of the 2\.00 s its index promises/)]);
  expect(r.truncated.decoded.every((t) => t < r.truncated.info.duration)).toBe(true);
});

test('decoding is cancellable, and the video stays usable', async ({ page }) => {
  const r = await page.evaluate((url) => window.videoTest.cancel(url), clip('h264.mp4'));
  expect(r).toEqual({ error: 'AbortError', framesBeforeAbort: 2, againViews: 1 });
});

test('long video: windows stream in order with progress, and stop early', async ({ page }) => {
  const r = await page.evaluate(async (url) => ({
    all: await window.videoTest.windows(url, { kind: 'stride', frames: 4, stride: 8 }),
    two: await window.videoTest.windows(url, { kind: 'stride', frames: 4, stride: 8 }, 2),
  }), clip('h264.mp4'));
  // 90 frames, clips spanning 25 frames, half-overlapping: starts 0, 13, 26, 39, 52, 65.
  expect(r.all.windows.map((w) => w.frameIndices[0])).toEqual([0, 13, 26, 39, 52, 65]);
  expect(r.all.windows[5].frameIndices).toEqual([65, 73, 81, 89]);
  expect(r.all.windows.every((w) => w.finite && w.count === 6)).toBe(true);
  expect(r.all.windows[5].end).toBeCloseTo(3, 9);
  expect(r.all.progress.at(-1)).toBeCloseTo(1, 9);
  expect([...r.all.progress].sort((a, b) => a - b)).toEqual(r.all.progress);
  expect(r.two.windows).toHaveLength(2);
});

test('end to end: file → frames → GPU preprocessing → engine → top-5 (tiny model)', async ({ page }) => {
  const r = await page.evaluate((url) => window.videoTest.classify(url), clip('odd-317x241.webm'));
  console.log(`tiny-divided on odd-317x241.webm, frames ${r.frameIndices}: ${r.top5.map((c) => `${c.label} ${c.probability.toFixed(3)}`).join(', ')}; logits vs CPU-preprocessed input: max abs ${r.logitsMaxAbs.toExponential(1)}`);
  expect(r.top5).toHaveLength(5);
  expect(r.top5.every((c, i) => i === 0 || c.probability <= r.top5[i - 1].probability)).toBe(true);
  expect(r.logitsMaxAbs).toBeLessThan(1e-4);
  expect(r.note).toMatch(/spread evenly/);
});
