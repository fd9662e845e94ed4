// The backward of a Linear for its input: dX = dY · Wᵀ, (+ dX when accumulating), against the weight as the
// forward GEMM packed it (gemm.ts: W [K, nPad], a Linear's [N, K] transposed, f32 or f16):
//   dX[m, k] = Σ_n dY[m, n] · Wp[k, n]   — row k of the packed weight is contiguous over n.
//   dY [M, N] rows `ldy` apart from `yOffset`; dX [M, K] rows `ldx` apart from `xOffset` (elements).
// The reduction runs over n in vec4 steps (W's padding columns are zeros; dY's n ≥ N are read as 0).
// Variants (tuned like the forward's, GEMM_TRANSPOSED_TUNING):
//   'registers': no workgroup memory (CPU adapters). Each thread owns 4 rows × 8 k, fully unrolled into named
//     accumulators (SwiftShader keeps arrays indexed in loops in memory): per n4, 4 dY and 8 W vec4 loads feed
//     32 vec4 dot products, the forward 'registers' GEMM's 128 FMAs per 12 loads.
//   'rows1': 1 row × 8 k per thread, 4× the threads, for few rows (the head's B rows, a patch projection per frame).
//   'tiled': a 64 rows × 64 k tile per 16×16 workgroup (real GPUs): each 16-wide step of n, the dY tile and the
//     W tile are loaded with adjacent threads on adjacent memory (W along its rows, over n) and W is stored
//     transposed in workgroup memory; each thread owns 4 rows × 4 k, its k 16 apart (no bank conflicts).
// Rows and k past the ends are clamped (registers) or zeroed (tiled) for loading and dropped at the store.
// Epilogue, fused as the forward fuses GELU: dX = (dY·Wᵀ)·GELU′(x) for x the GELU's input laid out as dX (the
// first MLP Linear's output, whose GELU the second's input was).
import * as cpu from '../../reference/ops-backward';
import { floatToHalf, halfToFloat } from '../../checkpoint/tensor';
import { GpuError, grants, type EngineDevice, type KernelNeeds } from '../device';
import { params, type KernelSource, type Runtime, type Step } from '../runtime';
import { once, random, sampleRows, sizeClass, trialRows, type KernelTuning } from '../trial';
import { ERF_WGSL, GELU_GRAD_WGSL } from './erf';
import { gemmTolerance, packLinear, type GemmShape, type PackedLinear, type WeightDType } from './gemm';

export const GEMM_TRANSPOSED_VARIANTS = ['registers', 'rows1', 'tiled'] as const;
export type GemmTransposedVariant = (typeof GEMM_TRANSPOSED_VARIANTS)[number];

/** What each variant needs of the device (as GEMM_NEEDS in gemm.ts). */
export const GEMM_TRANSPOSED_NEEDS: Record<GemmTransposedVariant, KernelNeeds> = {
  registers: { workgroupBytes: 0, invocations: 64 },
  rows1: { workgroupBytes: 0, invocations: 64 },
  tiled: { workgroupBytes: 8 * 2 ** 10, invocations: 256 },
};

export interface GemmTransposedArgs {
  dy: GPUBuffer;
  M: number;
  yOffset?: number;
  ldy?: number;
  linear: PackedLinear;
  dx: GPUBuffer;
  xOffset?: number;
  ldx?: number;
  /** Add into dX (a residual branch's gradient joining the main path's) instead of overwriting it. */
  accumulate?: boolean;
  /** Times GELU′(x) for x [M, K] laid out as dX (rows `ldx` apart from `xOffset`): GELU's backward, fused. */
  geluInput?: GPUBuffer;
}

const header = (weights: WeightDType, accumulate: boolean, vec4Y: boolean, gelu: boolean) => /* wgsl */ `
struct Params { M: u32, N: u32, K: u32, nPad4: u32, yOffset: u32, ldy: u32, xOffset: u32, ldx: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dY: array<${vec4Y ? 'vec4f' : 'f32'}>;
@group(0) @binding(2) var<storage, read> W: array<${weights === 'f16' ? 'vec2u' : 'vec4f'}>;
@group(0) @binding(3) var<storage, read_write> dX: array<f32>;
@group(0) @binding(4) var<storage, read> geluInput: array<f32>;
${gelu ? ERF_WGSL + GELU_GRAD_WGSL : ''}
fn loadW(i: u32) -> vec4f {
  ${weights === 'f16' ? 'let h = W[i]; return vec4f(unpack2x16float(h.x), unpack2x16float(h.y));' : 'return W[i];'}
}

// dY[row, 4·n4 .. 4·n4+3] for a row < M, zero past N (W's padding is zero too, but dY's next row is not).
fn loadDY(row: u32, n4: u32) -> vec4f {${vec4Y ? `
  return dY[(p.yOffset + row * p.ldy) / 4u + n4];` : `
  let base = p.yOffset + row * p.ldy + n4 * 4u;
  var v = vec4f(0.0);
  for (var i = 0u; i < 4u; i++) { if (n4 * 4u + i < p.N) { v[i] = dY[base + i]; } }
  return v;`}
}

fn store(row: u32, k: u32, v: f32) {
  if (row < p.M && k < p.K) {
    let at = p.xOffset + row * p.ldx + k;
    ${accumulate ? 'dX[at] += v;' : gelu ? 'dX[at] = v * geluGrad(geluInput[at]);' : 'dX[at] = v;'}
  }
}
`;

const range = (n: number) => [...Array(n).keys()];

// Registers: ROWS rows × 8 k per thread (two k quads q), dispatch x over k octets (8 threads), y over row groups.
const registers = (rows: number) => /* wgsl */ `
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let k0 = gid.x * 8u;
  let r0 = gid.y * ${rows}u;
  if (k0 >= p.K || r0 >= p.M) { return; }
${range(8).map((j) => `  let w${j} = min(k0 + ${j}u, p.K - 1u) * p.nPad4;`).join('\n')}
${range(rows).map((r) => `  let row${r} = min(r0 + ${r}u, p.M - 1u); var s${r}0 = vec4f(0.0); var s${r}1 = vec4f(0.0);`).join('\n')}
  for (var n4 = 0u; n4 < p.nPad4; n4++) {
${range(8).map((j) => `    let b${j} = loadW(w${j} + n4);`).join('\n')}
${range(rows).map((r) => `    { let y = loadDY(row${r}, n4); s${r}0 += vec4f(dot(y, b0), dot(y, b1), dot(y, b2), dot(y, b3)); s${r}1 += vec4f(dot(y, b4), dot(y, b5), dot(y, b6), dot(y, b7)); }`).join('\n')}
  }
${range(rows).flatMap((r) => range(8).map((j) => `  store(r0 + ${r}u, k0 + ${j}u, s${r}${j >> 2}[${j & 3}]);`)).join('\n')}
}
`;

// Tiled: rows rowBase + 4·l.y + r, k kBase + l.x + 16·j (acc_r[j]). Per 16 n: thread li loads dY[row li/4,
// n4 li%4] and W[k li/4, n4 li%4] (4 consecutive vec4 of a row per 4 threads), W stored transposed Ws[n][k].
const TILED = /* wgsl */ `
var<workgroup> Ys: array<array<vec4f, 4>, 64>;
var<workgroup> Ws: array<array<f32, 64>, 16>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) l: vec3u, @builtin(local_invocation_index) li: u32) {
  let rowBase = wg.y * 64u;
  let kBase = wg.x * 64u;
  let e = li >> 2u;
  let e4 = li & 3u;
${range(4).map((r) => `  var acc${r} = vec4f(0.0);`).join('\n')}
  for (var n0 = 0u; n0 < p.nPad4; n0 += 4u) {
    let n4 = n0 + e4;
    var y = vec4f(0.0);
    var w = vec4f(0.0);
    if (n4 < p.nPad4) {
      if (rowBase + e < p.M) { y = loadDY(rowBase + e, n4); }
      if (kBase + e < p.K) { w = loadW((kBase + e) * p.nPad4 + n4); }
    }
    Ys[e][e4] = y;
${range(4).map((i) => `    Ws[e4 * 4u + ${i}u][e] = w[${i}];`).join('\n')}
    workgroupBarrier();
    for (var q = 0u; q < 4u; q++) {
${range(4).map((i) => `      let b${i} = vec4f(Ws[q * 4u + ${i}u][l.x], Ws[q * 4u + ${i}u][l.x + 16u], Ws[q * 4u + ${i}u][l.x + 32u], Ws[q * 4u + ${i}u][l.x + 48u]);`).join('\n')}
${range(4).map((r) => `      { let a = Ys[l.y * 4u + ${r}u][q]; acc${r} = fma(vec4f(a.x), b0, acc${r}); acc${r} = fma(vec4f(a.y), b1, acc${r}); acc${r} = fma(vec4f(a.z), b2, acc${r}); acc${r} = fma(vec4f(a.w), b3, acc${r}); }`).join('\n')}
    }
    workgroupBarrier();
  }
${range(4).flatMap((r) => range(4).map((j) => `  store(rowBase + l.y * 4u + ${r}u, kBase + l.x + ${16 * j}u, acc${r}[${j}]);`)).join('\n')}
}
`;

/** Each variant's body and the rows × k of dX a workgroup writes. */
const VARIANTS: Record<GemmTransposedVariant, { code: string; tile: { rows: number; columns: number } }> = {
  registers: { code: registers(4), tile: { rows: 32, columns: 64 } },
  rows1: { code: registers(1), tile: { rows: 8, columns: 64 } },
  tiled: { code: TILED, tile: { rows: 64, columns: 64 } },
};

// dY read as vec4 (no bounds checks) when N, ldy and yOffset are multiples of 4: every TimeSformer GEMM but the head's.
const source = (variant: GemmTransposedVariant, weights: WeightDType, accumulate: boolean, vec4Y: boolean, gelu: boolean): KernelSource => ({
  key: `gemm-transposed/${variant}/${weights}/${accumulate ? 'add' : gelu ? 'gelu' : 'set'}${vec4Y ? '/vec4-dy' : ''}`,
  bindings: ['uniform', 'read', 'read', 'write', 'read'],
  code: header(weights, accumulate, vec4Y, gelu) + VARIANTS[variant].code,
});

/** The variants this device grants. */
export const gemmTransposedVariantsFor = (gpu: EngineDevice) => GEMM_TRANSPOSED_VARIANTS.filter((v) => grants(gpu, GEMM_TRANSPOSED_NEEDS[v]));

/** dX (=, or += with `accumulate`) dY · Wᵀ for the packed Linear W. */
export function gemmTransposed(rt: Runtime, label: string, a: GemmTransposedArgs, variant: GemmTransposedVariant = 'registers'): Step {
  const { linear, M } = a;
  const words = params([M, linear.N, linear.K, linear.nPad / 4, a.yOffset ?? 0, a.ldy ?? linear.N, a.xOffset ?? 0, a.ldx ?? linear.K]);
  const ldy = a.ldy ?? linear.N, vec4Y = linear.N % 4 === 0 && ldy % 4 === 0 && (a.yOffset ?? 0) % 4 === 0;
  const { tile } = VARIANTS[variant];
  if (a.accumulate && a.geluInput) throw new GpuError(`${label}: the GELU′ epilogue does not accumulate`);
  return rt.dispatch(label, source(variant, linear.dtype, !!a.accumulate, vec4Y, !!a.geluInput), words, [a.dy, linear.w, a.dx, a.geluInput ?? rt.placeholder], [Math.ceil(linear.K / tile.columns), Math.ceil(M / tile.rows), 1]);
}

/** Shapes as the forward GEMM's (M rows, the Linear's N outputs and K inputs): the reduction here is over N. */
export const GEMM_TRANSPOSED_TUNING: KernelTuning<GemmShape, GemmTransposedVariant> = {
  kind: 'gemm-transposed ',
  shapeClass: (s) => `gemm-transposed M${sizeClass(s.M)} N=${s.N} K=${s.K} ${s.dtype}`,
  runnable: gemmTransposedVariantsFor,
  // The tiled variant is for real GPUs: on a CPU adapter workgroup memory only slows (gemm.ts's tiles lose there).
  candidates: (gpu) => gemmTransposedVariantsFor(gpu).filter((v) => v !== 'tiled' || !gpu.adapter.isFallback),
  trial(rt, shape) {
    const { N, K, dtype } = shape;
    const M = trialRows(rt, shape.M);
    const made = once(() => {
      const dy = random(M * N, 5), w32 = random(N * K, 6);
      const bits = dtype === 'f16' ? Uint16Array.from(w32, floatToHalf) : undefined;
      const w = bits ? Float32Array.from(bits, halfToFloat) : w32;
      // The reference on sampled rows (the first and last: the partial tiles), and Σ|dy·w| for the tolerance.
      const rows = sampleRows(M);
      const y = new Float32Array(rows.length * N);
      rows.forEach((r, i) => y.set(dy.subarray(r * N, (r + 1) * N), i * N));
      return { dy, w32, bits, rows, want: cpu.linearBackward(y, rows.length, N, w, K), absDot: cpu.linearBackward(y.map(Math.abs), rows.length, N, w.map(Math.abs), K) };
    });
    return (scope, variant) => {
      const { dy, w32, bits, rows, want, absDot } = made();
      const linear = packLinear(scope, 'tune W', bits ?? w32, N, K);
      const dx = scope.buffer('tune dX', M * K * 4);
      return {
        steps: [gemmTransposed(scope, `tune ${variant}`, { dy: scope.upload('tune dY', dy), M, linear, dx }, variant)],
        async check() {
          const out = await scope.read(dx, M * K * 4);
          for (let i = 0; i < rows.length; i++) {
            for (let k = 0; k < K; k++) {
              const err = Math.abs(out[rows[i] * K + k] - want[i * K + k]);
              if (!(err <= gemmTolerance('registers', N, absDot[i * K + k]))) return `row ${rows[i]} column ${k}: |error| ${err.toExponential(2)}`;
            }
          }
          return undefined;
        },
      };
    };
  },
};
