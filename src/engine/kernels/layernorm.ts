// LayerNorm over rows of D: y = (x − mean)/sqrt(var + eps)·γ + β, statistics in f32, two passes
// (mean, then squared deviations) for accuracy. One 64-thread workgroup per row; rows may be strided
// so that the head can normalize only the CLS rows.
//
// Variants differ in how the 64 threads sum: 'workgroup' (a tree in workgroup memory, 7 barriers per sum)
// or 'subgroups' (needs the `subgroups` feature: subgroupAdd, then one barrier to add the subgroups' sums).
import type { KernelNeeds } from '../device';
import { grid, params, type KernelSource, type Runtime, type Step } from '../runtime';

export const LAYER_NORM_VARIANTS = ['workgroup', 'subgroups'] as const;
export type LayerNormVariant = (typeof LAYER_NORM_VARIANTS)[number];

/** What each variant needs of the device: its partial sums in workgroup memory, the subgroups feature. */
export const LAYER_NORM_NEEDS: Record<LayerNormVariant, KernelNeeds> = {
  workgroup: { workgroupBytes: 64 * 4, invocations: 64 },
  subgroups: { workgroupBytes: 2 * 16 * 16, invocations: 64, features: ['subgroups'] },
};

const TREE_SUM = /* wgsl */ `
var<workgroup> partial: array<f32, 64>;

fn workgroupSum(v: f32, li: u32, _which: u32) -> f32 {
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
`;

// The first thread of each subgroup leaves its subgroup's sum in its own slot, the others zero, so the 64
// slots add up to the total whatever the subgroup size and layout (which WGSL does not fix); every thread
// adds them in the same order (the same result everywhere). The mean's and the variance's sums use their
// own slots (which = 0, 1), so no barrier is needed before the slots are reused.
const SUBGROUP_SUM = /* wgsl */ `
var<workgroup> slots: array<array<vec4f, 16>, 2>;
var<private> leader: bool;

fn workgroupSum(v: f32, li: u32, which: u32) -> f32 {
  let sum = subgroupAdd(v);
  slots[which][li >> 2u][li & 3u] = select(0.0, sum, leader);
  workgroupBarrier();
  var t = vec4f(0.0);
  for (var i = 0u; i < 16u; i++) { t += slots[which][i]; }
  return (t.x + t.y) + (t.z + t.w);
}
`;

const source = (variant: LayerNormVariant): KernelSource => ({
  key: `layernorm/${variant}`,
  bindings: ['uniform', 'read', 'read', 'read', 'write'],
  code: /* wgsl */ `${variant === 'subgroups' ? 'enable subgroups;' : ''}
struct Params { rows: u32, D: u32, eps: f32, inOffset: u32, inStride: u32, outOffset: u32, outStride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
${variant === 'subgroups' ? SUBGROUP_SUM : TREE_SUM}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32${variant === 'subgroups' ? ', @builtin(subgroup_invocation_id) sg: u32' : ''}) {
  ${variant === 'subgroups' ? 'leader = sg == 0u;' : ''}
  let row = wg.x + wg.y * nwg.x;
  if (row >= p.rows) { return; }
  let src = p.inOffset + row * p.inStride;
  var s = 0.0;
  for (var i = li; i < p.D; i += 64u) { s += x[src + i]; }
  let mean = workgroupSum(s, li, 0u) / f32(p.D);
  var q = 0.0;
  for (var i = li; i < p.D; i += 64u) { let d = x[src + i] - mean; q += d * d; }
  let inv = inverseSqrt(workgroupSum(q, li, 1u) / f32(p.D) + p.eps);
  let dst = p.outOffset + row * p.outStride;
  for (var i = li; i < p.D; i += 64u) { y[dst + i] = (x[src + i] - mean) * inv * gamma[i] + beta[i]; }
}
`,
});

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

export function layerNorm(rt: Runtime, label: string, a: LayerNormArgs, variant: LayerNormVariant = 'workgroup'): Step {
  const words = params([a.rows, a.D, { f32: a.eps }, a.inOffset ?? 0, a.inStride ?? a.D, a.outOffset ?? 0, a.outStride ?? a.D]);
  return rt.dispatch(label, source(variant), words, [a.x, a.gamma, a.beta, a.y], grid(a.rows));
}
