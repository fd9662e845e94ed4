// Exact GELU's backward, elementwise, in place on the gradient: dy ← dy·(Φ(x) + x·φ(x)), x the GELU's input
// (the first MLP GEMM's output before its GELU epilogue). One thread per element.
import { ELEMENT_CONSTANTS, elementGrid, params, type KernelSource, type Runtime, type Step } from '../runtime';
import { ERF_WGSL } from './erf';

const SOURCE: KernelSource = {
  key: 'gelu-backward',
  bindings: ['uniform', 'read', 'write'],
  constants: ELEMENT_CONSTANTS,
  code: /* wgsl */ `
override WORKGROUP_SIZE: u32;
struct Params { count: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> dy: array<f32>;
${ERF_WGSL}
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * nwg.x) * WORKGROUP_SIZE + li;
  if (i >= p.count) { return; }
  let v = x[i];
  // Φ(v) + v·φ(v), φ(v) = exp(−v²/2)/√(2π)
  dy[i] *= 0.5 * (1.0 + erf(v * 0.70710678118654752)) + v * exp(-0.5 * v * v) * 0.3989422804014327;
}
`,
};

/** dy[0 .. count) ← dy·GELU′(x), for x the GELU's input. */
export function geluBackward(rt: Runtime, label: string, x: GPUBuffer, dy: GPUBuffer, count: number): Step {
  return rt.dispatch(label, SOURCE, params([count]), [x, dy], elementGrid(count));
}
