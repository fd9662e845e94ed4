// The display un-normalization undoes preprocessing: frames already at the crop size (no resize), preprocessed by
// the CPU reference, come back as the same bytes, frame by frame, alpha opaque; values past 0..255 clamp.
import { describe, expect, it } from 'vitest';
import type { PreprocessorConfig } from '../../src/checkpoint/config';
import { unnormalizedRgba } from '../../src/preprocess/display';
import { preprocessReference, type RgbaImage } from '../../src/preprocess/reference';

const W = 7, H = 5;
const config: PreprocessorConfig = { imageMean: [0.485, 0.456, 0.406], imageStd: [0.229, 0.224, 0.225], shortestEdge: H, cropHeight: H, cropWidth: W, rescaleFactor: 1 / 255 };

function frame(seed: number): RgbaImage {
  const data = new Uint8Array(W * H * 4);
  let s = seed;
  for (let i = 0; i < data.length; i++) data[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  return { width: W, height: H, data };
}

describe('unnormalizedRgba', () => {
  it('gives back each frame of a preprocessed clip as it was (7×5, 3 frames)', () => {
    const frames = [frame(1), frame(2), frame(3)];
    const pixels = preprocessReference(frames, 0, config);
    frames.forEach((f, t) => {
      const rgba = unnormalizedRgba(pixels, t, H, W, config);
      for (let i = 0; i < W * H; i++) {
        expect([...rgba.subarray(i * 4, i * 4 + 4)], `frame ${t} pixel ${i}`).toEqual([f.data[i * 4], f.data[i * 4 + 1], f.data[i * 4 + 2], 255]);
      }
    });
  });

  it('clamps values outside the bytes', () => {
    const pixels = new Float32Array(3 * H * W).fill(100);
    pixels.fill(-100, 0, H * W);
    const rgba = unnormalizedRgba(pixels, 0, H, W, config);
    expect([...rgba.subarray(0, 4)]).toEqual([0, 255, 255, 255]);
  });
});
