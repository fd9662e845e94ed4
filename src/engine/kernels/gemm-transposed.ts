// The backward of a Linear for its input: dX = dY · Wᵀ, (+ dX when accumulating), against the weight as the
// forward GEMM packed it (gemm.ts: W [K, nPad], a Linear's [N, K] transposed, f32 or f16):
//   dX[m, k] = Σ_n dY[m, n] · Wp[k, n]   — row k of the packed weight is contiguous over n.
//   dY [M, N] rows `ldy` apart from `yOffset`; dX [M, K] rows `ldx` apart from `xOffset` (elements).
// Registers, no workgroup memory: each thread owns ROWS rows × 4 k, reads W as vec4 over n (the padding
// columns are zeros) and dY as scalars (n ≥ N read as 0). Dispatch: x over k quads (8 threads), y over
// groups of ROWS rows (8 threads); rows and k past the ends are clamped for loading and dropped at the store.
// Variants (tuned like the forward's, GEMM_TRANSPOSED_TUNING): 'rows4' reuses each W load for 4 rows;
// 'rows1' has 4× the threads, for few rows (the head's B rows, a patch projection per frame).
import * as cpu from '../../reference/ops-backward';
import { floatToHalf, halfToFloat } from '../../checkpoint/tensor';
import { params, type KernelSource, type Runtime, type Step } from '../runtime';
import { once, random, sampleRows, sizeClass, trialRows, type KernelTuning } from '../trial';
import { gemmTolerance, packLinear, type GemmShape, type PackedLinear, type WeightDType } from './gemm';

export const GEMM_TRANSPOSED_VARIANTS = ['rows4', 'rows1'] as const;
export type GemmTransposedVariant = (typeof GEMM_TRANSPOSED_VARIANTS)[number];
const ROWS: Record<GemmTransposedVariant, number> = { rows4: 4, rows1: 1 };

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
}

// dY read as vec4 (no bounds checks) when N, ldy and yOffset are multiples of 4: every TimeSformer GEMM but the head's.
const source = (variant: GemmTransposedVariant, weights: WeightDType, accumulate: boolean, vec4Y: boolean): KernelSource => ({
  key: `gemm-transposed/${variant}/${weights}/${accumulate ? 'add' : 'set'}${vec4Y ? '/vec4-dy' : ''}`,
  bindings: ['uniform', 'read', 'read', 'write'],
  code: /* wgsl */ `
struct Params { M: u32, N: u32, K: u32, nPad4: u32, yOffset: u32, ldy: u32, xOffset: u32, ldx: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dY: array<${vec4Y ? 'vec4f' : 'f32'}>;
@group(0) @binding(2) var<storage, read> W: array<${weights === 'f16' ? 'vec2u' : 'vec4f'}>;
@group(0) @binding(3) var<storage, read_write> dX: array<f32>;

fn loadW(i: u32) -> vec4f {
  ${weights === 'f16' ? 'let h = W[i]; return vec4f(unpack2x16float(h.x), unpack2x16float(h.y));' : 'return W[i];'}
}

// dY[row, 4·n4 .. 4·n4+3], zero past N (W's padding is zero too, but dY's next row is not).
fn loadDY(row: u32, n4: u32) -> vec4f {${vec4Y ? `
  return dY[(p.yOffset + row * p.ldy) / 4u + n4];` : `
  let base = p.yOffset + row * p.ldy + n4 * 4u;
  var v = vec4f(0.0);
  for (var i = 0u; i < 4u; i++) { if (n4 * 4u + i < p.N) { v[i] = dY[base + i]; } }
  return v;`}
}

const ROWS = ${ROWS[variant]}u;
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let k0 = gid.x * 4u;
  let r0 = gid.y * ROWS;
  if (k0 >= p.K || r0 >= p.M) { return; }
  var acc: array<vec4f, ROWS>;   // acc[r][c]: row r0 + r, k0 + c
  for (var n4 = 0u; n4 < p.nPad4; n4++) {
    var w: array<vec4f, 4>;
    for (var c = 0u; c < 4u; c++) { w[c] = loadW(min(k0 + c, p.K - 1u) * p.nPad4 + n4); }
    for (var r = 0u; r < ROWS; r++) {
      let y = loadDY(min(r0 + r, p.M - 1u), n4);
      acc[r] += vec4f(dot(y, w[0]), dot(y, w[1]), dot(y, w[2]), dot(y, w[3]));
    }
  }
  for (var r = 0u; r < ROWS; r++) {
    if (r0 + r >= p.M) { break; }
    for (var c = 0u; c < 4u; c++) {
      if (k0 + c < p.K) {
        let at = p.xOffset + (r0 + r) * p.ldx + k0 + c;
        ${accumulate ? 'dX[at] += acc[r][c];' : 'dX[at] = acc[r][c];'}
      }
    }
  }
}
`,
});

/** dX (=, or += with `accumulate`) dY · Wᵀ for the packed Linear W. */
export function gemmTransposed(rt: Runtime, label: string, a: GemmTransposedArgs, variant: GemmTransposedVariant = 'rows4'): Step {
  const { linear, M } = a;
  const words = params([M, linear.N, linear.K, linear.nPad / 4, a.yOffset ?? 0, a.ldy ?? linear.N, a.xOffset ?? 0, a.ldx ?? linear.K]);
  const ldy = a.ldy ?? linear.N, vec4Y = linear.N % 4 === 0 && ldy % 4 === 0 && (a.yOffset ?? 0) % 4 === 0;
  return rt.dispatch(label, source(variant, linear.dtype, !!a.accumulate, vec4Y), words, [a.dy, linear.w, a.dx], [Math.ceil(linear.K / 32), Math.ceil(M / (8 * ROWS[variant])), 1]);
}

/** Shapes as the forward GEMM's (M rows, the Linear's N outputs and K inputs): the reduction here is over N. */
export const GEMM_TRANSPOSED_TUNING: KernelTuning<GemmShape, GemmTransposedVariant> = {
  kind: 'gemm-transposed ',
  shapeClass: (s) => `gemm-transposed M${sizeClass(s.M)} N=${s.N} K=${s.K} ${s.dtype}`,
  runnable: () => GEMM_TRANSPOSED_VARIANTS,
  candidates: () => [...GEMM_TRANSPOSED_VARIANTS],
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
