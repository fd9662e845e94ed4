// LayerNorm over rows of D: y = (x − mean)/sqrt(var + eps)·γ + β, statistics in f32, two passes
// (mean, then squared deviations) for accuracy. One workgroup of WORKGROUP_SIZE (64) threads per row (a power of two: the tree halves it); rows may be strided
// so that the head can normalize only the CLS rows.
//
// Variants differ in how the threads sum: 'workgroup' (a tree in workgroup memory, 7 barriers per sum)
// or 'subgroups' (needs the `subgroups` feature: subgroupAdd, then one barrier to add the subgroups' sums);
// 'rows' has one thread per row instead (a workgroup of 64 rows, no sums across threads, no barriers: CPU
// adapters, whose workgroups run their threads in SIMD lanes and pay for every barrier).
import * as cpu from '../../reference/ops';
import { grants, type EngineDevice, type KernelNeeds } from '../device';
import { ELEMENT_CONSTANTS, grid, params, WORKGROUP_SIZE, type KernelSource, type Runtime, type Step } from '../runtime';
import { once, random, sizeClass, trialRows, type KernelTuning } from '../trial';

export const LAYER_NORM_VARIANTS = ['workgroup', 'subgroups', 'rows'] as const;
export type LayerNormVariant = (typeof LAYER_NORM_VARIANTS)[number];

export const TREE_SUM = /* wgsl */ `
var<workgroup> partial: array<f32, WORKGROUP_SIZE>;

fn workgroupSum(v: f32, li: u32, _which: u32) -> f32 {
  partial[li] = v;
  workgroupBarrier();
  for (var s = WORKGROUP_SIZE / 2u; s > 0u; s >>= 1u) {
    if (li < s) { partial[li] += partial[li + s]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}
`;

// The first thread of each subgroup leaves its subgroup's sum in its own slot, the others zero, so the
// slots (one per thread) add up to the total whatever the subgroup size and layout (which WGSL does not
// fix); every thread adds them in the same order (the same result everywhere). The mean's and the variance's sums use their
// own slots (which = 0, 1), so no barrier is needed before the slots are reused.
export const SUBGROUP_SUM = /* wgsl */ `
// Two sets of WORKGROUP_SIZE slots, as vec4s: [which · WORKGROUP_SIZE / 4 + i].
var<workgroup> slots: array<vec4f, WORKGROUP_SIZE / 2u>;
var<private> leader: bool;

fn workgroupSum(v: f32, li: u32, which: u32) -> f32 {
  let sum = subgroupAdd(v);
  slots[which * (WORKGROUP_SIZE / 4u) + (li >> 2u)][li & 3u] = select(0.0, sum, leader);
  workgroupBarrier();
  var t = vec4f(0.0);
  for (var i = 0u; i < WORKGROUP_SIZE / 4u; i++) { t += slots[which * (WORKGROUP_SIZE / 4u) + i]; }
  return (t.x + t.y) + (t.z + t.w);
}
`;

/**
 * What a variant's kernels share, forward and backward: the WGSL of its workgroupSum (summing a row's lanes) and
 * rowStats (the row's mean and 1/sqrt(variance + eps) from x[src ..], two passes: needs `x`, `p.D`, `p.eps`),
 * the entry point's extra builtins and first lines (`row`, and `lane` of `lanes` threads per row), and its grid.
 */
export function layerNormParts(variant: LayerNormVariant) {
  const perThread = variant === 'rows';
  const lanes = perThread ? '1u' : 'WORKGROUP_SIZE';
  const sum = variant === 'rows' ? 'fn workgroupSum(v: f32, _lane: u32, _which: u32) -> f32 { return v; }' : variant === 'subgroups' ? SUBGROUP_SUM : TREE_SUM;
  return {
    enable: variant === 'subgroups' ? 'enable subgroups;' : '',
    wgsl: /* wgsl */ `${sum}
fn rowStats(src: u32, lane: u32) -> vec2f {
  var s = 0.0;
  for (var i = lane; i < p.D; i += ${lanes}) { s += x[src + i]; }
  let mean = workgroupSum(s, lane, 0u) / f32(p.D);
  var q = 0.0;
  for (var i = lane; i < p.D; i += ${lanes}) { let d = x[src + i] - mean; q += d * d; }
  return vec2f(mean, inverseSqrt(workgroupSum(q, lane, 1u) / f32(p.D) + p.eps));
}
`,
    builtins: variant === 'subgroups' ? ', @builtin(subgroup_invocation_id) sg: u32' : '',
    begin: /* wgsl */ `${variant === 'subgroups' ? 'leader = sg == 0u;' : ''}
  let row = ${perThread ? '(wg.x + wg.y * nwg.x) * WORKGROUP_SIZE + li' : 'wg.x + wg.y * nwg.x'};
  let lane = ${perThread ? '0u' : 'li'};`,
    lanes,
    grid: (rows: number) => grid(perThread ? Math.ceil(rows / WORKGROUP_SIZE) : rows),
  };
}

const source = (variant: LayerNormVariant): KernelSource => {
  const parts = layerNormParts(variant);
  return {
    key: `layernorm/${variant}`,
    bindings: ['uniform', 'read', 'read', 'read', 'write'],
    constants: ELEMENT_CONSTANTS,
    code: /* wgsl */ `${parts.enable}
override WORKGROUP_SIZE: u32;
struct Params { rows: u32, D: u32, eps: f32, inOffset: u32, inStride: u32, outOffset: u32, outStride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
${parts.wgsl}
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32${parts.builtins}) {
  ${parts.begin}
  if (row >= p.rows) { return; }
  let src = p.inOffset + row * p.inStride;
  let stats = rowStats(src, lane);
  let mean = stats.x;
  let inv = stats.y;
  let dst = p.outOffset + row * p.outStride;
  for (var i = lane; i < p.D; i += ${parts.lanes}) { y[dst + i] = (x[src + i] - mean) * inv * gamma[i] + beta[i]; }
}
`,
  };
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

export function layerNorm(rt: Runtime, label: string, a: LayerNormArgs, variant: LayerNormVariant = 'workgroup'): Step {
  const words = params([a.rows, a.D, { f32: a.eps }, a.inOffset ?? 0, a.inStride ?? a.D, a.outOffset ?? 0, a.outStride ?? a.D]);
  return rt.dispatch(label, source(variant), words, [a.x, a.gamma, a.beta, a.y], layerNormParts(variant).grid(a.rows));
}

/** A LayerNorm shape class's representative: `rows` rows of D. */
export interface LayerNormShape {
  rows: number;
  D: number;
}

/** What each variant needs of the device: its partial sums in workgroup memory, the subgroups feature. */
export const LAYER_NORM_NEEDS: Record<LayerNormVariant, KernelNeeds> = {
  workgroup: { workgroupBytes: WORKGROUP_SIZE * 4, invocations: WORKGROUP_SIZE },
  subgroups: { workgroupBytes: 2 * WORKGROUP_SIZE * 4, invocations: WORKGROUP_SIZE, features: ['subgroups'] },
  rows: { workgroupBytes: 0, invocations: WORKGROUP_SIZE },
};

const layerNormVariants = (gpu: EngineDevice) => LAYER_NORM_VARIANTS.filter((v) => grants(gpu, LAYER_NORM_NEEDS[v]));

export const LAYER_NORM_TUNING: KernelTuning<LayerNormShape, LayerNormVariant> = {
  kind: 'layernorm ',
  shapeClass: (s) => `layernorm rows${sizeClass(s.rows)} D=${s.D}`,
  runnable: layerNormVariants,
  candidates: layerNormVariants,
  trial(rt, shape) {
    const { D } = shape;
    const rows = trialRows(rt, shape.rows);
    const made = once(() => {
      const x = random(rows * D, 5).map((v, i) => 3 * v + (i % 7)), gamma = random(D, 6), beta = random(D, 7);
      return { x, gamma, beta, want: cpu.layerNorm(x, rows, D, gamma, beta, 1e-6) };
    });
    return (scope, variant) => {
      const { x, gamma, beta, want } = made();
      const y = scope.buffer('tune y', rows * D * 4);
      const args = { x: scope.upload('tune x', x), y, gamma: scope.upload('tune gamma', gamma), beta: scope.upload('tune beta', beta), rows, D, eps: 1e-6 };
      return {
        steps: [layerNorm(scope, `tune ${variant}`, args, variant)],
        async check() {
          const out = await scope.read(y, rows * D * 4);
          for (let i = 0; i < want.length; i++) {
            const err = Math.abs(out[i] - want[i]);
            if (!(err <= 1e-5)) return `element ${i}: |error| ${err.toExponential(2)}`;
          }
          return undefined;
        },
      };
    };
  },
};
