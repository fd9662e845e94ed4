// LayerNorm's backward for its input, from the forward's input x (statistics recomputed, as the forward
// computes them: two passes) and dy:  with x̂ = (x − mean)·inv and g = dy·γ,
//   dx = inv·(g − mean(g) − x̂·mean(g·x̂))        (= or += dx when accumulating into a residual's gradient).
// One workgroup of WORKGROUP_SIZE threads per row (rows may be strided), summing like the forward's variants
// (layernorm.ts: 'workgroup' tree or 'subgroups'); four sums, alternating the sum slots.
import { ELEMENT_CONSTANTS, grid, params, type KernelSource, type Runtime, type Step } from '../runtime';
import { ROW_STATS_WGSL, SUBGROUP_SUM, TREE_SUM, type LayerNormVariant } from './layernorm';

export interface LayerNormBackwardArgs {
  x: GPUBuffer;
  gamma: GPUBuffer;
  dy: GPUBuffer;
  dx: GPUBuffer;
  rows: number;
  D: number;
  eps: number;
  xOffset?: number;
  xStride?: number;
  dyOffset?: number;
  dyStride?: number;
  dxOffset?: number;
  dxStride?: number;
  accumulate?: boolean;
}

const source = (variant: LayerNormVariant, accumulate: boolean): KernelSource => ({
  key: `layernorm-backward/${variant}/${accumulate ? 'add' : 'set'}`,
  bindings: ['uniform', 'read', 'read', 'read', 'write'],
  constants: ELEMENT_CONSTANTS,
  code: /* wgsl */ `${variant === 'subgroups' ? 'enable subgroups;' : ''}
override WORKGROUP_SIZE: u32;
struct Params { rows: u32, D: u32, eps: f32, xOffset: u32, xStride: u32, dyOffset: u32, dyStride: u32, dxOffset: u32, dxStride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
${variant === 'subgroups' ? SUBGROUP_SUM : TREE_SUM}
${ROW_STATS_WGSL}
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32${variant === 'subgroups' ? ', @builtin(subgroup_invocation_id) sg: u32' : ''}) {
  ${variant === 'subgroups' ? 'leader = sg == 0u;' : ''}
  let row = wg.x + wg.y * nwg.x;
  if (row >= p.rows) { return; }
  let xs = p.xOffset + row * p.xStride;
  let ys = p.dyOffset + row * p.dyStride;
  let stats = rowStats(xs, li);
  let mean = stats.x;
  let inv = stats.y;
  var g = 0.0;
  var gx = 0.0;
  for (var i = li; i < p.D; i += WORKGROUP_SIZE) {
    let gi = dy[ys + i] * gamma[i];
    g += gi;
    gx += gi * (x[xs + i] - mean) * inv;
  }
  let meanG = workgroupSum(g, li, 0u) / f32(p.D);
  let meanGx = workgroupSum(gx, li, 1u) / f32(p.D);
  let ds = p.dxOffset + row * p.dxStride;
  for (var i = li; i < p.D; i += WORKGROUP_SIZE) {
    let v = inv * (dy[ys + i] * gamma[i] - meanG - (x[xs + i] - mean) * inv * meanGx);
    ${accumulate ? 'dx[ds + i] += v;' : 'dx[ds + i] = v;'}
  }
}
`,
});

export function layerNormBackward(rt: Runtime, label: string, a: LayerNormBackwardArgs, variant: LayerNormVariant = 'workgroup'): Step {
  const words = params([a.rows, a.D, { f32: a.eps }, a.xOffset ?? 0, a.xStride ?? a.D, a.dyOffset ?? 0, a.dyStride ?? a.D, a.dxOffset ?? 0, a.dxStride ?? a.D]);
  return rt.dispatch(label, source(variant, !!a.accumulate), words, [a.x, a.gamma, a.dy, a.dx], grid(a.rows));
}
