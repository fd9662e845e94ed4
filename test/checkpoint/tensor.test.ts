import { describe, expect, it } from 'vitest';
import { floatToHalf, halfToFloat, toFloat32, toFloat16Bits } from '../../src/checkpoint/tensor';

describe('half precision', () => {
  it('converts known values both ways', () => {
    const cases: [number, number][] = [[0, 0x0000], [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [2 ** -24, 0x0001], [2 ** -14, 0x0400], [0.333251953125, 0x3555], [Infinity, 0x7c00], [-Infinity, 0xfc00]];
    for (const [value, bits] of cases) {
      expect(floatToHalf(value), `${value}`).toBe(bits);
      expect(halfToFloat(bits)).toBe(value);
    }
    expect(Number.isNaN(halfToFloat(floatToHalf(NaN)))).toBe(true);
    expect(floatToHalf(1e6)).toBe(0x7c00); // overflow → inf
    expect(floatToHalf(2 ** -26)).toBe(0); // below half the smallest subnormal
  });

  it('rounds to nearest, ties to even', () => {
    // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties go to the even mantissa (1).
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00);
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(floatToHalf(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01);
  });

  it('round-trips every f16 value', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const exp = (bits >> 10) & 0x1f;
      if (exp === 31 && bits & 0x3ff) continue; // NaN payloads
      expect(floatToHalf(halfToFloat(bits))).toBe(bits === 0x8000 ? 0x8000 : bits);
    }
  });

  it('reads F16, BF16 and U8 tensors as float32, and f16 bits without copying', () => {
    const f16 = new Uint16Array([0x3c00, 0xc000, 0x3555]);
    expect([...toFloat32({ dtype: 'F16', shape: [3], bytes: new Uint8Array(f16.buffer) })]).toEqual([1, -2, 0.333251953125]);
    const bf16 = new Uint16Array([0x3f80, 0xc000]); // 1, -2
    expect([...toFloat32({ dtype: 'BF16', shape: [2], bytes: new Uint8Array(bf16.buffer) })]).toEqual([1, -2]);
    expect([...toFloat32({ dtype: 'U8', shape: [2], bytes: new Uint8Array([0, 255]) })]).toEqual([0, 255]);
    const view = toFloat16Bits({ dtype: 'F16', shape: [3], bytes: new Uint8Array(f16.buffer) });
    expect(view.buffer).toBe(f16.buffer);
    expect([...toFloat16Bits({ dtype: 'F32', shape: [2], bytes: new Uint8Array(new Float32Array([1, -2]).buffer) })]).toEqual([0x3c00, 0xc000]);
    expect(() => toFloat32({ dtype: 'F32', shape: [3], bytes: new Uint8Array(8) })).toThrow(/needs 12 bytes, has 8/);
  });
});
