import { describe, expect, it } from 'vitest';
import { checkMaps, spatialFrame, spatialQuery, temporalPatch } from '../../src/attention/maps';
import { randomMaps } from './maps';

describe('attention map slices', () => {
  const maps = randomMaps(3, 4, 2, 2, 3);
  const N = 6;

  it('picks one head of one frame from [L, T, H, N]', () => {
    const got = spatialFrame(maps, 2, 1, 1);
    const o = ((2 * 4 + 1) * 2 + 1) * N;
    expect(Array.from(got)).toEqual(Array.from(maps.spatialCls.slice(o, o + N)));
  });

  it('averages over heads', () => {
    const mean = spatialFrame(maps, 1, 3, 'mean');
    const h0 = spatialFrame(maps, 1, 3, 0);
    const h1 = spatialFrame(maps, 1, 3, 1);
    for (let p = 0; p < N; p++) expect(mean[p]).toBeCloseTo((h0[p] + h1[p]) / 2, 6);
  });

  it('picks a [T, T] temporal block from [L, N, H, T, T]', () => {
    const got = temporalPatch(maps, 1, 5, 0)!;
    const o = ((1 * N + 5) * 2 + 0) * 16;
    expect(Array.from(got)).toEqual(Array.from(maps.temporal.slice(o, o + 16)));
    const mean = temporalPatch(maps, 1, 5, 'mean')!;
    for (let tq = 0; tq < 4; tq++) {
      const row = mean.slice(tq * 4, tq * 4 + 4).reduce((s, v) => s + v, 0);
      expect(row).toBeCloseTo(1, 5); // softmax rows stay rows after averaging
    }
  });

  it('falls back to the head mean when only that came back, and says so when a head is missing', () => {
    const mean = temporalPatch(maps, 2, 3, 'mean')!;
    const meanOnly = { ...maps, temporal: new Float32Array(0), temporalMean: new Float32Array(3 * N * 16) };
    for (let l = 0; l < 3; l++) for (let p = 0; p < N; p++) meanOnly.temporalMean.set(temporalPatch(maps, l, p, 'mean')!, (l * N + p) * 16);
    expect(Array.from(temporalPatch(meanOnly, 2, 3, 'mean')!)).toEqual(Array.from(mean));
    expect(temporalPatch(meanOnly, 2, 3, 1)).toBeUndefined();
  });

  it('gives a query patch its spatial row within its frame (divided: [L, T, H, 1+N, 1+N])', () => {
    const q = spatialQuery(maps, 1, { frame: 2, patch: 4 }, 1)!;
    const o = (((1 * 4 + 2) * 2 + 1) * 7 + 1 + 4) * 7; // layer 1, frame 2, head 1, query row 1 + 4
    expect(q.cls).toBe(maps.spatial[o]);
    expect(Array.from(q.frames[2]!)).toEqual(Array.from(maps.spatial.slice(o + 1, o + 7)));
    expect(q.frames.filter((f) => f === null)).toHaveLength(3); // only its own frame
    expect(spatialQuery({ ...maps, spatial: new Float32Array(0) }, 1, { frame: 2, patch: 4 }, 1)).toBeUndefined();
  });

  it('rejects arrays that do not match the header', () => {
    expect(() => checkMaps(maps)).not.toThrow();
    expect(() => checkMaps({ ...maps, heads: 3 })).toThrow(/spatialCls has 144 values/);
    expect(() => checkMaps({ ...maps, temporal: new Float32Array(7) })).toThrow(/temporal has 7 values/);
    expect(() => checkMaps({ ...maps, spatial: new Float32Array(9) })).toThrow(/spatial has 9 values/);
  });
});
