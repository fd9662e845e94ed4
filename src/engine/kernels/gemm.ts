// GEMM with a fused epilogue: Y = act(A · W + bias) (+ R).
//   A [M, K] f32, rows `lda` apart from `aOffset` (elements): activations.
//   W [K, nPad] f32 or f16: a Linear's weight [N, K] transposed once at load, columns padded to a
//     multiple of 4 with zeros so that every row of W is whole vec4s; bias [nPad] f32 likewise.
//   R, Y [M, N], rows `ldr`/`ldy` apart: the residual read and the output written (different buffers).
// Several variants, one contract. Which is fastest depends on the adapter and the shape: the autotuner
// (src/engine/autotune.ts) validates each against the CPU reference and times it.
import { GpuError, grants, type EngineDevice, type KernelNeeds } from '../device';
import { params, type KernelSource, type Runtime, type Step } from '../runtime';

/**
 * 'registers': no workgroup memory (CPU adapters); 'tiled': 64×64 workgroup-memory tile, 4×4 per thread;
 * 'tiled-128x64': 128×64 tile, 8×4 per thread, A loaded as vec4 (more reuse per load: real GPUs);
 * 'tiled-128x128': 128×128 tile, 8×8 per thread (twice the arithmetic per workgroup-memory read of 128×64:
 * the big GEMMs on big GPUs);
 * 'registers-f16': f16 arithmetic on f16-stored weights (needs `shader-f16`, K a multiple of 4).
 */
export const GEMM_VARIANTS = ['registers', 'tiled', 'tiled-128x64', 'tiled-128x128', 'registers-f16'] as const;
export type GemmVariant = (typeof GEMM_VARIANTS)[number];

/** What each variant needs of the device: its tiles in workgroup memory, its workgroup, shader-f16. */
export const GEMM_NEEDS: Record<GemmVariant, KernelNeeds> = {
  registers: { workgroupBytes: 0, invocations: 64 },
  tiled: { workgroupBytes: 8 * 2 ** 10, invocations: 256 },
  'tiled-128x64': { workgroupBytes: 12 * 2 ** 10, invocations: 256 },
  'tiled-128x128': { workgroupBytes: 16 * 2 ** 10, invocations: 256 },
  'registers-f16': { workgroupBytes: 0, invocations: 64, features: ['shader-f16'] },
};

/** How W is stored on the GPU: f32, or f16 (half the memory; widened to f32 as it is read). */
export type WeightDType = 'f32' | 'f16';

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

const header = (gelu: boolean, residual: boolean, aVec4: boolean, weights: WeightDType, f16Math: boolean) => /* wgsl */ `${f16Math ? 'enable f16;' : ''}
struct Params { M: u32, N: u32, K: u32, nPad4: u32, aOffset: u32, lda: u32, rOffset: u32, ldr: u32, yOffset: u32, ldy: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<${aVec4 ? 'vec4f' : 'f32'}>;
@group(0) @binding(2) var<storage, read> W: array<${f16Math ? 'vec4h' : weights === 'f16' ? 'vec2u' : 'vec4f'}>;
@group(0) @binding(3) var<storage, read> bias: array<vec4f>;
@group(0) @binding(4) var<storage, read> R: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y: array<f32>;
const GELU = ${gelu};

// Four consecutive columns of W. f16 weights (half the memory) are widened here: compute stays f32.
fn loadW(i: u32) -> vec4f {
  ${f16Math ? 'return vec4f(W[i]);' : weights === 'f16' ? 'let h = W[i]; return vec4f(unpack2x16float(h.x), unpack2x16float(h.y));' : 'return W[i];'}
}
const RESIDUAL = ${residual};

// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, about float32 rounding): WGSL has no erf.
fn erf(x: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.3275911 * abs(x));
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-x * x);
  return select(-y, y, x >= 0.0);
}

fn store(row: u32, col4: u32, acc: vec4f) {
  if (row >= p.M) { return; }
  let v = acc + bias[col4];
  for (var i = 0u; i < 4u; i++) {
    let col = col4 * 4u + i;
    if (col < p.N) {
      var x = v[i];
      if (GELU) { x = 0.5 * x * (1.0 + erf(x * 0.70710678118654752)); }
      if (RESIDUAL) { x += R[p.rOffset + row * p.ldr + col]; }
      Y[p.yOffset + row * p.ldy + col] = x;
    }
  }
}
`;

// Registers: each thread owns 4 rows × 8 columns (2 vec4) and reads A and W straight from memory.
// No workgroup memory and no barriers: the fastest shape on CPU adapters (SwiftShader, lavapipe).
// Dispatch: x over column pairs of vec4 (8 threads), y over row quads (8 threads).
// Thread (x, y) owns rows r0..r0+3 and vec4 columns c0, c1; rows past M are clamped for loading and
// dropped at the store; a1..a3 index A in the kernel's units (f32 or vec4).
const REGISTERS_BEGIN = /* wgsl */ `
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c0 = gid.x * 2u;
  let r0 = gid.y * 4u;
  if (c0 >= p.nPad4 || r0 >= p.M) { return; }
  let c1 = min(c0 + 1u, p.nPad4 - 1u);
  let a0 = p.aOffset + r0 * p.lda;
  let a1 = p.aOffset + min(r0 + 1u, p.M - 1u) * p.lda;
  let a2 = p.aOffset + min(r0 + 2u, p.M - 1u) * p.lda;
  let a3 = p.aOffset + min(r0 + 3u, p.M - 1u) * p.lda;
  var s00 = vec4f(0.0); var s01 = vec4f(0.0); var s10 = vec4f(0.0); var s11 = vec4f(0.0);
  var s20 = vec4f(0.0); var s21 = vec4f(0.0); var s30 = vec4f(0.0); var s31 = vec4f(0.0);`;
const REGISTERS_END = /* wgsl */ `
  store(r0, c0, s00); store(r0 + 1u, c0, s10); store(r0 + 2u, c0, s20); store(r0 + 3u, c0, s30);
  if (c0 + 1u < p.nPad4) {
    store(r0, c1, s01); store(r0 + 1u, c1, s11); store(r0 + 2u, c1, s21); store(r0 + 3u, c1, s31);
  }
}
`;

const REGISTERS = /* wgsl */ `
${REGISTERS_BEGIN}
  for (var k = 0u; k < p.K; k++) {
    let w0 = loadW(k * p.nPad4 + c0);
    let w1 = loadW(k * p.nPad4 + c1);
    let x0 = A[a0 + k]; let x1 = A[a1 + k]; let x2 = A[a2 + k]; let x3 = A[a3 + k];
    s00 = fma(vec4f(x0), w0, s00); s01 = fma(vec4f(x0), w1, s01);
    s10 = fma(vec4f(x1), w0, s10); s11 = fma(vec4f(x1), w1, s11);
    s20 = fma(vec4f(x2), w0, s20); s21 = fma(vec4f(x2), w1, s21);
    s30 = fma(vec4f(x3), w0, s30); s31 = fma(vec4f(x3), w1, s31);
  }
${REGISTERS_END}
`;

// One k of the 4 in an A vec4 (unrolled: SwiftShader does not unroll a loop over vector lanes). With
// f16 arithmetic the products go to f16 partial sums `h..` (vec4h W read as is), else straight to `s..`.
const kStep = (f16: boolean) => (lane: string, i: number) => {
  const [splat, acc] = f16 ? ['vec4h', 'h'] : ['vec4f', 's'];
  const w = (c: string) => (f16 ? `W[(k4 * 4u + ${i}u) * p.nPad4 + ${c}]` : `loadW((k4 * 4u + ${i}u) * p.nPad4 + ${c})`);
  return /* wgsl */ `
    {
      let w0 = ${w('c0')};
      let w1 = ${w('c1')};
${[0, 1, 2, 3].map((r) => `      ${acc}${r}0 = fma(${splat}(x${r}.${lane}), w0, ${acc}${r}0); ${acc}${r}1 = fma(${splat}(x${r}.${lane}), w1, ${acc}${r}1);`).join('\n')}
    }`;
};
const LANES = ['x', 'y', 'z', 'w'];

// Registers with A read as vec4 along K (when K, lda and aOffset are multiples of 4, as in every
// TimeSformer GEMM): per step 4 rows × 4 k of A and 4 k × 8 columns of W feed 32 vec4 FMAs.
// Here aOffset and lda are in vec4 units.
const REGISTERS_VEC4 = /* wgsl */ `
${REGISTERS_BEGIN}
  for (var k4 = 0u; k4 < p.K / 4u; k4++) {
    let x0 = A[a0 + k4]; let x1 = A[a1 + k4]; let x2 = A[a2 + k4]; let x3 = A[a3 + k4];
${LANES.map(kStep(false)).join('')}
  }
${REGISTERS_END}
`;

// Registers with f16 arithmetic: A rounded to f16, 4 k of products summed in f16 (vec4h FMAs: twice the
// rate of f32 on GPUs that have them), each 4-k partial then added to the f32 accumulators, so the
// error grows with 4 products, not with K. Needs vec4 A (K, lda, aOffset multiples of 4) and f16 W.
const ACCUMULATORS = ['00', '01', '10', '11', '20', '21', '30', '31'];
const REGISTERS_F16 = /* wgsl */ `
${REGISTERS_BEGIN}
  for (var k4 = 0u; k4 < p.K / 4u; k4++) {
    let x0 = vec4h(A[a0 + k4]); let x1 = vec4h(A[a1 + k4]); let x2 = vec4h(A[a2 + k4]); let x3 = vec4h(A[a3 + k4]);
    ${ACCUMULATORS.map((a) => `var h${a} = vec4h(0.0);`).join(' ')}
${LANES.map(kStep(true)).join('')}
    ${ACCUMULATORS.map((a) => `s${a} += vec4f(h${a});`).join(' ')}
  }
${REGISTERS_END}
`;

// Tiled: a 64×64 output tile per 16×16 workgroup, each thread 4 rows × 1 vec4; K walked in steps
// of 16 through workgroup memory (A tile 64×16, W tile 16×16 vec4), so each value loaded from
// memory serves 16 (A) or 64 (W) threads. The fastest shape on real GPUs.
const TILED = /* wgsl */ `
var<workgroup> As: array<array<f32, 16>, 64>;
var<workgroup> Ws: array<array<vec4f, 16>, 16>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) l: vec3u, @builtin(local_invocation_index) li: u32) {
  let rowBase = wg.y * 64u;
  let col4 = wg.x * 16u + l.x;
  var acc0 = vec4f(0.0); var acc1 = vec4f(0.0); var acc2 = vec4f(0.0); var acc3 = vec4f(0.0);
  for (var k0 = 0u; k0 < p.K; k0 += 16u) {
    for (var i = 0u; i < 4u; i++) {
      let e = li + i * 256u;
      let row = rowBase + (e >> 4u);
      let k = k0 + (e & 15u);
      var v = 0.0;
      if (row < p.M && k < p.K) { v = A[p.aOffset + row * p.lda + k]; }
      As[e >> 4u][e & 15u] = v;
    }
    let k = k0 + l.y;
    var w = vec4f(0.0);
    if (k < p.K && col4 < p.nPad4) { w = loadW(k * p.nPad4 + col4); }
    Ws[l.y][l.x] = w;
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let b = Ws[kk][l.x];
      acc0 = fma(vec4f(As[l.y * 4u][kk]), b, acc0);
      acc1 = fma(vec4f(As[l.y * 4u + 1u][kk]), b, acc1);
      acc2 = fma(vec4f(As[l.y * 4u + 2u][kk]), b, acc2);
      acc3 = fma(vec4f(As[l.y * 4u + 3u][kk]), b, acc3);
    }
    workgroupBarrier();
  }
  if (col4 < p.nPad4) {
    let r = rowBase + l.y * 4u;
    store(r, col4, acc0); store(r + 1u, col4, acc1); store(r + 2u, col4, acc2); store(r + 3u, col4, acc3);
  }
}
`;

// A[row, k..k+3] (zeros past M and K); with vec4 A, aOffset and lda are in vec4 units and K % 4 = 0.
const LOAD_A4 = (aVec4: boolean) => /* wgsl */ `
fn loadA4(row: u32, k: u32) -> vec4f {
  if (row >= p.M || k >= p.K) { return vec4f(0.0); }
  ${aVec4
    ? 'return A[p.aOffset + row * p.lda + k / 4u];'
    : `let base = p.aOffset + row * p.lda + k;
  var v = vec4f(0.0);
  for (var i = 0u; i < 4u; i++) { if (k + i < p.K) { v[i] = A[base + i]; } }
  return v;`}
}
`;

// Tiled 128×64: a 16×16 workgroup, each thread 8 rows × 1 vec4 (rows l.y·8 … l.y·8+7); K in steps of 16
// through workgroup memory, the A tile (128 rows × 4 vec4 along K) loaded as vec4 (two per thread) when A
// is vec4-aligned. Twice the rows of 'tiled' per W value loaded: more arithmetic per byte moved.
const ROWS_128 = [0, 1, 2, 3, 4, 5, 6, 7];
const TILED_128X64 = (aVec4: boolean) => /* wgsl */ `
var<workgroup> As: array<vec4f, 512>;
var<workgroup> Ws: array<array<vec4f, 16>, 16>;
${LOAD_A4(aVec4)}
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) l: vec3u, @builtin(local_invocation_index) li: u32) {
  let rowBase = wg.y * 128u;
  let col4 = wg.x * 16u + l.x;
  ${ROWS_128.map((r) => `var acc${r} = vec4f(0.0);`).join(' ')}
  for (var k0 = 0u; k0 < p.K; k0 += 16u) {
    for (var i = 0u; i < 2u; i++) {
      let e = li + i * 256u;
      As[e] = loadA4(rowBase + (e >> 2u), k0 + (e & 3u) * 4u);
    }
    let k = k0 + l.y;
    var w = vec4f(0.0);
    if (k < p.K && col4 < p.nPad4) { w = loadW(k * p.nPad4 + col4); }
    Ws[l.y][l.x] = w;
    workgroupBarrier();
    for (var k4 = 0u; k4 < 4u; k4++) {
      let w0 = Ws[k4 * 4u][l.x]; let w1 = Ws[k4 * 4u + 1u][l.x]; let w2 = Ws[k4 * 4u + 2u][l.x]; let w3 = Ws[k4 * 4u + 3u][l.x];
${ROWS_128.map((r) => `      { let a = As[(l.y * 8u + ${r}u) * 4u + k4]; acc${r} = fma(vec4f(a.x), w0, acc${r}); acc${r} = fma(vec4f(a.y), w1, acc${r}); acc${r} = fma(vec4f(a.z), w2, acc${r}); acc${r} = fma(vec4f(a.w), w3, acc${r}); }`).join('\n')}
    }
    workgroupBarrier();
  }
  if (col4 < p.nPad4) {
    let r = rowBase + l.y * 8u;
    ${ROWS_128.map((r) => `store(r + ${r}u, col4, acc${r});`).join(' ')}
  }
}
`;

// Tiled 128×128: a 16×16 workgroup, each thread 8 rows × 2 vec4: rows l.y + 16i and vec4 columns l.x + 16j
// of the tile, strided so that a warp's workgroup-memory reads are consecutive vec4s of W and one broadcast
// value of A. K in steps of 16; the A tile is stored transposed (As[k][row]) so each k's 8 values per thread
// are plain scalar reads; 16 vec4 FMAs per 8 scalar + 2 vec4 reads (128×64: 8 per 8 + 1).
const COLS_128 = [0, 1];
const acc128 = (i: number, j: number) => `acc${i}_${j}`;
const TILED_128X128 = (aVec4: boolean) => /* wgsl */ `
var<workgroup> As: array<array<f32, 128>, 16>;
var<workgroup> Ws: array<array<vec4f, 32>, 16>;
${LOAD_A4(aVec4)}
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) l: vec3u, @builtin(local_invocation_index) li: u32) {
  let rowBase = wg.y * 128u;
  let colBase4 = wg.x * 32u;
  ${ROWS_128.flatMap((i) => COLS_128.map((j) => `var ${acc128(i, j)} = vec4f(0.0);`)).join(' ')}
  for (var k0 = 0u; k0 < p.K; k0 += 16u) {
    // A: 128 rows × 4 k-quads, two per thread, stored transposed. W: 16 k × 32 vec4, two per thread.
    for (var q = 0u; q < 2u; q++) {
      let e = li + q * 256u;
      let r = e >> 2u;
      let kq = (e & 3u) * 4u;
      let a = loadA4(rowBase + r, k0 + kq);
      As[kq][r] = a.x; As[kq + 1u][r] = a.y; As[kq + 2u][r] = a.z; As[kq + 3u][r] = a.w;
      let k = k0 + (e >> 5u);
      let c4 = colBase4 + (e & 31u);
      var w = vec4f(0.0);
      if (k < p.K && c4 < p.nPad4) { w = loadW(k * p.nPad4 + c4); }
      Ws[e >> 5u][e & 31u] = w;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let b0 = Ws[kk][l.x]; let b1 = Ws[kk][l.x + 16u];
${ROWS_128.map((i) => `      { let a = vec4f(As[kk][l.y + ${16 * i}u]); ${acc128(i, 0)} = fma(a, b0, ${acc128(i, 0)}); ${acc128(i, 1)} = fma(a, b1, ${acc128(i, 1)}); }`).join('\n')}
    }
    workgroupBarrier();
  }
${COLS_128.map((j) => `  if (colBase4 + l.x + ${16 * j}u < p.nPad4) {
    ${ROWS_128.map((i) => `store(rowBase + l.y + ${16 * i}u, colBase4 + l.x + ${16 * j}u, ${acc128(i, j)});`).join(' ')}
  }`).join('\n')}
}
`;

/** Whether A can be read as vec4 along K (every TimeSformer GEMM: K, lda and aOffset multiples of 4). */
const vec4Aligned = (K: number, lda: number, aOffset: number) => K % 4 === 0 && lda % 4 === 0 && aOffset % 4 === 0;

/** The variants that can run this GEMM on this device (what it grants; f16 arithmetic also needs f16 weights and vec4 A). */
export function gemmVariantsFor(gpu: EngineDevice, dtype: WeightDType, K: number, lda = K, aOffset = 0): GemmVariant[] {
  return GEMM_VARIANTS.filter((v) => grants(gpu, GEMM_NEEDS[v]) && (v !== 'registers-f16' || (dtype === 'f16' && vec4Aligned(K, lda, aOffset))));
}

function source(variant: GemmVariant, aVec4: boolean, gelu: boolean, residual: boolean, weights: WeightDType): KernelSource {
  const f16Math = variant === 'registers-f16';
  const body = { registers: aVec4 ? REGISTERS_VEC4 : REGISTERS, tiled: TILED, 'tiled-128x64': TILED_128X64(aVec4), 'tiled-128x128': TILED_128X128(aVec4), 'registers-f16': REGISTERS_F16 }[variant];
  const code = header(gelu, residual, aVec4, weights, f16Math) + body;
  return { key: `gemm/${variant}/vec4=${aVec4}/gelu=${gelu}/residual=${residual}/w=${weights}`, code, bindings: ['uniform', 'read', 'read', 'read', 'read', 'write'] };
}

/** Record Y = act(A·W + bias) (+ R). */
export function gemm(rt: Runtime, label: string, variant: GemmVariant, args: GemmArgs): Step {
  const { a, M, linear, y, residual } = args;
  const lda = args.lda ?? linear.K, ldy = args.ldy ?? linear.N, aOffset = args.aOffset ?? 0;
  if (!gemmVariantsFor(rt.gpu, linear.dtype, linear.K, lda, aOffset).includes(variant)) {
    throw new GpuError(`${label}: GEMM variant ${variant} cannot run K=${linear.K} (lda ${lda}, offset ${aOffset}) with ${linear.dtype} weights on this device`);
  }
  const aVec4 = variant !== 'tiled' && vec4Aligned(linear.K, lda, aOffset);
  const unit = aVec4 ? 4 : 1;
  const words = params([M, linear.N, linear.K, linear.nPad / 4, aOffset / unit, lda / unit, residual?.offset ?? 0, residual?.ld ?? ldy, args.yOffset ?? 0, ldy]);
  const [tileRows, tileColumns] = { registers: [32, 64], 'registers-f16': [32, 64], tiled: [64, 64], 'tiled-128x64': [128, 64], 'tiled-128x128': [128, 128] }[variant];
  const workgroups: [number, number, number] = [Math.ceil(linear.nPad / tileColumns), Math.ceil(M / tileRows), 1];
  const buffers = [a, linear.w, linear.bias, residual?.buffer ?? rt.placeholder, y];
  return rt.dispatch(label, source(variant, aVec4, !!args.gelu, !!residual, linear.dtype), words, buffers, workgroups);
}
