// Our own 10/12-bit YUV → RGBA conversion (for browsers that cannot convert such frames): the GPU kernel against
// the CPU reference on awkward sizes (odd widths and heights, 4:2:0, 4:2:2, 4:4:4, limited and full range, each
// matrix), and the reference itself on values whose colour is known.
import { describe, expect, it } from 'vitest';
import { Runtime } from '../../src/engine/runtime';
import { encodeYuvToRgba, YUV_PARAMS_BYTES, yuvSampleBytes } from '../../src/preprocess/yuv-kernel';
import { planarYuvToRgba, type PlanarYuv } from '../../src/preprocess/yuv';
import { testDevice } from '../gpu';

/** Seeded noise over the legal range of each plane. */
function frame(width: number, height: number, bitDepth: number, subsampling: [number, number], matrix: PlanarYuv['matrix'], fullRange: boolean, seed: number): PlanarYuv {
  let s = seed;
  const random = (lo: number, hi: number) => ((s = (s * 1103515245 + 12345) >>> 0), lo + (s % (hi - lo + 1)));
  const unit = 2 ** (bitDepth - 8);
  const [yLo, yHi, cLo, cHi] = fullRange ? [0, 2 ** bitDepth - 1, 0, 2 ** bitDepth - 1] : [16 * unit, 235 * unit, 16 * unit, 240 * unit];
  const chroma = Math.ceil(width / subsampling[0]) * Math.ceil(height / subsampling[1]);
  const plane = (n: number, lo: number, hi: number) => Uint16Array.from({ length: n }, () => random(lo, hi));
  return { width, height, bitDepth, subsampling, y: plane(width * height, yLo, yHi), u: plane(chroma, cLo, cHi), v: plane(chroma, cLo, cHi), matrix, fullRange };
}

async function onGpu(image: PlanarYuv): Promise<Uint8Array> {
  const rt = new Runtime(await testDevice());
  try {
    const params = rt.uniform('params', new ArrayBuffer(YUV_PARAMS_BYTES));
    const samples = rt.buffer('samples', yuvSampleBytes(image));
    const rgba = rt.buffer('rgba', image.width * image.height * 4);
    const encoder = rt.device.createCommandEncoder();
    encodeYuvToRgba(rt, encoder, image, { params, samples, rgba });
    rt.device.pushErrorScope('validation');
    rt.device.queue.submit([encoder.finish()]);
    const error = await rt.device.popErrorScope();
    if (error) throw new Error(error.message);
    return new Uint8Array((await rt.read(rgba, image.width * image.height * 4)).buffer.slice(0, image.width * image.height * 4));
  } finally {
    rt.destroy();
  }
}

describe('10/12-bit YUV → RGBA', () => {
  it('the reference gives the colours limited- and full-range code values stand for', () => {
    const one = (y: number, u: number, v: number, bitDepth: number, fullRange: boolean, matrix: PlanarYuv['matrix'] = 'bt709') =>
      Array.from(planarYuvToRgba({ width: 1, height: 1, bitDepth, subsampling: [1, 1], y: Uint16Array.of(y), u: Uint16Array.of(u), v: Uint16Array.of(v), matrix, fullRange }));
    expect(one(64, 512, 512, 10, false)).toEqual([0, 0, 0, 255]);
    expect(one(940, 512, 512, 10, false)).toEqual([255, 255, 255, 255]);
    expect(one(4095, 2048, 2048, 12, true)).toEqual([255, 255, 255, 255]);
    // BT.709 red (R'G'B' 1, 0, 0) in 10-bit limited range: Y 250, Cb 409, Cr 960.
    expect(one(250, 409, 960, 10, false)).toEqual([255, 0, 0, 255]);
    // BT.601 green (0, 1, 0): Y 0.587·876 + 64 = 578, Cb 512 − 0.331·896 = 215, Cr 512 − 0.419·896 = 137.
    const green = one(578, 215, 137, 10, false, 'smpte170m');
    expect(green[0]).toBeLessThanOrEqual(1);
    expect(green[1]).toBeGreaterThanOrEqual(254);
    expect(green[2]).toBeLessThanOrEqual(1);
  });

  it('the GPU kernel equals the reference on awkward shapes (within rounding: 1/255)', async () => {
    const cases: [number, number, number, [number, number], PlanarYuv['matrix'], boolean][] = [
      [7, 5, 10, [2, 2], 'bt709', false],
      [1, 1, 10, [2, 2], 'smpte170m', false],
      [9, 3, 12, [2, 1], 'bt2020-ncl', true],
      [5, 4, 10, [1, 1], null, true],
      [33, 17, 12, [2, 2], 'bt470bg', false],
    ];
    for (const [i, [w, h, bits, sub, matrix, full]] of cases.entries()) {
      const image = frame(w, h, bits, sub, matrix, full, i + 1);
      const expected = planarYuvToRgba(image);
      const got = await onGpu(image);
      const maxDiff = got.reduce((m, v, k) => Math.max(m, Math.abs(v - expected[k])), 0);
      expect(maxDiff, `${w}×${h} ${bits}-bit ${sub} ${matrix} ${full ? 'full' : 'limited'}`).toBeLessThanOrEqual(1);
      // Not all one value: the planes reach the kernel in their places.
      expect(new Set(got).size).toBeGreaterThan(Math.min(4, w * h));
    }
  });
});
