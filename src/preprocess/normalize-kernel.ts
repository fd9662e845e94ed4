// Crop, rescale and normalize resized frames into the model input: frames [slots, 3, regionH, regionW]
// (0..255, from resize-kernel.ts) → pixels [T, 3, cropH, cropW] = (v · rescale − mean[c]) / std[c],
// where frame t is store slot slots[t] and the crop starts at (x0, y0) of the region.
// One invocation per output pixel (x, y), looping over frames and channels: few invocations and no
// divisions, which is what CPU adapters such as SwiftShader run fastest; workgroups of 64 along x.
import { params, type KernelSource, type Runtime, type Step } from '../engine/runtime';

const SOURCE: KernelSource = {
  key: 'preprocess-normalize',
  bindings: ['uniform', 'read', 'read', 'write'],
  code: /* wgsl */ `
struct Params {
  T: u32, cropW: u32, cropH: u32, regionW: u32, regionH: u32, x0: u32, y0: u32, rescale: f32,
  mean: vec4f,
  deviation: vec4f,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> frames: array<f32>;
@group(0) @binding(2) var<storage, read> slots: array<u32>;
@group(0) @binding(3) var<storage, read_write> pixels: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let x = gid.x;
  let y = gid.y;
  if (x >= p.cropW) { return; }
  let source = (y + p.y0) * p.regionW + x + p.x0;
  let plane = p.regionW * p.regionH;
  for (var t = 0u; t < p.T; t++) {
    for (var c = 0u; c < 3u; c++) {
      let v = frames[(slots[t] * 3u + c) * plane + source];
      pixels[((t * 3u + c) * p.cropH + y) * p.cropW + x] = (v * p.rescale - p.mean[c]) / p.deviation[c];
    }
  }
}
`,
};

export interface NormalizeArgs {
  frames: GPUBuffer;
  slots: GPUBuffer;
  pixels: GPUBuffer;
  T: number;
  crop: { width: number; height: number; x: number; y: number };
  region: { width: number; height: number };
  rescale: number;
  mean: [number, number, number];
  std: [number, number, number];
}

export function normalize(rt: Runtime, label: string, a: NormalizeArgs): Step {
  const f = (v: number) => ({ f32: v });
  // mean and std are vec4s (16-byte aligned: words 8 and 12); their 4th lanes are unused.
  const words = params([a.T, a.crop.width, a.crop.height, a.region.width, a.region.height, a.crop.x, a.crop.y, f(a.rescale), ...[...a.mean, 0].map(f), ...[...a.std, 1].map(f)]);
  return rt.dispatch(label, SOURCE, words, [a.frames, a.slots, a.pixels], [Math.ceil(a.crop.width / 64), a.crop.height, 1]);
}
