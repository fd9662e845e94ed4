// packF16 (the read-back of display frames as f16) against the CPU's f16 rounding, on awkward sizes: odd counts
// (the last word's high half is zero), one value, and more words than one dimension of workgroups holds (on a
// device with WebGPU's default limits, more bytes than one binding holds: packed in chunks); in chunks under a
// lowered binding limit.
import { describe, expect, it } from 'vitest';
import { floatToHalf, halfToFloat } from '../../src/checkpoint/tensor';
import { packedWords, packF16, unpackF16 } from '../../src/engine/kernels/pack-f16';
import { random, testRuntime } from '../gpu';

describe('packF16', () => {
  const cases = [{ n: 1 }, { n: 7 }, { n: 256 * 2 + 3 }, { n: 5003, binding: 4096 }, { n: 2 * 256 * 65_535 + 1001 }];
  for (const { n, binding } of cases) {
    it(`${n} values${binding ? ` in chunks of a ${binding}-byte binding` : ''}`, async () => {
      const whole = await testRuntime();
      const rt = binding ? whole.withBindingLimit(binding) : whole;
      // Normalized pixels lie within about ±3; a few larger and tiny values too.
      const values = random(n, n, 3);
      values[0] = 1e-5;
      if (n > 2) values[1] = -1000.25;
      const x = rt.upload('values', values);
      const packed = rt.buffer('packed', packedWords(n) * 4);
      const steps = packF16(rt, 'pack', x, packed, n);
      expect(steps.length > 1).toBe(x.size > rt.limits.binding);
      if (binding) expect(steps).toHaveLength(6); // 896 values a chunk
      rt.device.queue.submit([rt.encode(steps).finish()]);
      const read = await rt.read(packed, packedWords(n) * 4);
      const words = read.buffer.slice(read.byteOffset, read.byteOffset + read.byteLength) as ArrayBuffer;
      const got = unpackF16(words, n);
      if (n % 2) expect(new Uint16Array(words)[n]).toBe(0);
      // Every value of small cases; of the large one, a sample and everything from just before the second row of workgroups on.
      const rowStart = 2 * 256 * 65_535;
      const checked = (i: number) => n < 100_000 || i % 1009 === 0 || i >= rowStart - 600;
      let worst = 0;
      for (let i = 0; i < n; i++) {
        if (!checked(i)) continue;
        // WGSL leaves f16 rounding to the implementation (nearest or toward zero): within one f16 ulp of the CPU's.
        const reference = halfToFloat(floatToHalf(values[i]));
        const ulp = 2 ** (Math.floor(Math.log2(Math.max(Math.abs(reference), 2 ** -14))) - 10);
        worst = Math.max(worst, Math.abs(got[i] - reference) / ulp);
      }
      expect(worst).toBeLessThanOrEqual(1);
      rt.destroy();
      whole.destroy();
    }, 120_000);
  }
});
