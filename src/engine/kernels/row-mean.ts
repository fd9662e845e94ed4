// In place: row dst = scale · the sum of `count` rows starting at src, `stride` elements apart (all of width D);
// scale 1/count by default, the mean. Divided attention averages the T per-frame CLS outputs of spatial
// attention into one CLS row; its backward sums the T per-frame CLS gradients (scale 1) and shares the CLS
// output's gradient among the frames (count 1, scale 1/T).
import { ELEMENT_CONSTANTS, elementGrid, params, type KernelSource, type Runtime, type Step } from '../runtime';

const SOURCE: KernelSource = {
  key: 'row-mean',
  bindings: ['uniform', 'write'],
  constants: ELEMENT_CONSTANTS,
  code: /* wgsl */ `
override WORKGROUP_SIZE: u32;
struct Params { D: u32, count: u32, src: u32, stride: u32, dst: u32, scale: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= p.D) { return; }
  var s = 0.0;
  for (var t = 0u; t < p.count; t++) { s += x[p.src + t * p.stride + c]; }
  x[p.dst + c] = s * p.scale;
}
`,
};

export function rowMean(rt: Runtime, label: string, x: GPUBuffer, D: number, count: number, src: number, stride: number, dst: number, scale = 1 / count): Step {
  return rt.dispatch(label, SOURCE, params([D, count, src, stride, dst, { f32: scale }]), [x], elementGrid(D));
}
