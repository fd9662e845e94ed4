import { describe, expect, it } from 'vitest';
import { colorize, colormap, COLORMAPS, cssColor, lutIndex, valueRange } from '../../src/attention/colormap';

describe('colormaps', () => {
  it('hits the published end points of viridis and inferno', () => {
    const v = colormap('viridis');
    expect(Array.from(v.slice(0, 3))).toEqual([0x44, 0x01, 0x54]);
    expect(Array.from(v.slice(255 * 3))).toEqual([0xfd, 0xe7, 0x25]);
    const i = colormap('inferno');
    expect(Array.from(i.slice(0, 3))).toEqual([0, 0, 4]);
    expect(Array.from(i.slice(255 * 3))).toEqual([0xfc, 0xff, 0xa4]);
  });

  it('rises monotonically in lightness (what makes them readable)', () => {
    for (const name of COLORMAPS) {
      const lut = colormap(name);
      let previous = -1;
      for (let k = 0; k < 256; k += 15) {
        // Rec. 709 luma as a lightness proxy.
        const y = 0.2126 * lut[k * 3] + 0.7152 * lut[k * 3 + 1] + 0.0722 * lut[k * 3 + 2];
        expect(y, `${name} at ${k}`).toBeGreaterThan(previous);
        previous = y;
      }
    }
  });

  it('maps a range onto the table, clamping outside it', () => {
    const range = { min: 0.2, max: 0.6 };
    expect(lutIndex(0.2, range)).toBe(0);
    expect(lutIndex(0.6, range)).toBe(255);
    expect(lutIndex(0.4, range)).toBe(128);
    expect(lutIndex(-1, range)).toBe(0);
    expect(lutIndex(9, range)).toBe(255);
    expect(lutIndex(3, { min: 1, max: 1 })).toBe(128); // a flat map is one colour, not a division by zero
  });

  it('finds the range of several arrays, ignoring NaN', () => {
    expect(valueRange([0.5, NaN, 0.1], new Float32Array([0.75]))).toEqual({ min: 0.1, max: 0.75 });
    expect(valueRange([])).toEqual({ min: 0, max: 1 });
  });

  it('writes RGBA pixels', () => {
    const lut = colormap('viridis');
    const px = colorize([0, 1], { min: 0, max: 1 }, lut, 200);
    expect(Array.from(px)).toEqual([0x44, 0x01, 0x54, 200, 0xfd, 0xe7, 0x25, 200]);
    expect(cssColor(lut, 1)).toBe('rgb(253, 231, 37)');
  });
});
