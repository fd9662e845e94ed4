// Crop, rescale and normalize resized frames into the model input: frames [slots, 3, regionH, regionW]
// (0..255, from resize-kernel.ts) → pixels [T, 3, cropH, cropW] = (v · rescale − mean[c]) / std[c],
// where frame t is store slot slots[t] and the crop starts at (x0, y0) of the region.
// One invocation per output pixel (x, y), looping over frames, the three channels at once as a vec3 with
// the division folded into a scale and shift (v · rescale/std − mean/std): few invocations and no dynamic
// indexing or division, which is what CPU adapters such as SwiftShader run fastest (measured in Node on
// SwiftShader: 8 frames of 224² took 100–150 ms with a per-channel loop and division, 25–50 ms so);
// workgroups of WORKGROUP_SIZE along x.
import { ELEMENT_CONSTANTS, params, WORKGROUP_SIZE, type KernelSource, type Runtime, type Step } from '../engine/runtime';

const SOURCE: KernelSource = {
  key: 'preprocess-normalize',
  bindings: ['uniform', 'read', 'read', 'write'],
  constants: ELEMENT_CONSTANTS,
  code: /* wgsl */ `
override WORKGROUP_SIZE: u32;
struct Params {
  T: u32, cropW: u32, cropH: u32, regionW: u32, regionH: u32, x0: u32, y0: u32, rescale: f32,
  mean: vec4f,
  deviation: vec4f,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> frames: array<f32>;
@group(0) @binding(2) var<storage, read> slots: array<u32>;
@group(0) @binding(3) var<storage, read_write> pixels: array<f32>;
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let x = gid.x;
  let y = gid.y;
  if (x >= p.cropW) { return; }
  let source = (y + p.y0) * p.regionW + x + p.x0;
  let plane = p.regionW * p.regionH;
  let out = p.cropH * p.cropW;
  let scale = vec3f(p.rescale) / p.deviation.xyz;
  let shift = p.mean.xyz / p.deviation.xyz;
  var o = y * p.cropW + x;
  for (var t = 0u; t < p.T; t++) {
    let f = slots[t] * 3u * plane + source;
    let v = vec3f(frames[f], frames[f + plane], frames[f + 2u * plane]) * scale - shift;
    pixels[o] = v.x;
    pixels[o + out] = v.y;
    pixels[o + 2u * out] = v.z;
    o += 3u * out;
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

/** Start compiling the kernel now (a store does at creation), so that a clip's first encode finds it ready. */
export const prepareNormalize = (rt: Runtime) => void rt.pipeline(SOURCE);

export function normalize(rt: Runtime, label: string, a: NormalizeArgs): Step {
  const f = (v: number) => ({ f32: v });
  // mean and std are vec4s (16-byte aligned: words 8 and 12); their 4th lanes are unused.
  const words = params([a.T, a.crop.width, a.crop.height, a.region.width, a.region.height, a.crop.x, a.crop.y, f(a.rescale), ...[...a.mean, 0].map(f), ...[...a.std, 1].map(f)]);
  return rt.dispatch(label, SOURCE, words, [a.frames, a.slots, a.pixels], [Math.ceil(a.crop.width / WORKGROUP_SIZE), a.crop.height, 1]);
}
