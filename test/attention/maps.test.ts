import { describe, expect, it } from 'vitest';
import { checkMaps, hasTemporal, keptSlices, spatialFrame, spatialQuery, temporalPatch, type FetchedAttention } from '../../src/attention/maps';
import type { AttentionSlice } from '../../src/engine/timesformer';
import type { AttentionMaps } from '../../src/model/attention-maps';
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

  /**
   * What the engine keeps on the GPU, by name, cut from maps that came back whole (per layer the same layout:
   * `attn.l.temporal` [N, H, T, T], `attn.l.spatial` / `attn.l.full` [Q, H, len, len]), and the rows read from it.
   */
  function readKept(whole: AttentionMaps, kind: 'spatial' | 'full', slices: AttentionSlice[]): Float32Array[] {
    const L = whole.layers;
    const tensor = (name: string) => {
      const [, l, what] = /^attn\.(\d+)\.(\w+)$/.exec(name)!;
      const all = what === 'temporal' ? whole.temporal : what === kind ? whole.spatial : undefined;
      if (!all) throw new Error(`${name} is not kept`);
      return all.subarray((Number(l) * all.length) / L, ((Number(l) + 1) * all.length) / L);
    };
    return slices.map((s) => tensor(s.name).slice(s.offset, s.offset + s.count));
  }
  function fetchInto(kept: AttentionMaps, whole: AttentionMaps, kind: 'spatial' | 'full', layer: number, query: { frame: number; patch: number }, fetched: Map<string, Float32Array>) {
    for (const { key, slices } of keptSlices(kept, layer, query, fetched)) {
      const parts = readKept(whole, kind, slices);
      const block = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
      parts.reduce((at, p) => (block.set(p, at), at + p.length), 0);
      fetched.set(key, block);
    }
  }

  it('reads the rows of a picked patch that stayed on the GPU, and draws them as the ones read back (divided)', () => {
    const kept: AttentionMaps = { ...maps, temporal: new Float32Array(0), spatial: new Float32Array(0), spatialHeads: false, kept: { token: 1, attentionType: 'divided_space_time' } };
    const query = { frame: 2, patch: 4 };
    const fetched = new Map<string, Float32Array>();
    expect(hasTemporal(kept, 1, 4, fetched)).toBe(false);
    expect(spatialQuery(kept, 1, query, 1, fetched)).toBeUndefined();
    // Its [H, T, T] temporal block and one spatial row per head: nothing else.
    expect(keptSlices(kept, 1, query, fetched)).toEqual([
      { key: 'temporal 1 4', slices: [{ name: 'attn.1.temporal', offset: 4 * 2 * 16, count: 2 * 16 }] },
      { key: 'spatial 1 2 4', slices: [0, 1].map((h) => ({ name: 'attn.1.spatial', offset: ((2 * 2 + h) * 7 + 1 + 4) * 7, count: 7 })) },
    ]);
    fetchInto(kept, maps, 'spatial', 1, query, fetched);
    expect(keptSlices(kept, 1, query, fetched)).toEqual([]);
    expect(hasTemporal(kept, 1, 4, fetched)).toBe(true);
    for (const head of [1, 'mean'] as const) {
      expect(temporalPatch(kept, 1, 4, head, fetched)).toEqual(temporalPatch(maps, 1, 4, head));
      expect(spatialQuery(kept, 1, query, head, fetched)).toEqual(spatialQuery(maps, 1, query, head));
    }
    // Another layer's rows are not there yet; maps without `kept` ask for nothing.
    expect(temporalPatch(kept, 2, 4, 0, fetched)).toBeUndefined();
    expect(keptSlices({ ...kept, kept: undefined }, 2, query, fetched)).toEqual([]);
  });

  it('reads a joint query row over every frame ([L, 1, H, 1+N·T, 1+N·T])', () => {
    const L = 2, T = 4, H = 2, N = 6, len = 1 + N * T;
    const joint: AttentionMaps = { ...randomMaps(L, T, H, 2, 3, 2, false), spatial: randomMaps(L * H, 1, 1, 1, len - 1, 3, false).spatial };
    expect(() => checkMaps(joint)).not.toThrow();
    const kept: AttentionMaps = { ...joint, spatial: new Float32Array(0), spatialHeads: false, kept: { token: 1, attentionType: 'joint_space_time' } };
    const query = { frame: 3, patch: 5 };
    const fetched = new Map<string, Float32Array>();
    expect(keptSlices(kept, 1, query, fetched)).toEqual([{ key: 'spatial 1 3 5', slices: [0, 1].map((h) => ({ name: 'attn.1.full', offset: (h * len + 1 + 5 * T + 3) * len, count: len })) }]);
    fetchInto(kept, joint, 'full', 1, query, fetched);
    for (const head of [0, 'mean'] as const) expect(spatialQuery(kept, 1, query, head, fetched as FetchedAttention)).toEqual(spatialQuery(joint, 1, query, head));
  });

  it('rejects arrays that do not match the header', () => {
    expect(() => checkMaps(maps)).not.toThrow();
    expect(() => checkMaps({ ...maps, heads: 3 })).toThrow(/spatialCls has 144 values/);
    expect(() => checkMaps({ ...maps, temporal: new Float32Array(7) })).toThrow(/temporal has 7 values/);
    expect(() => checkMaps({ ...maps, spatial: new Float32Array(9) })).toThrow(/spatial has 9 values/);
  });
});
