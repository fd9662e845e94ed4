// The live frame ring against the CPU preprocessing reference: which frame lands in which slot (sampling
// points commit, frames in between overwrite the head), the clip's temporal order as the ring wraps, and
// that a clip encoded later sees the ring as it is then.
import { describe, expect, it } from 'vitest';
import type { PreprocessorConfig } from '../../src/checkpoint/config';
import { Runtime } from '../../src/engine/runtime';
import type { GpuClip } from '../../src/engine/timesformer';
import { FrameRing } from '../../src/preprocess/frame-ring';
import { preprocessReference, type RgbaImage } from '../../src/preprocess/reference';
import { maxAbsDiff, testDevice } from '../gpu';

const config: PreprocessorConfig = {
  imageMean: [0.45, 0.45, 0.45],
  imageStd: [0.225, 0.225, 0.225],
  shortestEdge: 64,
  cropHeight: 64,
  cropWidth: 64,
  rescaleFactor: 1 / 255,
};

/** A 97×61 frame whose pixels depend on `seed` (each pushed frame is told apart from the others). */
function frame(seed: number): RgbaImage {
  const width = 97, height = 61;
  const data = new Uint8Array(width * height * 4);
  let s = seed * 7919 + 1;
  for (let i = 0; i < width * height; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data.set([(i % width) * 2 + seed, Math.floor(i / width) * 3, s >>> 24, 255], i * 4);
  }
  return { width, height, data };
}

async function encodeAndRead(ring: FrameRing, clip: GpuClip & { shape: number[] }): Promise<Float32Array> {
  const gpu = await testDevice();
  const rt = new Runtime(gpu);
  try {
    const floats = clip.shape.reduce((a, b) => a * b);
    const target = rt.buffer('target', floats * 4);
    const encoder = gpu.device.createCommandEncoder();
    clip.encode(encoder, target);
    gpu.device.pushErrorScope('validation');
    gpu.device.queue.submit([encoder.finish()]);
    const error = await gpu.device.popErrorScope();
    if (error) throw new Error(error.message);
    return (await rt.read(target)).subarray(0, floats);
  } finally {
    rt.destroy();
  }
}

// Each frame's resize on the GPU (the kernels) and on the CPU (a CPU adapter's store): the ring behaves the same.
for (const upload of ['copy', 'cpu'] as const) describe(`frame ring (resized by the ${upload === 'cpu' ? 'CPU' : 'GPU'} store)`, () => {
  it('holds the last frame before each sampling point, the newest frame last, in order as it wraps', async () => {
    const gpu = await testDevice();
    const ring = FrameRing.create(gpu, { width: 97, height: 61 }, 0, config, { slots: 3, interval: 100, upload });
    try {
      // Frames at 0, 40, 100, 130, 210, 260, 320 ms: sampling points (≥ 100 ms after the last) at 0, 100, 210, 320.
      const times = [0, 40, 100, 130, 210, 260, 320];
      const frames = times.map((_, i) => frame(i));
      for (const [i, t] of times.entries()) {
        expect(ring.full, `full before frame ${i}`).toBe(i >= 5);
        await ring.push(frames[i], t);
      }
      // Slots: [40 ms (overwrote 0), 130 (overwrote 100), 260 (overwrote 210)] committed in turn, then 320 started a
      // new slot over the oldest: the clip is 130, 260, 320.
      const clip = ring.clip();
      const actual = await encodeAndRead(ring, clip);
      expect(clip.newest?.time).toBe(320);
      expect(maxAbsDiff(actual, preprocessReference([frames[3], frames[5], frames[6]], 0, config))).toBeLessThan(1e-5);
    } finally {
      ring.destroy();
    }
  });

  it('gives a clip the order the ring has when it is encoded, and refuses overlapping pushes and a partial clip', async () => {
    const gpu = await testDevice();
    const ring = FrameRing.create(gpu, { width: 97, height: 61 }, 0, config, { slots: 2, interval: 50, upload });
    try {
      await ring.push(frame(0), 0);
      expect(() => ring.clip()).toThrow(/holds 1 of 2 frames/);
      await ring.push(frame(1), 50);
      const clip = ring.clip();
      // A sampling-point frame arrives before the clip is encoded: the clip is then frames 1, 2.
      const writing = ring.push(frame(2), 100);
      await expect(ring.push(frame(3), 110)).rejects.toThrow(/already being written/);
      await writing;
      const actual = await encodeAndRead(ring, clip);
      expect(clip.newest?.time).toBe(100);
      expect(maxAbsDiff(actual, preprocessReference([frame(1), frame(2)], 0, config))).toBeLessThan(1e-5);
    } finally {
      ring.destroy();
    }
  });
});
