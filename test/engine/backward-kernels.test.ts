// The backward kernels against the CPU reference backward ops (src/reference/ops-backward.ts), on awkward
// shapes (not multiples of any tile), with offsets and strides, and through the forward attention's token maps.
import { describe, expect, it } from 'vitest';
import { floatToHalf, halfToFloat } from '../../src/checkpoint/tensor';
import type { TokenMap } from '../../src/engine/kernels/attention';
import { attentionBackward } from '../../src/engine/kernels/attention-backward';
import { packLinear } from '../../src/engine/kernels/gemm';
import { GEMM_TRANSPOSED_TUNING, GEMM_TRANSPOSED_VARIANTS, gemmTransposed } from '../../src/engine/kernels/gemm-transposed';
import { LAYER_NORM_VARIANTS } from '../../src/engine/kernels/layernorm';
import { layerNormBackward } from '../../src/engine/kernels/layernorm-backward';
import { attention } from '../../src/reference/ops';
import * as cpu from '../../src/reference/ops-backward';
import { awkwardCounts, maxAbsDiff, random, readParts, runAndRead, sequenceParts, testDevice, testRuntime } from '../gpu';

const { features } = await testDevice();

describe('gemmTransposed: dX = dY·Wᵀ against the packed weight', () => {
  const shapes: [number, number, number][] = [[1, 1, 1], [5, 3, 7], [6, 12, 5], [17, 10, 33], [65, 64, 8], [70, 130, 257], [129, 66, 21]];
  for (const [variant, dtype] of GEMM_TRANSPOSED_VARIANTS.flatMap((v) => (['f32', 'f16'] as const).map((d) => [v, d] as const))) {
    for (const [M, N, K] of shapes) {
      it(`${variant} ${dtype} M=${M} N=${N} K=${K} with offsets and strides, set and accumulate`, async () => {
        const rt = await testRuntime();
        // N, ldy and yOffset multiples of 4 take the vec4 dY path.
        const ldy = N % 4 === 0 ? N + 4 : N + 3, ldx = K + 2, yOffset = N % 4 === 0 ? 8 : 5, xOffset = 3;
        const bits = Uint16Array.from(random(N * K, N * 3 + K), floatToHalf);
        const w = dtype === 'f16' ? Float32Array.from(bits, halfToFloat) : random(N * K, N * 3 + K);
        const linear = packLinear(rt, 'w', dtype === 'f16' ? bits : w, N, K);
        const dyAll = random(yOffset + M * ldy, M + 7);
        const dy = new Float32Array(M * N);
        for (let m = 0; m < M; m++) dy.set(dyAll.subarray(yOffset + m * ldy, yOffset + m * ldy + N), m * N);
        const want = cpu.linearBackward(dy, M, N, w, K);
        const before = random(xOffset + M * ldx, 99);
        for (const accumulate of [false, true]) {
          const dx = rt.upload('dx', before);
          const out = await runAndRead(rt, [gemmTransposed(rt, 'dX', { dy: rt.upload('dy', dyAll), M, yOffset, ldy, linear, dx, xOffset, ldx, accumulate }, variant)], dx, xOffset + M * ldx);
          const got = new Float32Array(M * K), expected = want.slice();
          for (let m = 0; m < M; m++) {
            got.set(out.subarray(xOffset + m * ldx, xOffset + m * ldx + K), m * K);
            if (accumulate) for (let k = 0; k < K; k++) expected[m * K + k] += before[xOffset + m * ldx + k];
            // Padding between rows is left as it was.
            expect(out.subarray(xOffset + m * ldx + K, xOffset + (m + 1) * ldx)).toEqual(before.subarray(xOffset + m * ldx + K, xOffset + (m + 1) * ldx));
          }
          expect(maxAbsDiff(got, expected), `accumulate ${accumulate}`).toBeLessThan(2e-6 * Math.sqrt(N) + 1e-6);
        }
        rt.destroy();
      });
    }
  }

  it('its tuning trial accepts every variant on an awkward shape and rejects a wrong output', async () => {
    const rt = await testRuntime();
    const shape = { M: 37, N: 70, K: 21, dtype: 'f16' as const };
    const setUp = GEMM_TRANSPOSED_TUNING.trial(rt, shape);
    for (const variant of GEMM_TRANSPOSED_TUNING.candidates(rt.gpu, shape)) {
      const scope = rt.scope();
      const trial = setUp(scope, variant);
      scope.device.queue.submit([scope.encode(trial.steps).finish()]);
      expect(await trial.check(), variant).toBeUndefined();
      scope.destroy();
    }
    // A kernel that wrote nothing (dX left at 0) is caught.
    const scope = rt.scope();
    expect(await setUp(scope, 'registers').check()).toMatch(/^row 0 column \d+: \|error\|/);
    scope.destroy();
    rt.destroy();
  });
});

describe('layerNormBackward', () => {
  for (const variant of LAYER_NORM_VARIANTS.filter((v) => v !== 'subgroups' || features.subgroups)) {
    for (const D of [1, 37, 200]) {
      it(`${variant}: D=${D}, strided rows, set and accumulate`, async () => {
        const rt = await testRuntime();
        const rows = 70, xStride = D + 5, dyStride = D + 1, dxStride = D + 3; // more than a workgroup of rows (the variant of a thread per row)
        const x = random(2 + rows * xStride, D, 3).map((v, i) => v + (i % 11));
        const dy = random(4 + rows * dyStride, D + 1), gamma = random(D, D + 2, 2);
        const xs = new Float32Array(rows * D), dys = new Float32Array(rows * D);
        for (let r = 0; r < rows; r++) {
          xs.set(x.subarray(2 + r * xStride, 2 + r * xStride + D), r * D);
          dys.set(dy.subarray(4 + r * dyStride, 4 + r * dyStride + D), r * D);
        }
        const want = cpu.layerNormBackward(xs, dys, rows, D, gamma, 1e-6);
        const before = random(rows * dxStride, 5);
        for (const accumulate of [false, true]) {
          const dx = rt.upload('dx', before);
          const step = layerNormBackward(rt, 'ln back', { x: rt.upload('x', x), gamma: rt.upload('g', gamma), dy: rt.upload('dy', dy), dx, rows, D, eps: 1e-6, xOffset: 2, xStride, dyOffset: 4, dyStride, dxStride, accumulate }, variant);
          const out = await runAndRead(rt, [step], dx, rows * dxStride);
          const got = new Float32Array(rows * D), expected = want.slice();
          for (let r = 0; r < rows; r++) {
            got.set(out.subarray(r * dxStride, r * dxStride + D), r * D);
            if (accumulate) for (let i = 0; i < D; i++) expected[r * D + i] += before[r * dxStride + i];
          }
          expect(maxAbsDiff(got, expected), `accumulate ${accumulate}`).toBeLessThan(2e-5);
        }
        rt.destroy();
      });
    }
  }
});

describe('gemmTransposed with the GELU′ epilogue: dX = (dY·Wᵀ)·GELU′(x)', () => {
  for (const variant of GEMM_TRANSPOSED_VARIANTS) {
    for (const [M, N, K] of [[5, 3, 7], [70, 130, 257]] as const) {
      it(`${variant} M=${M} N=${N} K=${K}, x in [-6, 6] laid out as dX`, async () => {
        const rt = await testRuntime();
        const ldx = K + 2, xOffset = 3;
        const w = random(N * K, 31), dy = random(M * N, 32), xAll = random(xOffset + M * ldx, 33, 6);
        const x = new Float32Array(M * K);
        for (let m = 0; m < M; m++) x.set(xAll.subarray(xOffset + m * ldx, xOffset + m * ldx + K), m * K);
        const plain = cpu.linearBackward(dy, M, N, w, K);
        const dx = rt.upload('dx', random(xOffset + M * ldx, 34));
        const step = gemmTransposed(rt, 'dX', { dy: rt.upload('dy', dy), M, linear: packLinear(rt, 'w', w, N, K), dx, xOffset, ldx, geluInput: rt.upload('x', xAll) }, variant);
        const out = await runAndRead(rt, [step], dx, xOffset + M * ldx);
        const got = new Float32Array(M * K);
        for (let m = 0; m < M; m++) got.set(out.subarray(xOffset + m * ldx, xOffset + m * ldx + K), m * K);
        // The GEMM's bound (above) scaled by GELU′ ≤ 1.13, and GELU′'s own 1e-6 relative to the product.
        const bound = 1.13 * (2e-6 * Math.sqrt(N) + 1e-6) + 1e-6 * Math.max(...plain.map(Math.abs));
        expect(maxAbsDiff(got, cpu.geluBackward(x, plain))).toBeLessThan(bound);
        rt.destroy();
      });
    }
  }
});

describe('attentionBackward through the token maps', () => {
  // T frames, N patches: rows 0 = CLS, 1 + p·T + t = patch (p, t), as the forward's buffers.
  const T = 3, N = 5, rows = 1 + N * T;
  const cases: { name: string; seqs: number; len: number; heads: number; D: number; input: TokenMap; context: TokenMap; grad: TokenMap; gradRows: number; contextRows: number }[] = [
    {
      name: 'temporal (N sequences of T tokens)', seqs: N, len: T, heads: 3, D: 12, gradRows: rows, contextRows: rows,
      input: { hasCls: false, clsBase: 0, clsStride: 0, rowBase: 1, seqStride: T, tokenStride: 1 },
      context: { hasCls: false, clsBase: 0, clsStride: 0, rowBase: 1, seqStride: T, tokenStride: 1 },
      grad: { hasCls: false, clsBase: 0, clsStride: 0, rowBase: 1, seqStride: T, tokenStride: 1 },
    },
    {
      // The shared CLS row is read by every frame; its context and its gradient get one row per frame (after the patches).
      name: 'spatial (T sequences [shared CLS, frame t]), heads of 8', seqs: T, len: 1 + N, heads: 2, D: 16, gradRows: rows + T, contextRows: rows + T,
      input: { hasCls: true, clsBase: 0, clsStride: 0, rowBase: 1, seqStride: 1, tokenStride: T },
      context: { hasCls: true, clsBase: rows, clsStride: 1, rowBase: 1, seqStride: 1, tokenStride: T },
      grad: { hasCls: true, clsBase: rows, clsStride: 1, rowBase: 1, seqStride: 1, tokenStride: T },
    },
    {
      name: 'joint (one sequence of 1 + N·T)', seqs: 1, len: rows, heads: 1, D: 4, gradRows: rows, contextRows: rows,
      input: { hasCls: false, clsBase: 0, clsStride: 0, rowBase: 0, seqStride: 0, tokenStride: 1 },
      context: { hasCls: false, clsBase: 0, clsStride: 0, rowBase: 0, seqStride: 0, tokenStride: 1 },
      grad: { hasCls: false, clsBase: 0, clsStride: 0, rowBase: 0, seqStride: 0, tokenStride: 1 },
    },
  ];
  const row = (m: TokenMap, s: number, j: number) => (m.hasCls && j === 0 ? m.clsBase + s * m.clsStride : m.rowBase + s * m.seqStride + (j - (m.hasCls ? 1 : 0)) * m.tokenStride);

  for (const c of cases) {
    it(c.name, async () => {
      const rt = await testRuntime();
      const { seqs, len, heads, D } = c;
      const qkv = random(rows * 3 * D, D + len, 1.5), dContext = random(c.contextRows * D, 7);
      // The CPU reference on the sequences gathered into contiguous [seqs, len, ·] rows.
      const qkvSeq = new Float32Array(seqs * len * 3 * D), dcSeq = new Float32Array(seqs * len * D);
      for (let s = 0; s < seqs; s++)
        for (let j = 0; j < len; j++) {
          qkvSeq.set(qkv.subarray(row(c.input, s, j) * 3 * D, (row(c.input, s, j) + 1) * 3 * D), (s * len + j) * 3 * D);
          dcSeq.set(dContext.subarray(row(c.context, s, j) * D, (row(c.context, s, j) + 1) * D), (s * len + j) * D);
        }
      const { probs } = attention(qkvSeq, seqs, len, D, heads);
      const want = cpu.attentionBackward(qkvSeq, probs, dcSeq, seqs, len, D, heads);

      // Whole, and in parts of whole sequences (1, 2, … a part; sequence-chunks.ts): two dispatches per part.
      for (const counts of [[seqs], awkwardCounts(seqs)]) {
        const seqFloats = heads * len * len;
        const dQkv = rt.buffer('dQkv', c.gradRows * 3 * D * 4), dProbs = sequenceParts(rt, 'dProbs', seqFloats, counts);
        const steps = attentionBackward(rt, 'attn back', {
          qkv: rt.upload('qkv', qkv), probs: sequenceParts(rt, 'probs', seqFloats, counts, probs), dContext: rt.upload('dC', dContext), dQkv, dProbs,
          rowSums: rt.buffer('r', seqs * heads * len * 4), len, heads, D, input: c.input, context: c.context, grad: c.grad,
        });
        expect(steps.length).toBe(2 * counts.length);
        const out = await runAndRead(rt, steps, dQkv, c.gradRows * 3 * D);
        expect(maxAbsDiff(await readParts(rt, dProbs), want.dProbs), `${counts}`).toBeLessThan(1e-5);
        const got = new Float32Array(want.dQkv.length);
        for (let s = 0; s < seqs; s++)
          for (let j = 0; j < len; j++) got.set(out.subarray(row(c.grad, s, j) * 3 * D, (row(c.grad, s, j) + 1) * 3 * D), (s * len + j) * 3 * D);
        expect(maxAbsDiff(got, want.dQkv), `${counts}`).toBeLessThan(1e-5);
      }
      rt.destroy();
    });
  }

  it('refuses a head dimension that is not a multiple of 4', async () => {
    const rt = await testRuntime();
    const b = rt.buffer('b', 64);
    const map: TokenMap = { hasCls: false, clsBase: 0, clsStride: 0, rowBase: 0, seqStride: 0, tokenStride: 1 };
    const parts = { seqFloats: 8, parts: [{ first: 0, count: 1, buffer: b }] };
    expect(() => attentionBackward(rt, 'bad', { qkv: b, probs: parts, dContext: b, dQkv: b, dProbs: parts, rowSums: b, len: 2, heads: 2, D: 6, input: map, context: map, grad: map })).toThrow(/divisible by 4/);
    rt.destroy();
  });
});
