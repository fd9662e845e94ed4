// The dense rollout reference on cases small enough to work out by hand.
import { describe, expect, it } from 'vitest';
import { denseRollout, discardLowest, fuseHeads } from '../../src/reference/rollout';
import type { NamedTensors } from '../../src/tensor';

const tensors = (entries: [string, number[], number[]][]): NamedTensors => new Map(entries.map(([name, shape, data]) => [name, { shape, data: Float32Array.from(data) }]));

describe('dense rollout reference', () => {
  it('divided, T = 2, one patch, one head: r = e₀ · A′_spatial · A′_temporal as worked out by hand', () => {
    const [a, b, c0, c1, d0, d1] = [0.7, 0.2, 0.4, 0.9, 0.3, 0.6];
    // Tokens: CLS, (p0, t0), (p0, t1). Temporal: patch 0's 2×2 matrix; spatial: each frame's [CLS, patch] 2×2.
    const probs = tensors([
      ['attn.0.temporal', [1, 1, 2, 2], [a, 1 - a, b, 1 - b]],
      ['attn.0.spatial', [2, 1, 2, 2], [c0, 1 - c0, d0, 1 - d0, c1, 1 - c1, d1, 1 - d1]],
    ]);
    const r = denseRollout(probs, { attentionType: 'divided_space_time', layers: 1, frames: 2, patches: 1, heads: 1 }, { fusion: 'mean', discard: 0 }).final;
    // CLS row of A′_spatial: ½·e₀ + ½·(mean_t c_t, (1 − c0)/2, (1 − c1)/2); temporal keeps the CLS and mixes the patch's frames.
    const s = [0.5 + 0.25 * (c0 + c1), 0.25 * (1 - c0), 0.25 * (1 - c1)];
    const want = [s[0], s[1] * (0.5 + 0.5 * a) + s[2] * 0.5 * b, s[1] * 0.5 * (1 - a) + s[2] * (0.5 + 0.5 * (1 - b))];
    want.forEach((v, i) => expect(r[i], `token ${i}`).toBeCloseTo(v, 6));
  });

  it('joint, one layer: the CLS row of rownorm(½·I + ½·F), as vit-explain composes it', () => {
    const probs = tensors([['attn.0.full', [1, 2, 3, 3], [0.2, 0.3, 0.5, 0.1, 0.1, 0.8, 0.3, 0.3, 0.4, 0.6, 0.2, 0.2, 0.5, 0.5, 0, 0, 0, 1]]]);
    const geometry = { attentionType: 'joint_space_time' as const, layers: 1, frames: 2, patches: 1, heads: 2 };
    // max over heads of row 0: [0.6, 0.3, 0.5], sum 1.4; ½·I + ½·F → [0.8, 0.15, 0.25] / 1.2
    const max = denseRollout(probs, geometry, { fusion: 'max', discard: 0 }).final;
    [0.8 / 1.2, 0.15 / 1.2, 0.25 / 1.2].forEach((v, i) => expect(max[i]).toBeCloseTo(v, 6));
    // min of row 0: [0.2, 0.2, 0.2] → [0.6, 0.1, 0.1] / 0.8
    const min = denseRollout(probs, geometry, { fusion: 'min', discard: 0 }).final;
    [0.75, 0.125, 0.125].forEach((v, i) => expect(min[i]).toBeCloseTo(v, 6));
  });

  it('discard drops the ⌊ratio·n⌋ lowest entries of each fused matrix, every tie at the cut, never the CLS→CLS entry', () => {
    const m = Float64Array.from([0.01, 0.5, 0.2, 0.2, 0.05, 0.3, 0.9, 0.02, 0.4]); // one 3×3 matrix
    discardLowest(m, 1, 3, 0.4, true); // k = 3: the three lowest are 0.01 (kept: CLS→CLS), 0.02, 0.05
    expect(Array.from(m)).toEqual([0.01, 0.5, 0.2, 0.2, 0, 0.3, 0.9, 0, 0.4]);
    const ties = Float64Array.from([0.3, 0.2, 0.2, 0.2, 0.1, 0.5, 0.6, 0.7, 0.8]);
    discardLowest(ties, 1, 3, 0.2, false); // k = 1 ... the cut is 0.1; k = 2 would reach the 0.2s, and drop all three
    expect(Array.from(ties)).toEqual([0.3, 0.2, 0.2, 0.2, 0, 0.5, 0.6, 0.7, 0.8]);
    discardLowest(ties, 1, 3, 0.25, false);
    expect(Array.from(ties)).toEqual([0.3, 0, 0, 0, 0, 0.5, 0.6, 0.7, 0.8]);
    expect(() => discardLowest(ties, 1, 3, 1, false)).toThrow(/outside \[0, 1\)/);
  });

  it('fuses heads by mean, max and min', () => {
    const probs = Float32Array.from([0.5, 0.5, 0.25, 0.75, 1, 0, 0.75, 0.25]); // 2 heads of a 2×2 matrix
    expect(Array.from(fuseHeads(probs, 1, 2, 2, 'mean'))).toEqual([0.75, 0.25, 0.5, 0.5]);
    expect(Array.from(fuseHeads(probs, 1, 2, 2, 'max'))).toEqual([1, 0.5, 0.75, 0.75]);
    expect(Array.from(fuseHeads(probs, 1, 2, 2, 'min'))).toEqual([0.5, 0, 0.25, 0.25]);
  });
});
