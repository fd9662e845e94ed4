// GEMM with a fused epilogue: Y = act(A · W + bias) (+ R).
//   A [M, K] f32, rows `lda` apart from `aOffset` (elements): activations.
//   W [K, nPad] f32 or f16: a Linear's weight [N, K] transposed once at load, columns padded to a
//     multiple of 4 with zeros so that every row of W is whole vec4s; bias [nPad] f32 likewise.
//   R, Y [M, N], rows `ldr`/`ldy` apart: the residual read and the output written (different buffers).
// Several variants, one contract. Which is fastest depends on the adapter and the shape: the autotuner
// (src/engine/autotune.ts) validates each against the CPU reference on the trial below and times it.
import { floatToHalf, halfToFloat } from '../../checkpoint/tensor';
import * as cpu from '../../reference/ops';
import { GpuError, grants, type EngineDevice, type KernelNeeds } from '../device';
import { elementRange, fitsOneBinding, rowChunks } from '../row-chunks';
import { params, type Bound, type KernelSource, type Runtime, type Step } from '../runtime';
import { once, random, sampleRows, sizeClass, trialRows, type KernelTuning } from '../trial';
import { F16_ARITHMETIC_GEMMS, GEMM_VARIANTS, gemmShader, gemmTile, type GemmVariant, type WeightDType } from './gemm-wgsl';

export { F16_ARITHMETIC_GEMMS, GEMM_VARIANTS, type GemmVariant, type WeightDType } from './gemm-wgsl';

/** What each variant needs of the device: its tiles in workgroup memory, its workgroup, shader-f16. */
export const GEMM_NEEDS: Record<GemmVariant, KernelNeeds> = {
  registers: { workgroupBytes: 0, invocations: 64 },
  tiled: { workgroupBytes: 8 * 2 ** 10, invocations: 256 },
  'tiled-128x64': { workgroupBytes: 12 * 2 ** 10, invocations: 256 },
  'tiled-128x128': { workgroupBytes: 16 * 2 ** 10, invocations: 256 },
  'registers-f16': { workgroupBytes: 0, invocations: 64, features: ['shader-f16'] },
};

/** A Linear layer packed for the GEMM: W transposed to [K, nPad], bias padded to nPad. */
export interface PackedLinear {
  w: GPUBuffer;
  dtype: WeightDType;
  bias: GPUBuffer;
  K: number;
  N: number;
  nPad: number;
}

/**
 * Transpose a PyTorch weight [N, K] into [K, nPad] and pad the bias: done once at load. `weight` is
 * f32 values, or f16 bits (a Uint16Array) to store as f16 exactly as the checkpoint has them.
 */
/** A Linear's weight [N, K] transposed to [K, nPad] (N padded to whole vec4s), and its bias padded to nPad. */
export function packLinearData<W extends Float32Array | Uint16Array>(weight: W, N: number, K: number, bias?: Float32Array): { wt: W; bias: Float32Array; nPad: number } {
  const nPad = Math.ceil(N / 4) * 4;
  const wt = (weight instanceof Uint16Array ? new Uint16Array(K * nPad) : new Float32Array(K * nPad)) as W;
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) wt[k * nPad + n] = weight[n * K + k];
  const b = new Float32Array(nPad);
  if (bias) b.set(bias);
  return { wt, bias: b, nPad };
}

export function packLinear(rt: Runtime, label: string, weight: Float32Array | Uint16Array, N: number, K: number, bias?: Float32Array): PackedLinear {
  const packed = packLinearData(weight, N, K, bias);
  const dtype: WeightDType = weight instanceof Uint16Array ? 'f16' : 'f32';
  return { w: rt.upload(`${label}.weight`, packed.wt), dtype, bias: rt.upload(`${label}.bias`, packed.bias), K, N, nPad: packed.nPad };
}

export interface GemmArgs {
  a: GPUBuffer;
  M: number;
  aOffset?: number;
  lda?: number;
  linear: PackedLinear;
  y: GPUBuffer;
  yOffset?: number;
  ldy?: number;
  gelu?: boolean;
  residual?: { buffer: GPUBuffer; offset?: number; ld?: number };
}

/** Whether A can be read as vec4 along K (every TimeSformer GEMM: K, lda and aOffset multiples of 4). */
const vec4Aligned = (K: number, lda: number, aOffset: number) => K % 4 === 0 && lda % 4 === 0 && aOffset % 4 === 0;

/** The variants that can run this GEMM on this device (what it grants; f16 arithmetic also needs f16 weights and vec4 A). */
export function gemmVariantsFor(gpu: EngineDevice, dtype: WeightDType, K: number, lda = K, aOffset = 0): GemmVariant[] {
  return GEMM_VARIANTS.filter((v) => grants(gpu, GEMM_NEEDS[v]) && (!F16_ARITHMETIC_GEMMS.includes(v) || (dtype === 'f16' && vec4Aligned(K, lda, aOffset))));
}

function source(variant: GemmVariant, aVec4: boolean, gelu: boolean, residual: boolean, weights: WeightDType): KernelSource {
  return { key: `gemm/${variant}/vec4=${aVec4}/w=${weights}`, bindings: ['uniform', 'read', 'read', 'read', 'read', 'write'], ...gemmShader(variant, aVec4, weights, { gelu, residual }) };
}

/**
 * Record Y = act(A·W + bias) (+ R): one dispatch, or one per row chunk where A, Y or R is larger than one
 * binding (row-chunks.ts), each binding the rows its chunk covers.
 */
export function gemm(rt: Runtime, label: string, variant: GemmVariant, args: GemmArgs): Step[] {
  const { a, M, linear, y, residual } = args;
  const lda = args.lda ?? linear.K, ldy = args.ldy ?? linear.N, aOffset = args.aOffset ?? 0;
  if (!gemmVariantsFor(rt.gpu, linear.dtype, linear.K, lda, aOffset).includes(variant)) {
    throw new GpuError(`${label}: GEMM variant ${variant} cannot run K=${linear.K} (lda ${lda}, offset ${aOffset}) with ${linear.dtype} weights on this device`);
  }
  const aVec4 = variant !== 'tiled' && vec4Aligned(linear.K, lda, aOffset);
  const kernel = source(variant, aVec4, !!args.gelu, !!residual, linear.dtype);
  const unit = aVec4 ? 4 : 1;
  const tile = gemmTile(variant);
  const ldr = residual?.ld ?? ldy, yOffset = args.yOffset ?? 0, rOffset = residual?.offset ?? 0;
  const dispatch = (rows: number, bound: { a: Bound; aOffset: number; r: Bound; rOffset: number; y: Bound; yOffset: number }, name: string) => {
    const words = params([rows, linear.N, linear.K, linear.nPad / 4, bound.aOffset / unit, lda / unit, bound.rOffset, ldr, bound.yOffset, ldy]);
    const workgroups: [number, number, number] = [Math.ceil(linear.nPad / tile.columns), Math.ceil(rows / tile.rows), 1];
    return rt.dispatch(name, kernel, words, [bound.a, linear.w, linear.bias, bound.r, bound.y], workgroups);
  };
  const r = residual?.buffer ?? rt.placeholder;
  if (fitsOneBinding(rt, [a, r, y])) return [dispatch(M, { a, aOffset, r, rOffset, y, yOffset }, label)];
  return rowChunks(rt, M, Math.max(lda, ldy, ldr), tile.rows).map(({ first, count }) => {
    const ra = elementRange(rt, a, aOffset + first * lda, (count - 1) * lda + linear.K);
    const ry = elementRange(rt, y, yOffset + first * ldy, (count - 1) * ldy + linear.N);
    const rr = residual ? elementRange(rt, r, rOffset + first * ldr, (count - 1) * ldr + linear.N) : { range: r, offset: 0 };
    return dispatch(count, { a: ra.range, aOffset: ra.offset, r: rr.range, rOffset: rr.offset, y: ry.range, yOffset: ry.offset }, `${label} rows ${first}..${first + count}`);
  });
}

/** A GEMM shape class's representative: M rows of A, a Linear of K inputs and N outputs stored in `dtype`. */
export interface GemmShape {
  M: number;
  N: number;
  K: number;
  dtype: WeightDType;
}

/**
 * |error| allowed for one GEMM output: f32 rounding, which grows with √K and the size of the terms (Σ|a·w|, the
 * probabilistic bound of Higham & Mary; without that term a base model's K = 3072 class failed every correct
 * variant by 1%), or f16 rounding of A and the 4-term f16 partial sums.
 */
export function gemmTolerance(variant: GemmVariant, K: number, absDot: number): number {
  return F16_ARITHMETIC_GEMMS.includes(variant) ? 6 * 2 ** -11 * absDot + 1e-5 : Math.sqrt(K) * (2e-6 + 4 * 2 ** -24 * absDot) + 1e-6;
}

export const GEMM_TUNING: KernelTuning<GemmShape, GemmVariant> = {
  kind: 'gemm ',
  shapeClass: (s) => `gemm M${sizeClass(s.M)} N=${s.N} K=${s.K} ${s.dtype}`,
  runnable: (gpu) => gemmVariantsFor(gpu, 'f16', 4),
  // The 128×128 tile is for big GPUs: on a CPU adapter it never wins and its compile alone takes seconds.
  candidates: (gpu, s) => gemmVariantsFor(gpu, s.dtype, s.K).filter((v) => v !== 'tiled-128x128' || !gpu.adapter.isFallback),
  trial(rt, shape) {
    const { N, K, dtype } = shape;
    const M = trialRows(rt, shape.M);
    const made = once(() => {
      const a = random(M * K, 1), bias = random(N, 3), w32 = random(N * K, 2);
      const bits = dtype === 'f16' ? Uint16Array.from(w32, floatToHalf) : undefined;
      const w = bits ? Float32Array.from(bits, halfToFloat) : w32;
      // The reference on sampled rows (the first and last: the partial tiles), and Σ|a·w| for the tolerance.
      const rows = sampleRows(M);
      const x = new Float32Array(rows.length * K);
      rows.forEach((r, i) => x.set(a.subarray(r * K, (r + 1) * K), i * K));
      return { a, bias, w32, bits, rows, want: cpu.linear(x, rows.length, K, w, bias, N), absDot: cpu.linear(x.map(Math.abs), rows.length, K, w.map(Math.abs), undefined, N) };
    });
    return (scope, variant) => {
      const { a, bias, w32, bits, rows, want, absDot } = made();
      const linear = packLinear(scope, 'tune W', bits ?? w32, N, K, bias);
      const y = scope.buffer('tune Y', M * N * 4);
      return {
        steps: gemm(scope, `tune ${variant}`, variant, { a: scope.upload('tune A', a), M, linear, y }),
        async check() {
          const out = await scope.read(y, M * N * 4);
          for (let i = 0; i < rows.length; i++) {
            for (let n = 0; n < N; n++) {
              const err = Math.abs(out[rows[i] * N + n] - want[i * N + n]);
              if (!(err <= gemmTolerance(variant, K, absDot[i * N + n]))) return `row ${rows[i]} column ${n}: |error| ${err.toExponential(2)}`;
            }
          }
          return undefined;
        },
      };
    };
  },
};
