// GEMM with a fused epilogue: Y = act(A · W + bias) (+ R).
//   A [M, K] f32, rows `lda` apart from `aOffset` (elements): activations.
//   W [K, nPad] f32 or f16: a Linear's weight [N, K] transposed once at load, columns padded to a
//     multiple of 4 with zeros so that every row of W is whole vec4s; bias [nPad] f32 likewise.
//   R, Y [M, N], rows `ldr`/`ldy` apart: the residual read and the output written (different buffers).
// Two variants, the same contract. Which is faster depends on the adapter (see chooseGemmVariant).
import { params, type KernelSource, type Runtime, type Step } from '../runtime';

export type GemmVariant = 'registers' | 'tiled';

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
export function packLinear(rt: Runtime, label: string, weight: Float32Array | Uint16Array, N: number, K: number, bias?: Float32Array): PackedLinear {
  const nPad = Math.ceil(N / 4) * 4;
  const wt = weight instanceof Uint16Array ? new Uint16Array(K * nPad) : new Float32Array(K * nPad);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) wt[k * nPad + n] = weight[n * K + k];
  const b = new Float32Array(nPad);
  if (bias) b.set(bias);
  const dtype: WeightDType = weight instanceof Uint16Array ? 'f16' : 'f32';
  return { w: rt.upload(`${label}.weight`, wt), dtype, bias: rt.upload(`${label}.bias`, b), K, N, nPad };
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

const header = (gelu: boolean, residual: boolean, aVec4: boolean, weights: WeightDType) => /* wgsl */ `
struct Params { M: u32, N: u32, K: u32, nPad4: u32, aOffset: u32, lda: u32, rOffset: u32, ldr: u32, yOffset: u32, ldy: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<${aVec4 ? 'vec4f' : 'f32'}>;
@group(0) @binding(2) var<storage, read> W: array<${weights === 'f16' ? 'vec2u' : 'vec4f'}>;
@group(0) @binding(3) var<storage, read> bias: array<vec4f>;
@group(0) @binding(4) var<storage, read> R: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y: array<f32>;
const GELU = ${gelu};

// Four consecutive columns of W. f16 weights (half the memory) are widened here: compute stays f32.
fn loadW(i: u32) -> vec4f {
  ${weights === 'f16' ? 'let h = W[i]; return vec4f(unpack2x16float(h.x), unpack2x16float(h.y));' : 'return W[i];'}
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

// One k of the 4 in an A vec4 (unrolled: SwiftShader does not unroll a loop over vector lanes).
const kStep = (lane: string, i: number) => /* wgsl */ `
    {
      let w0 = loadW((k4 * 4u + ${i}u) * p.nPad4 + c0);
      let w1 = loadW((k4 * 4u + ${i}u) * p.nPad4 + c1);
      s00 = fma(vec4f(x0.${lane}), w0, s00); s01 = fma(vec4f(x0.${lane}), w1, s01);
      s10 = fma(vec4f(x1.${lane}), w0, s10); s11 = fma(vec4f(x1.${lane}), w1, s11);
      s20 = fma(vec4f(x2.${lane}), w0, s20); s21 = fma(vec4f(x2.${lane}), w1, s21);
      s30 = fma(vec4f(x3.${lane}), w0, s30); s31 = fma(vec4f(x3.${lane}), w1, s31);
    }`;

// Registers with A read as vec4 along K (when K, lda and aOffset are multiples of 4, as in every
// TimeSformer GEMM): per step 4 rows × 4 k of A and 4 k × 8 columns of W feed 32 vec4 FMAs.
// Here aOffset and lda are in vec4 units.
const REGISTERS_VEC4 = /* wgsl */ `
${REGISTERS_BEGIN}
  for (var k4 = 0u; k4 < p.K / 4u; k4++) {
    let x0 = A[a0 + k4]; let x1 = A[a1 + k4]; let x2 = A[a2 + k4]; let x3 = A[a3 + k4];
${['x', 'y', 'z', 'w'].map(kStep).join('')}
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

function source(variant: GemmVariant, aVec4: boolean, gelu: boolean, residual: boolean, weights: WeightDType): KernelSource {
  const code = header(gelu, residual, aVec4, weights) + (variant === 'tiled' ? TILED : aVec4 ? REGISTERS_VEC4 : REGISTERS);
  return { key: `gemm/${variant}/vec4=${aVec4}/gelu=${gelu}/residual=${residual}/w=${weights}`, code, bindings: ['uniform', 'read', 'read', 'read', 'read', 'write'] };
}

/** Record Y = act(A·W + bias) (+ R). */
export function gemm(rt: Runtime, label: string, variant: GemmVariant, args: GemmArgs): Step {
  const { a, M, linear, y, residual } = args;
  const lda = args.lda ?? linear.K, ldy = args.ldy ?? linear.N, aOffset = args.aOffset ?? 0;
  const aVec4 = variant === 'registers' && linear.K % 4 === 0 && lda % 4 === 0 && aOffset % 4 === 0;
  const unit = aVec4 ? 4 : 1;
  const words = params([M, linear.N, linear.K, linear.nPad / 4, aOffset / unit, lda / unit, residual?.offset ?? 0, residual?.ld ?? ldy, args.yOffset ?? 0, ldy]);
  const workgroups: [number, number, number] =
    variant === 'tiled' ? [Math.ceil(linear.nPad / 64), Math.ceil(M / 64), 1] : [Math.ceil(linear.nPad / 4 / 16), Math.ceil(M / 32), 1];
  const buffers = [a, linear.w, linear.bias, residual?.buffer ?? rt.placeholder, y];
  return rt.dispatch(label, source(variant, aVec4, !!args.gelu, !!residual, linear.dtype), words, buffers, workgroups);
}

/**
 * The faster variant on this adapter, measured once per device (M=256, K=N=768, a TimeSformer-sized GEMM)
 * and remembered by the device's Runtime. CPU adapters lose with workgroup memory, GPUs win with it.
 */
export function chooseGemmVariant(rt: Runtime): Promise<GemmVariant> {
  return rt.memo('gemm-variant', () => measureGemmVariants(rt.scope()));
}

async function measureGemmVariants(rt: Runtime): Promise<GemmVariant> {
  const M = 256, K = 768, N = 768;
  const a = rt.buffer('gemm probe A', M * K * 4);
  const y = rt.buffer('gemm probe Y', M * N * 4);
  const linear = packLinear(rt, 'gemm probe', new Float32Array(N * K), N, K);
  const times: Record<GemmVariant, number> = { registers: Infinity, tiled: Infinity };
  try {
    for (const variant of ['registers', 'tiled'] as const) {
      const steps = [gemm(rt, `probe ${variant}`, variant, { a, M, linear, y })];
      rt.device.queue.submit([rt.encode(steps).finish()]);
      await rt.device.queue.onSubmittedWorkDone(); // compile + warm up
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        rt.device.queue.submit([rt.encode(steps).finish()]);
        await rt.device.queue.onSubmittedWorkDone();
        times[variant] = Math.min(times[variant], performance.now() - t0);
      }
    }
  } finally {
    rt.destroy();
  }
  return times.tiled < times.registers ? 'tiled' : 'registers';
}
