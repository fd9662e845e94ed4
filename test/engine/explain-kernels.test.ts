// The kernels the backward pass adds beside backward-kernels.test.ts's: the relevance step (against the CPU
// relevance of src/reference/relevance.ts, one layer of random probabilities and signed gradients), col2im,
// and rowMean's sum and share (the divided spatial CLS's gradient), on awkward shapes.
import { describe, expect, it } from 'vitest';
import type { AttentionType } from '../../src/checkpoint/config';
import { rolloutLayout } from '../../src/engine/kernels/rollout';
import { col2im } from '../../src/engine/kernels/patch-embed';
import { relevanceStep } from '../../src/engine/kernels/relevance';
import { rowMean } from '../../src/engine/kernels/row-mean';
import { relevance } from '../../src/reference/relevance';
import type { NamedTensors } from '../../src/tensor';
import { awkwardCounts, maxAbsDiff, random, runAndRead, sequenceParts, testRuntime } from '../gpu';

describe('relevanceStep: r ← r + r·E for each sub-layer, last first', () => {
  const cases: [AttentionType, number, number, number][] = [['divided_space_time', 3, 5, 3], ['divided_space_time', 1, 7, 2], ['joint_space_time', 2, 3, 5], ['space_only', 3, 5, 3]];
  for (const [[type, T, N, H], inParts] of cases.flatMap((c) => [[c, false], [c, true]] as const)) {
    // In parts: each sub-layer's probabilities and gradients in parts of 1, 2, … whole sequences, a dispatch per part.
    it(`${type} T=${T} N=${N} H=${H}, two layers${inParts ? ', in parts of whole sequences' : ''}`, async () => {
      const rt = await testRuntime();
      const layers = 2;
      const { vector, subLayers } = rolloutLayout(type, layers, H, T, N);
      const kinds = type === 'divided_space_time' ? ['temporal', 'spatial'] : ['full'];
      const probs: NamedTensors = new Map(), grads: NamedTensors = new Map();
      const start = new Float32Array(vector.size);
      for (const i of vector.starts) start[i] = 1;
      const vectors = [rt.upload('a', start), rt.buffer('b', vector.size * 4)];
      const steps = [];
      let cur = 0;
      for (let l = layers - 1; l >= 0; l--) {
        for (let k = kinds.length - 1; k >= 0; k--) {
          const u = subLayers[k], shape = [u.seqs, H, u.len, u.len], n = shape.reduce((x, y) => x * y);
          const p = random(n, 10 * l + k, 0.5).map(Math.abs), g = random(n, 20 * l + k + 3, 2);
          probs.set(`attn.${l}.${kinds[k]}`, { shape, data: p });
          grads.set(`attn.${l}.${kinds[k]}`, { shape, data: g });
          const counts = inParts ? awkwardCounts(u.seqs) : [u.seqs], seqFloats = H * u.len * u.len;
          const args = { probs: sequenceParts(rt, 'p', seqFloats, counts, p), grads: sequenceParts(rt, 'g', seqFloats, counts, g) };
          steps.push(...relevanceStep(rt, `L${l} ${kinds[k]}`, { ...args, rIn: vectors[cur], rOut: vectors[1 - cur], len: u.len, heads: H, map: u.map, passThrough: u.passThrough }));
          cur = 1 - cur;
        }
      }
      const got = await runAndRead(rt, steps, vectors[cur], vector.size);
      const want = relevance(probs, grads, { attentionType: type, layers, frames: T, patches: N, heads: H });
      expect(want.data.length).toBe(vector.size);
      expect(maxAbsDiff(got, want.data)).toBeLessThan(2e-6 * Math.max(...want.data.map(Math.abs)));
      rt.destroy();
    });
  }
});

describe('col2im and the CLS gradient rows', () => {
  it('col2im puts each patch element back at its pixel, 0 outside the grid (13×10 frames of 4×4 patches), in each row order', async () => {
    const rt = await testRuntime();
    const T = 2, H = 13, W = 10, P = 4, gh = 3, gw = 2, N = gh * gw, K = 3 * P * P;
    // im2col's (t, p) order; the (p, t) token order; frames of 1 + N rows (a CLS row between them).
    for (const rows of [undefined, { frameStride: 1, patchStride: T }, { frameStride: N + 1, patchStride: 1 }]) {
      const { frameStride, patchStride } = rows ?? { frameStride: N, patchStride: 1 };
      const patches = random((T * (N + 1)) * K, 3);
      const pixels = rt.upload('stale', random(T * 3 * H * W, 4)); // every pixel is written
      const got = await runAndRead(rt, [col2im(rt, 'col2im', rt.upload('patches', patches), pixels, T, H, W, P, rows)], pixels, T * 3 * H * W);
      const want = new Float32Array(T * 3 * H * W);
      for (let t = 0; t < T; t++)
        for (let r = 0; r < gh; r++)
          for (let c = 0; c < gw; c++)
            for (let ch = 0; ch < 3; ch++)
              for (let y = 0; y < P; y++) for (let x = 0; x < P; x++) want[((t * 3 + ch) * H + r * P + y) * W + c * P + x] = patches[(t * frameStride + (r * gw + c) * patchStride) * K + (ch * P + y) * P + x];
      expect(got, JSON.stringify(rows)).toEqual(want);
    }
  });

  it('rowMean with scale 1 sums strided rows; with count 1 it scales a row in place', async () => {
    const rt = await testRuntime();
    const D = 37, x = random(12 * D, 9);
    const buf = rt.upload('x', x);
    const out = await runAndRead(rt, [rowMean(rt, 'sum', buf, D, 3, 5 * D, 2 * D, 0, 1), rowMean(rt, 'share', buf, D, 1, D, D, D, 1 / 3)], buf, 12 * D);
    const sum = new Float32Array(D).map((_, c) => x[5 * D + c] + x[7 * D + c] + x[9 * D + c]);
    expect(maxAbsDiff(out.subarray(0, D), sum)).toBeLessThan(1e-6);
    expect(maxAbsDiff(out.subarray(D, 2 * D), x.subarray(D, 2 * D).map((v) => v / 3))).toBeLessThan(1e-7);
    expect(out.subarray(2 * D)).toEqual(x.subarray(2 * D));
  });
});
