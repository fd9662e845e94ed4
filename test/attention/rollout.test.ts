import { describe, expect, it } from 'vitest';
import { spatialFrame, temporalPatch } from '../../src/attention/maps';
import { rollout, type AttentionType } from '../../src/attention/rollout';
import type { AttentionMaps } from '../../src/worker/protocol';
import { randomMaps } from './maps';

/** Dense square matrices, row-major. */
type Matrix = Float64Array[];
const identity = (n: number): Matrix => Array.from({ length: n }, (_, i) => Float64Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
const multiply = (a: Matrix, b: Matrix): Matrix =>
  a.map((row) => {
    const out = new Float64Array(b.length);
    row.forEach((v, k) => b[k].forEach((w, j) => (out[j] += v * w)));
    return out;
  });

/**
 * The rollout the doc comment of rollout() describes, built the slow way: every sub-layer as a dense
 * token × token matrix (CLS tokens first, then patch (p, t) at C + t·N + p), multiplied out.
 */
function denseRollout(maps: AttentionMaps, type: AttentionType): { patches: number[]; cls: number } {
  const { layers: L, frames: T, heads: H } = maps;
  const N = maps.grid[0] * maps.grid[1];
  const C = type === 'space_only' ? T : 1;
  const size = C + T * N;
  let total = identity(size);
  for (let l = 0; l < L; l++) {
    const space = identity(size).map((row) => row.map((v) => 0.5 * v));
    for (let i = C; i < size; i++) space[i][i] = 1; // patch rows: identity (not recorded)
    for (let t = 0; t < T; t++) {
      const a = spatialFrame(maps, l, t, 'mean');
      const c = type === 'space_only' ? t : 0;
      const share = type === 'divided_space_time' ? 1 / T : 1;
      for (let p = 0; p < N; p++) space[c][C + t * N + p] += 0.5 * share * a[p];
    }
    for (let c = 0; c < C; c++) {
      const given = space[c].slice(C).reduce((s, v) => s + v, 0) * 2; // Σ share·a
      space[c][c] = 0.5 + 0.5 * (1 - given);
    }
    const time = identity(size);
    if (type === 'divided_space_time') {
      for (let p = 0; p < N; p++) {
        const a = temporalPatch(maps, l, p, 'mean');
        for (let tq = 0; tq < T; tq++) {
          for (let tk = 0; tk < T; tk++) time[C + tq * N + p][C + tk * N + p] = 0.5 * (tq === tk ? 1 : 0) + 0.5 * a[tq * T + tk];
        }
      }
    }
    // Layer l runs time then space: out = R_space · R_time · in; later layers multiply on the left.
    total = multiply(multiply(space, time), total);
  }
  const start = new Float64Array(size);
  for (let c = 0; c < C; c++) start[c] = 1 / C;
  const row = multiply([start], total)[0];
  return { patches: Array.from(row.slice(C)), cls: row.slice(0, C).reduce((s, v) => s + v, 0) };
}

describe('rollout', () => {
  for (const type of ['divided_space_time', 'joint_space_time', 'space_only'] as const) {
    it(`equals the dense matrix product it describes (${type})`, () => {
      const maps = randomMaps(3, 3, 2, 2, 3, 7, type === 'divided_space_time');
      // Joint: one softmax over all frames' patches, so the CLS's weights over (t, p) sum to 0.8, not 0.8·T.
      if (type === 'joint_space_time') maps.spatialCls.forEach((v, i) => (maps.spatialCls[i] = v / 3));
      const got = rollout(maps, type);
      const want = denseRollout(maps, type);
      expect(got.cls).toBeCloseTo(want.cls, 6);
      got.patches.forEach((v, i) => expect(v, `token ${i}`).toBeCloseTo(want.patches[i], 6));
    });
  }

  it('conserves the total weight (rows of every step sum to 1)', () => {
    const maps = randomMaps(4, 8, 3, 4, 4, 3);
    const { patches, cls } = rollout(maps, 'divided_space_time');
    expect(patches.reduce((s, v) => s + v, 0) + cls).toBeCloseTo(1, 5);
    expect(Math.min(...patches)).toBeGreaterThanOrEqual(0);
  });

  it('through layer 0 alone, without temporal attention, is the CLS attention of layer 0, halved', () => {
    const maps = randomMaps(2, 4, 2, 3, 3, 11, false);
    const { patches } = rollout(maps, 'space_only', 0);
    for (let t = 0; t < 4; t++) {
      const a = spatialFrame(maps, 0, t, 'mean');
      for (let p = 0; p < 9; p++) expect(patches[t * 9 + p]).toBeCloseTo((0.5 * a[p]) / 4, 6);
    }
  });

  it('spreads weight in time through the temporal maps', () => {
    // Layer 1's CLS looks only at frame 0; layer 0's temporal attention moves everything to frame 2.
    const maps = randomMaps(2, 3, 1, 1, 2, 5);
    maps.spatialCls.fill(0);
    maps.spatialCls.set([1, 0], (1 * 3 + 0) * 2); // layer 1, frame 0: all on patch 0
    maps.temporal.fill(0);
    for (let p = 0; p < 2; p++) for (let tq = 0; tq < 3; tq++) maps.temporal[((0 * 2 + p) * 1) * 9 + tq * 3 + 2] = 1; // layer 0: every query → frame 2
    for (let p = 0; p < 2; p++) for (let tq = 0; tq < 3; tq++) maps.temporal[((1 * 2 + p) * 1) * 9 + tq * 3 + tq] = 1; // layer 1: identity
    const { patches, cls } = rollout(maps, 'divided_space_time');
    // CLS gives ½·1/3 to (p0, t0) at layer 1; layer 0's temporal step keeps half of it there and moves half to t2.
    expect(patches[0 * 2 + 0]).toBeCloseTo(1 / 12, 6);
    expect(patches[2 * 2 + 0]).toBeCloseTo(1 / 12, 6);
    expect(patches[1 * 2 + 0]).toBeCloseTo(0, 6);
    expect(cls).toBeCloseTo(1 - 1 / 6, 6);
  });

  it('checks its arguments', () => {
    const maps = randomMaps(2, 2, 1, 2, 2, 1, false);
    expect(() => rollout(maps, 'divided_space_time')).toThrow(/temporal maps/);
    expect(() => rollout(maps, 'joint_space_time', 2)).toThrow(/outside 0..1/);
  });
});
