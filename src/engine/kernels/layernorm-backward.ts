// LayerNorm's backward for its input, from the forward's input x (statistics recomputed, as the forward
// computes them: two passes) and dy:  with x̂ = (x − mean)·inv and g = dy·γ,
//   dx = inv·(g − mean(g) − x̂·mean(g·x̂))        (= or += dx when accumulating into a residual's gradient).
// Threads and sums as the forward's variants (layernorm.ts: a workgroup per row summing by a 'workgroup' tree or
// 'subgroups', or a thread per row, 'rows'); rows may be strided; four sums, alternating the sum slots.
import { ELEMENT_CONSTANTS, params, type KernelSource, type Runtime, type Step } from '../runtime';
import { layerNormParts, type LayerNormVariant } from './layernorm';

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

const source = (variant: LayerNormVariant, accumulate: boolean): KernelSource => {
  const parts = layerNormParts(variant);
  return {
    key: `layernorm-backward/${variant}/${accumulate ? 'add' : 'set'}`,
    bindings: ['uniform', 'read', 'read', 'read', 'write'],
    constants: ELEMENT_CONSTANTS,
    code: /* wgsl */ `${parts.enable}
override WORKGROUP_SIZE: u32;
struct Params { rows: u32, D: u32, eps: f32, xOffset: u32, xStride: u32, dyOffset: u32, dyStride: u32, dxOffset: u32, dxStride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
${parts.wgsl}
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32${parts.builtins}) {
  ${parts.begin}
  if (row >= p.rows) { return; }
  let xs = p.xOffset + row * p.xStride;
  let ys = p.dyOffset + row * p.dyStride;
  let stats = rowStats(xs, lane);
  let mean = stats.x;
  let inv = stats.y;
  var g = 0.0;
  var gx = 0.0;
  for (var i = lane; i < p.D; i += ${parts.lanes}) {
    let gi = dy[ys + i] * gamma[i];
    g += gi;
    gx += gi * (x[xs + i] - mean) * inv;
  }
  let meanG = workgroupSum(g, lane, 0u) / f32(p.D);
  let meanGx = workgroupSum(gx, lane, 1u) / f32(p.D);
  let ds = p.dxOffset + row * p.dxStride;
  for (var i = lane; i < p.D; i += ${parts.lanes}) {
    let v = inv * (dy[ys + i] * gamma[i] - meanG - (x[xs + i] - mean) * inv * meanGx);
    ${accumulate ? 'dx[ds + i] += v;' : 'dx[ds + i] = v;'}
  }
}
`,
  };
};

export function layerNormBackward(rt: Runtime, label: string, a: LayerNormBackwardArgs, variant: LayerNormVariant = 'workgroup'): Step {
  const words = params([a.rows, a.D, { f32: a.eps }, a.xOffset ?? 0, a.xStride ?? a.D, a.dyOffset ?? 0, a.dyStride ?? a.D, a.dxOffset ?? 0, a.dxStride ?? a.D]);
  return rt.dispatch(label, source(variant, !!a.accumulate), words, [a.x, a.gamma, a.dy, a.dx], layerNormParts(variant).grid(a.rows));
}
