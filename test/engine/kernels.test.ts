// Each WGSL kernel against the CPU reference ops, on awkward shapes (not multiples of any tile).
import { describe, expect, it } from 'vitest';
import { ATTENTION_VARIANTS, attention, attentionInParts, type TokenMap } from '../../src/engine/kernels/attention';
import { F16_ARITHMETIC_GEMMS, gemm, GEMM_VARIANTS, gemmTolerance, packLinear } from '../../src/engine/kernels/gemm';
import { LAYER_NORM_VARIANTS, layerNorm } from '../../src/engine/kernels/layernorm';
import { embed, im2col } from '../../src/engine/kernels/patch-embed';
import { rowMean } from '../../src/engine/kernels/row-mean';
import { floatToHalf, halfToFloat } from '../../src/checkpoint/tensor';
import * as cpu from '../../src/reference/ops';
import { awkwardCounts, maxAbsDiff, random, readParts, runAndRead, sequenceParts, testDevice, testRuntime } from '../gpu';

// Variants that need a feature run where the adapter has it (lavapipe 25 has both; SwiftShader has no shader-f16).
const { features } = await testDevice();
/** Variants with f32 arithmetic, for f32 and f16 weights alike: every variant the GEMM has but those with f16 arithmetic. */
const F32_GEMMS = GEMM_VARIANTS.filter((v) => !F16_ARITHMETIC_GEMMS.includes(v));

describe('gemm', () => {
  // K = 8 and 96 with lda = K + 4 take the vec4 path of the register kernel; the others the scalar one.
  const shapes: [number, number, number][] = [[1, 1, 1], [5, 3, 7], [17, 10, 33], [65, 64, 8], [197, 13, 96], [70, 130, 257], [129, 66, 20]];
  for (const variant of F32_GEMMS) {
    for (const [M, N, K] of shapes) {
      it(`${variant} M=${M} N=${N} K=${K} with offsets, bias, GELU and residual`, async () => {
        const rt = await testRuntime();
        const aligned = K % 4 === 0;
        const lda = aligned ? K + 4 : K + 3, ldy = N + 2, aOffset = aligned ? 8 : 5, yOffset = 7, rOffset = 2;
        const a = random(aOffset + M * lda, M * 7 + K);
        const w = random(N * K, N + 11), bias = random(N, 3);
        const r = random(rOffset + M * ldy, 9);
        const linear = packLinear(rt, 'w', w, N, K, bias);
        const aBuf = rt.upload('a', a), rBuf = rt.upload('r', r), y = rt.buffer('y', (yOffset + M * ldy) * 4);
        const rows = new Float32Array(M * K);
        for (let m = 0; m < M; m++) rows.set(a.subarray(aOffset + m * lda, aOffset + m * lda + K), m * K);
        const ref = cpu.linear(rows, M, K, w, bias, N);
        for (const mode of ['plain', 'gelu', 'residual'] as const) {
          const steps = gemm(rt, 'gemm', variant, { a: aBuf, M, aOffset, lda, linear, y, yOffset, ldy, gelu: mode === 'gelu', residual: mode === 'residual' ? { buffer: rBuf, offset: rOffset, ld: ldy } : undefined });
          const out = await runAndRead(rt, steps, y, yOffset + M * ldy);
          const got = new Float32Array(M * N), want = mode === 'gelu' ? cpu.gelu(ref) : ref.slice();
          for (let m = 0; m < M; m++) {
            got.set(out.subarray(yOffset + m * ldy, yOffset + m * ldy + N), m * N);
            if (mode === 'residual') for (let n = 0; n < N; n++) want[m * N + n] += r[rOffset + m * ldy + n];
          }
          expect(maxAbsDiff(got, want), mode).toBeLessThan(2e-6 * Math.sqrt(K) + 1e-6);
          // Padding between rows is never written.
          expect(out.subarray(yOffset + N, yOffset + ldy).every((v) => v === 0), mode).toBe(true);
        }
        rt.destroy();
      });
    }
  }
});

describe('gemm in row chunks', () => {
  // A, Y and R larger than a (lowered) binding limit: bound in ranges of 128 rows (the largest tile), at
  // aligned offsets that fall inside rows (aOffset 5: not even vec4-aligned), each chunk the same arithmetic.
  for (const variant of F32_GEMMS) {
    for (const K of [20, 19]) {
      it(`${variant} M=300 K=${K}: three chunks give exactly the one dispatch's result`, async () => {
        const whole = await testRuntime();
        const M = 300, N = 13, lda = K + 4, ldy = N + 2, aOffset = K % 4 ? 5 : 8, yOffset = 7, rOffset = 2;
        const chunked = whole.withBindingLimit(128 * lda * 4 + 512);
        const linear = packLinear(whole, 'w', random(N * K, 5), N, K, random(N, 6));
        const a = whole.upload('a', random(aOffset + M * lda, 7)), r = whole.upload('r', random(rOffset + M * ldy, 8));
        const args = { a, M, aOffset, lda, linear, yOffset, ldy, gelu: true, residual: { buffer: r, offset: rOffset, ld: ldy } };
        const outputs = [];
        for (const rt of [whole, chunked]) {
          const y = rt.buffer('y', (yOffset + M * ldy) * 4);
          const steps = gemm(rt, 'gemm', variant, { ...args, y });
          expect(steps).toHaveLength(rt === whole ? 1 : 3);
          outputs.push(await runAndRead(rt, steps, y, yOffset + M * ldy));
        }
        expect(outputs[1]).toEqual(outputs[0]);
        expect(outputs[0].subarray(yOffset, yOffset + N).some((v) => v !== 0)).toBe(true);
        whole.destroy();
        chunked.destroy();
      });
    }
  }
});

describe('gemm with f16 weights', () => {
  for (const variant of F32_GEMMS) {
    it(`${variant}: widens f16 weights exactly (same result as f32 weights holding the same values)`, async () => {
      const rt = await testRuntime();
      const M = 37, N = 22, K = 52;
      const bits = Uint16Array.from(random(N * K, 31), floatToHalf);
      const widened = Float32Array.from(bits, halfToFloat);
      const a = random(M * K, 32), bias = random(N, 33);
      const y = rt.buffer('y', M * N * 4), aBuf = rt.upload('a', a);
      const out = await runAndRead(rt, gemm(rt, 'gemm f16', variant, { a: aBuf, M, linear: packLinear(rt, 'w16', bits, N, K, bias), y }), y, M * N);
      expect(maxAbsDiff(out, cpu.linear(a, M, K, widened, bias, N))).toBeLessThan(2e-6 * Math.sqrt(K));
      rt.destroy();
    });
  }
});

describe.skipIf(!features.shaderF16).each(F16_ARITHMETIC_GEMMS)('gemm with f16 arithmetic (%s, shader-f16)', (variant) => {
  // K multiple of 4 (vec4 A); awkward M and N; offsets in whole vec4s.
  const shapes: [number, number, number][] = [[1, 1, 4], [5, 3, 8], [65, 64, 12], [197, 13, 96], [70, 130, 256], [129, 66, 20]];
  for (const [M, N, K] of shapes) {
    it(`M=${M} N=${N} K=${K} with offsets, bias, GELU and residual within the f16 rounding bound`, async () => {
      const rt = await testRuntime();
      const lda = K + 4, ldy = N + 2, aOffset = 8, yOffset = 7, rOffset = 2;
      const a = random(aOffset + M * lda, M * 5 + K, 4);
      const bits = Uint16Array.from(random(N * K, N + 13), floatToHalf);
      const w = Float32Array.from(bits, halfToFloat), bias = random(N, 3);
      const r = random(rOffset + M * ldy, 9);
      const linear = packLinear(rt, 'w16', bits, N, K, bias);
      const aBuf = rt.upload('a', a), rBuf = rt.upload('r', r), y = rt.buffer('y', (yOffset + M * ldy) * 4);
      const rows = new Float32Array(M * K);
      for (let m = 0; m < M; m++) rows.set(a.subarray(aOffset + m * lda, aOffset + m * lda + K), m * K);
      const ref = cpu.linear(rows, M, K, w, bias, N);
      const absDot = cpu.linear(rows.map(Math.abs), M, K, w.map(Math.abs), undefined, N);
      let worst = 0;
      for (const mode of ['plain', 'gelu', 'residual'] as const) {
        const steps = gemm(rt, 'gemm f16', variant, { a: aBuf, M, aOffset, lda, linear, y, yOffset, ldy, gelu: mode === 'gelu', residual: mode === 'residual' ? { buffer: rBuf, offset: rOffset, ld: ldy } : undefined });
        const out = await runAndRead(rt, steps, y, yOffset + M * ldy);
        const want = mode === 'gelu' ? cpu.gelu(ref) : ref.slice();
        for (let m = 0; m < M; m++) {
          for (let n = 0; n < N; n++) {
            if (mode === 'residual') want[m * N + n] += r[rOffset + m * ldy + n];
            // GELU's slope is at most 1.13: the bound carries through it.
            const err = Math.abs(out[yOffset + m * ldy + n] - want[m * N + n]) / gemmTolerance(variant, K, 1.13 * absDot[m * N + n]);
            worst = Math.max(worst, Number.isNaN(err) ? Infinity : err);
          }
        }
        expect(out.subarray(yOffset + N, yOffset + ldy).every((v) => v === 0), mode).toBe(true);
      }
      expect(worst).toBeLessThan(1);
      rt.destroy();
    });
  }

  it('refuses f32 weights and unaligned A (f16 arithmetic needs f16 weights and vec4 A)', async () => {
    const rt = await testRuntime();
    const a = rt.buffer('a', 64), y = rt.buffer('y', 64);
    expect(() => gemm(rt, 'f32 weights', variant, { a, M: 1, linear: packLinear(rt, 'w', random(8, 1), 2, 4), y })).toThrow(/cannot run/);
    expect(() => gemm(rt, 'odd K', variant, { a, M: 1, linear: packLinear(rt, 'w', Uint16Array.from(random(6, 1), floatToHalf), 2, 3), y })).toThrow(/cannot run/);
    rt.destroy();
  });
});

describe('layerNorm', () => {
  for (const variant of LAYER_NORM_VARIANTS.filter((v) => v !== 'subgroups' || features.subgroups)) {
    it(`${variant}: normalizes strided rows like the reference`, async () => {
      const rt = await testRuntime();
      const rows = 70, D = 200, stride = 250; // more than a workgroup of rows (the variant of a thread per row)
      const x = random(rows * stride + 3, 4, 5).map((v, i) => v + (i % 13));
      const gamma = random(D, 5), beta = random(D, 6);
      const dense = new Float32Array(rows * D);
      for (let r = 0; r < rows; r++) dense.set(x.subarray(3 + r * stride, 3 + r * stride + D), r * D);
      const y = rt.buffer('y', rows * D * 4);
      const step = layerNorm(rt, 'ln', { x: rt.upload('x', x), y, gamma: rt.upload('g', gamma), beta: rt.upload('b', beta), rows, D, eps: 1e-6, inOffset: 3, inStride: stride }, variant);
      expect(maxAbsDiff(await runAndRead(rt, [step], y, rows * D), cpu.layerNorm(dense, rows, D, gamma, beta, 1e-6))).toBeLessThan(2e-6);
      rt.destroy();
    });
  }
});

describe('attention', () => {
  // Token rows of a divided sequence: 1 + N·T rows in (p, t) order, CLS first.
  const T = 3, N = 5, D = 32, H = 4, S = 1 + N * T;
  // Two sequences of 77 tokens (more queries than a workgroup, more keys than a K/V tile): the longest case.
  const LONG = 77;
  const qkv = random(2 * LONG * 3 * D, 21, 2);
  /** Rows of qkv gathered into contiguous sequences, then the CPU reference. */
  function reference(seqs: number, len: number, row: (s: number, j: number) => number) {
    const gathered = new Float32Array(seqs * len * 3 * D);
    for (let s = 0; s < seqs; s++) for (let j = 0; j < len; j++) gathered.set(qkv.subarray(row(s, j) * 3 * D, (row(s, j) + 1) * 3 * D), (s * len + j) * 3 * D);
    return cpu.attention(gathered, seqs, len, D, H);
  }
  const cases: { name: string; seqs: number; len: number; map: TokenMap; row: (s: number, j: number) => number }[] = [
    { name: 'temporal', seqs: N, len: T, map: { hasCls: false, clsBase: 0, clsStride: 0, rowBase: 1, seqStride: T, tokenStride: 1 }, row: (s, j) => 1 + s * T + j },
    { name: 'spatial', seqs: T, len: 1 + N, map: { hasCls: true, clsBase: 0, clsStride: 0, rowBase: 1, seqStride: 1, tokenStride: T }, row: (s, j) => (j === 0 ? 0 : 1 + (j - 1) * T + s) },
    { name: 'joint', seqs: 1, len: S, map: { hasCls: true, clsBase: 0, clsStride: 0, rowBase: 1, seqStride: 0, tokenStride: 1 }, row: (_, j) => j },
    { name: 'long sequences', seqs: 2, len: LONG, map: { hasCls: true, clsBase: 0, clsStride: LONG, rowBase: 1, seqStride: LONG, tokenStride: 1 }, row: (s, j) => s * LONG + j },
  ];
  for (const variant of ATTENTION_VARIANTS) {
    for (const c of cases) {
      it(`${variant} ${c.name}: context and probabilities through the token map`, async () => {
        const rt = await testRuntime();
        const ref = reference(c.seqs, c.len, c.row);
        // Context written to contiguous rows s·len + j, so that it lines up with the reference.
        const out: TokenMap = { hasCls: false, clsBase: 0, clsStride: 0, rowBase: 0, seqStride: c.len, tokenStride: 1 };
        const context = rt.buffer('ctx', c.seqs * c.len * D * 4), probs = rt.buffer('probs', ref.probs.length * 4), cls = rt.buffer('cls', c.seqs * H * c.len * 4);
        const args = { qkv: rt.upload('qkv', qkv), context, seqs: c.seqs, len: c.len, heads: H, D, input: c.map, output: out };
        const all = attention(rt, 'attn', { ...args, probs, probsMode: 'all' }, variant);
        const contextRows = await runAndRead(rt, [all], context, c.seqs * c.len * D);
        expect(maxAbsDiff(contextRows, ref.context)).toBeLessThan(2e-6);
        expect(maxAbsDiff(await rt.read(probs, ref.probs.length * 4), ref.probs)).toBeLessThan(1e-6);
        const clsRows = await runAndRead(rt, [attention(rt, 'attn cls', { ...args, probs: cls, probsMode: 'cls' }, variant)], cls, c.seqs * H * c.len);
        const want = new Float32Array(c.seqs * H * c.len);
        for (let i = 0; i < c.seqs * H; i++) want.set(ref.probs.subarray(i * c.len * c.len, i * c.len * c.len + c.len), i * c.len);
        expect(maxAbsDiff(clsRows, want)).toBeLessThan(1e-6);
        // qkv (59 KB) larger than a lowered 20 000-byte binding: bound in three parts, the same numbers.
        const parted = rt.withBindingLimit(20_000);
        const partedContext = parted.buffer('ctx', c.seqs * c.len * D * 4), partedCls = parted.buffer('cls', c.seqs * H * c.len * 4);
        const inParts = attention(parted, 'attn in parts', { ...args, context: partedContext, probs: partedCls, probsMode: 'cls' }, variant);
        expect(inParts.kind === 'dispatch' && inParts.kernel.key).toContain('qkv in 3');
        expect(await runAndRead(parted, [inParts], partedContext, c.seqs * c.len * D)).toEqual(contextRows);
        expect(await parted.read(partedCls, c.seqs * H * c.len * 4)).toEqual(clsRows);
        parted.destroy();
        // Probabilities in parts of whole sequences (1, 2, … a part), one dispatch per part: the same numbers.
        const probsParts = sequenceParts(rt, 'probs', H * c.len * c.len, awkwardCounts(c.seqs));
        const byPart = attentionInParts(rt, 'attn by part', args, probsParts, variant);
        expect(byPart.length).toBe(awkwardCounts(c.seqs).length);
        expect(await runAndRead(rt, byPart, context, c.seqs * c.len * D)).toEqual(contextRows);
        expect(maxAbsDiff(await readParts(rt, probsParts), ref.probs)).toBeLessThan(1e-6);
        rt.destroy();
      });
    }
  }
});

describe('rowMean, im2col, embed', () => {
  it('rowMean averages strided rows in place', async () => {
    const rt = await testRuntime();
    const D = 70, x = random(20 * D, 8);
    const buf = rt.upload('x', x);
    const out = await runAndRead(rt, [rowMean(rt, 'mean', buf, D, 4, 10 * D, 2 * D, D)], buf, 20 * D);
    const want = new Float32Array(D).map((_, c) => (x[10 * D + c] + x[12 * D + c] + x[14 * D + c] + x[16 * D + c]) / 4);
    expect(maxAbsDiff(out.subarray(D, 2 * D), want)).toBeLessThan(1e-6);
    expect(out.subarray(0, D)).toEqual(x.subarray(0, D));
  });

  it('im2col and embed lay tokens out as the reference does', async () => {
    const rt = await testRuntime();
    const T = 2, H = 40, W = 56, P = 16, gh = 2, gw = 3, N = gh * gw, K = 3 * P * P, D = 8;
    const pixels = random(T * 3 * H * W, 12);
    const patches = rt.buffer('patches', T * N * K * 4);
    const got = await runAndRead(rt, [im2col(rt, 'im2col', rt.upload('px', pixels), patches, T, H, W, P)], patches, T * N * K);
    // Patch (t, r, c), element (ch, y, x) is pixel (t, ch, r·P + y, c·P + x).
    for (const [t, r, c, ch, y, x] of [[0, 0, 0, 0, 0, 0], [1, 1, 2, 2, 15, 15], [1, 0, 1, 1, 3, 9]]) {
      expect(got[((t * N + r * gw + c) * K) + (ch * P + y) * P + x]).toBe(pixels[((t * 3 + ch) * H + r * P + y) * W + c * P + x]);
    }
    const emb = random(T * N * D, 13), cls = random(D, 14), pos = random((1 + N) * D, 15), time = random(T * D, 16);
    const h = rt.buffer('h', (1 + N * T) * D * 4);
    const tokens = await runAndRead(rt, [embed(rt, 'embed', { patches: rt.upload('e', emb), cls: rt.upload('c', cls), pos: rt.upload('p', pos), time: rt.upload('t', time), h, T, N, D, perFrame: false })], h, (1 + N * T) * D);
    const want = new Float32Array((1 + N * T) * D);
    for (let i = 0; i < D; i++) want[i] = cls[i] + pos[i];
    for (let p = 0; p < N; p++) for (let t = 0; t < T; t++) for (let i = 0; i < D; i++) want[(1 + p * T + t) * D + i] = emb[(t * N + p) * D + i] + pos[(1 + p) * D + i] + time[t * D + i];
    expect(maxAbsDiff(tokens, want)).toBeLessThan(1e-6);
  });
});
