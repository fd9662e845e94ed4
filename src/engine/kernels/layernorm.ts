// LayerNorm over rows of D: y = (x − mean)/sqrt(var + eps)·γ + β, statistics in f32, two passes
// (mean, then squared deviations) for accuracy. One 64-thread workgroup per row; rows may be strided
// so that the head can normalize only the CLS rows.
import { grid, params, type KernelSource, type Runtime, type Step } from '../runtime';

const SOURCE: KernelSource = {
  key: 'layernorm',
  bindings: ['uniform', 'read', 'read', 'read', 'write'],
  code: /* wgsl */ `
struct Params { rows: u32, D: u32, eps: f32, inOffset: u32, inStride: u32, outOffset: u32, outStride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
var<workgroup> partial: array<f32, 64>;

fn workgroupSum(v: f32, li: u32) -> f32 {
  partial[li] = v;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (li < s) { partial[li] += partial[li + s]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let row = wg.x + wg.y * nwg.x;
  if (row >= p.rows) { return; }
  let src = p.inOffset + row * p.inStride;
  var s = 0.0;
  for (var i = li; i < p.D; i += 64u) { s += x[src + i]; }
  let mean = workgroupSum(s, li) / f32(p.D);
  var q = 0.0;
  for (var i = li; i < p.D; i += 64u) { let d = x[src + i] - mean; q += d * d; }
  let inv = inverseSqrt(workgroupSum(q, li) / f32(p.D) + p.eps);
  let dst = p.outOffset + row * p.outStride;
  for (var i = li; i < p.D; i += 64u) { y[dst + i] = (x[src + i] - mean) * inv * gamma[i] + beta[i]; }
}
`,
};

export interface LayerNormArgs {
  x: GPUBuffer;
  y: GPUBuffer;
  gamma: GPUBuffer;
  beta: GPUBuffer;
  rows: number;
  D: number;
  eps: number;
  inOffset?: number;
  inStride?: number;
  outOffset?: number;
  outStride?: number;
}

export function layerNorm(rt: Runtime, label: string, a: LayerNormArgs): Step {
  const words = params([a.rows, a.D, { f32: a.eps }, a.inOffset ?? 0, a.inStride ?? a.D, a.outOffset ?? 0, a.outStride ?? a.D]);
  return rt.dispatch(label, SOURCE, words, [a.x, a.gamma, a.beta, a.y], grid(a.rows));
}
