// The GPU preprocessing (frame store: resize kernel + normalize kernel) against the CPU reference, on
// awkward sizes, every rotation, up- and downscaling and all three crops; and the geometry on fixed cases.
import { describe, expect, it } from 'vitest';
import type { PreprocessorConfig } from '../../src/checkpoint/config';
import { Runtime } from '../../src/engine/runtime';
import { createFrameStore } from '../../src/preprocess/frame-store';
import { bilinearTaps, cropOrigin, resizedSize, type CropPosition, type Rotation } from '../../src/preprocess/geometry';
import { orientRgba, preprocessReference, type RgbaImage } from '../../src/preprocess/reference';
import { maxAbsDiff, testDevice } from '../gpu';

const imagenet: PreprocessorConfig = {
  imageMean: [0.485, 0.456, 0.406],
  imageStd: [0.229, 0.224, 0.225],
  shortestEdge: 64,
  cropHeight: 56,
  cropWidth: 56,
  rescaleFactor: 1 / 255,
};
/** Pixels in 0..1, before normalization: the unit of the "≤ 2/255" bound. */
const unitScale = (c: PreprocessorConfig): PreprocessorConfig => ({ ...c, imageMean: [0, 0, 0], imageStd: [1, 1, 1] });

/** Seeded random RGBA noise over a gradient (noise alone would hide a half-pixel shift less well). */
function image(width: number, height: number, seed: number): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  let s = seed;
  for (let i = 0; i < width * height; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const x = i % width, y = Math.floor(i / width);
    data[i * 4] = (x * 255) / width;
    data[i * 4 + 1] = (y * 255) / height;
    data[i * 4 + 2] = s >>> 24;
    data[i * 4 + 3] = 255;
  }
  return { width, height, data };
}

/** The part of `frame` at `rect` (what a VideoFrame's copyTo gives for that rect). */
function part(frame: RgbaImage, rect: { x: number; y: number; width: number; height: number }): RgbaImage {
  const data = new Uint8Array(rect.width * rect.height * 4);
  for (let y = 0; y < rect.height; y++) data.set(frame.data.subarray(((rect.y + y) * frame.width + rect.x) * 4, ((rect.y + y) * frame.width + rect.x + rect.width) * 4), y * rect.width * 4);
  return { ...rect, data };
}

/**
 * The clip a store makes: on the GPU ('copy': the resize and normalize kernels) or on the CPU ('cpu'), read from
 * the engine's input buffer. 'whole': a store for all three crops given whole frames; 'part': a store for this
 * crop alone given only its copyRect of each frame (as VideoFrames are copied).
 */
async function storePreprocess(frames: RgbaImage[], rotation: Rotation, config: PreprocessorConfig, crop: CropPosition, slotOrder: number[], upload: 'whole' | 'part' = 'whole', where: 'copy' | 'cpu' = 'copy'): Promise<Float32Array> {
  const gpu = await testDevice();
  const store = createFrameStore(gpu, frames[0], rotation, config, { slots: frames.length, crops: upload === 'part' ? [crop] : ['start', 'centre', 'end'], upload: where });
  const rt = new Runtime(gpu);
  try {
    for (const [slot, frame] of frames.entries()) await store.upload(slot, upload === 'part' ? part(frame, store.copyRect) : frame);
    const clip = store.clip(slotOrder, crop);
    const target = rt.buffer('target', clip.shape.reduce((a, b) => a * b) * 4);
    const encoder = gpu.device.createCommandEncoder();
    clip.encode(encoder, target);
    gpu.device.pushErrorScope('validation');
    gpu.device.queue.submit([encoder.finish()]);
    const error = await gpu.device.popErrorScope();
    if (error) throw new Error(error.message);
    return (await rt.read(target)).subarray(0, clip.shape.reduce((a, b) => a * b));
  } finally {
    store.destroy();
    rt.destroy();
  }
}

describe('geometry', () => {
  it('resizes the shortest edge as HF does (long side truncated)', () => {
    expect(resizedSize({ width: 320, height: 240 }, 224)).toEqual({ width: 298, height: 224 });
    expect(resizedSize({ width: 240, height: 320 }, 224)).toEqual({ width: 224, height: 298 });
    expect(resizedSize({ width: 1920, height: 1080 }, 224)).toEqual({ width: 398, height: 224 });
    expect(resizedSize({ width: 317, height: 241 }, 64)).toEqual({ width: 84, height: 64 });
  });

  it('crops at the start, centre and end of the long side', () => {
    const crop = { width: 224, height: 224 };
    expect(cropOrigin({ width: 298, height: 224 }, crop, 'start')).toEqual({ x: 0, y: 0 });
    expect(cropOrigin({ width: 298, height: 224 }, crop, 'centre')).toEqual({ x: 37, y: 0 });
    expect(cropOrigin({ width: 298, height: 224 }, crop, 'end')).toEqual({ x: 74, y: 0 });
    expect(cropOrigin({ width: 224, height: 299 }, crop, 'end')).toEqual({ x: 0, y: 75 });
    expect(() => cropOrigin({ width: 200, height: 224 }, crop, 'centre')).toThrow(/does not fit/);
  });

  it("has PIL's bilinear taps", () => {
    // Same size: the identity.
    const same = bilinearTaps(5, 5);
    for (let i = 0; i < 5; i++) {
      const row = Array.from(same.weights.subarray(i * same.taps, (i + 1) * same.taps));
      expect(row.reduce((a, b) => a + b)).toBeCloseTo(1, 6);
      expect(row[i - same.first[i]]).toBeCloseTo(1, 6);
    }
    // Halving 4 → 2: output 0 is centred on 1.0 with support 2: inputs 0, 1, 2 weigh 0.75, 0.75, 0.25 → /1.75.
    const half = bilinearTaps(4, 2);
    expect(half.first[0]).toBe(0);
    expect(Array.from(half.weights.subarray(0, 3)).map((w) => w * 7)).toEqual([3, 3, 1].map((v) => expect.closeTo(v, 5)));
    // Doubling 2 → 4: output 1 is centred on 0.75: inputs 0 and 1 weigh 0.75 and 0.25.
    const up = bilinearTaps(2, 4);
    const w1 = Array.from(up.weights.subarray(up.taps, 2 * up.taps));
    expect(w1.slice(0, 2 - up.first[1])).toEqual([0.75, 0.25].slice(up.first[1]).map((v) => expect.closeTo(v, 6)));
  });

  it('orients frames for every rotation', () => {
    const img: RgbaImage = { width: 3, height: 2, data: new Uint8Array(Array.from({ length: 6 }, (_, i) => [i, 0, 0, 255]).flat()) };
    const red = (r: RgbaImage) => Array.from({ length: r.width * r.height }, (_, i) => r.data[i * 4]);
    // Stored: 0 1 2 / 3 4 5. Clockwise 90°: 3 0 / 4 1 / 5 2.
    expect(red(orientRgba(img, 90))).toEqual([3, 0, 4, 1, 5, 2]);
    expect(red(orientRgba(img, 180))).toEqual([5, 4, 3, 2, 1, 0]);
    expect(red(orientRgba(img, 270))).toEqual([2, 5, 1, 4, 0, 3]);
  });
});

describe('the frame stores (GPU kernels and CPU loops) equal the CPU reference', () => {
  const cases: { name: string; width: number; height: number; rotation: Rotation; config: PreprocessorConfig }[] = [
    { name: '317×241 landscape', width: 317, height: 241, rotation: 0, config: imagenet },
    { name: '241×317 portrait', width: 241, height: 317, rotation: 0, config: imagenet },
    { name: '317×241 rotated 90°', width: 317, height: 241, rotation: 90, config: imagenet },
    { name: '317×241 rotated 180°', width: 317, height: 241, rotation: 180, config: imagenet },
    { name: '317×241 rotated 270°', width: 317, height: 241, rotation: 270, config: imagenet },
    { name: '41×31 upscaled to 64', width: 41, height: 31, rotation: 0, config: { ...imagenet, cropWidth: 64, cropHeight: 64 } },
    { name: '701×499 downscaled 7.8×', width: 701, height: 499, rotation: 0, config: imagenet },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const frames = [image(c.width, c.height, 1), image(c.width, c.height, 2)];
      const crops: CropPosition[] = ['start', 'centre', 'end'];
      const worst = new Map<string, number>();
      for (const crop of crops) {
        for (const [unit, config] of [['normalized', c.config], ['0..1', unitScale(c.config)]] as const) {
          // Slots in reverse and repeated: frame t of the clip is slot slots[t].
          const slots = [1, 0, 1];
          const expected = preprocessReference(slots.map((s) => frames[s]), c.rotation, config, crop);
          for (const where of ['copy', 'cpu'] as const) {
            for (const upload of ['whole', 'part'] as const) {
              const actual = await storePreprocess(frames, c.rotation, config, crop, slots, upload, where);
              const err = maxAbsDiff(actual, expected);
              const key = `${where === 'cpu' ? 'CPU' : 'GPU'} store ${unit}`;
              worst.set(key, Math.max(worst.get(key) ?? 0, err));
              expect(err, `${crop}, ${unit}, ${where === 'cpu' ? 'CPU' : 'GPU'} store, ${upload} frames`).toBeLessThan(unit === '0..1' ? 2e-6 : 1e-5);
            }
          }
        }
      }
      console.log(`preprocess ${c.name}, max abs error over crops and whole/part frames: ${[...worst].map(([k, e]) => `${k} ${e.toExponential(1)}`).join(', ')}`);
    });
  }

  it("reads only the copy rectangle: a centre crop of 16:9 needs 56% of the columns, and a part that misses it is refused", async () => {
    const gpu = await testDevice();
    const config = { ...imagenet, shortestEdge: 224, cropWidth: 224, cropHeight: 224 };
    const store = createFrameStore(gpu, { width: 1920, height: 1080 }, 0, config, { slots: 1, crops: ['centre'] });
    const rotated = createFrameStore(gpu, { width: 1080, height: 1920 }, 90, config, { slots: 1, crops: ['centre'] });
    try {
      // Resized 398×224, crop x 87..310: source columns ≈ 420..1500 (plus the filter's reach); every row.
      const rect = store.copyRect;
      expect(rect.y).toBe(0);
      expect(rect.height).toBe(1080);
      expect(rect.width / 1920).toBeGreaterThan(0.55);
      expect(rect.width / 1920).toBeLessThan(0.58);
      expect([rect.x % 2, rect.width % 2]).toEqual([0, 0]);
      // Displayed the same after rotation: the stored rectangle is the same band, along y.
      expect(rotated.copyRect).toEqual({ x: 0, y: 1920 - rect.x - rect.width, width: 1080, height: rect.width });
      const frame = image(1920, 1080, 4);
      await expect(store.upload(0, part(frame, { ...rect, x: rect.x + 2 }))).rejects.toThrow(/must cover the pixels the resize reads/);
    } finally {
      store.destroy();
      rotated.destroy();
    }
  });

  it('is the identity when nothing is resized or normalized', async () => {
    const frame = image(37, 23, 3);
    const identity: PreprocessorConfig = { imageMean: [0, 0, 0], imageStd: [1, 1, 1], shortestEdge: 23, cropHeight: 23, cropWidth: 37, rescaleFactor: 1 };
    const out = await storePreprocess([frame], 0, identity, 'centre', [0]);
    const planes = new Float32Array(3 * 37 * 23);
    for (let i = 0; i < 37 * 23; i++) for (let c = 0; c < 3; c++) planes[c * 37 * 23 + i] = frame.data[i * 4 + c];
    expect(maxAbsDiff(out, planes)).toBeLessThan(1e-3);
  });

  it('refuses a frame of another size and an unknown slot', async () => {
    const gpu = await testDevice();
    const store = createFrameStore(gpu, { width: 64, height: 64 }, 0, imagenet, { slots: 1, crops: ['centre'] });
    try {
      await expect(store.upload(0, image(65, 64, 1))).rejects.toThrow(/65×64 frame in a store of 64×64/);
      await expect(store.upload(1, image(64, 64, 1))).rejects.toThrow(/slot 1 is outside/);
      expect(() => store.clip([0], 'start')).toThrow(/no 'start' crop/);
    } finally {
      store.destroy();
    }
  });
});
