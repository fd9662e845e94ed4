// Resize one decoded frame into the frame store: the stored frame → a region of the frame as displayed
// (rotation applied) and resized with PIL's bilinear taps (geometry.ts), as f32 planes
// [3, regionH, regionW] at `slot` of the store, in 0..255 (rescale and normalize come later, per view).
//
// One invocation per output pixel (all three channels); workgroups of 8×8 pixels. The taps are
// precomputed on the CPU per video size: output x reads pixels spans[x].x .. spans[x].x + spans[x].y − 1
// with weights[x·tapsX + i]; the y spans and weights follow the x ones in both arrays. Display pixel
// (x, y) is stored at origin + x·dx + y·dy (displayToStored in geometry.ts), so rotation costs one add
// per tap. The frame is an imported VideoFrame ('external') or RGBA bytes in a storage buffer ('rgba':
// on SwiftShader a buffer read costs far less than a texture load).
import type { Runtime } from '../engine/runtime';
import { displayToStored, type Rotation, type Size } from './geometry';

export type FrameSource = 'external' | 'rgba';

const code = (source: FrameSource) => /* wgsl */ `
struct Params {
  origin: vec2i, dx: vec2i, dy: vec2i,
  storedW: u32, regionW: u32, regionH: u32, tapsX: u32, tapsY: u32, slot: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var${source === 'external' ? ' frame: texture_external' : '<storage, read> frame: array<u32>'};
@group(0) @binding(2) var<storage, read> spans: array<vec2u>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
@group(0) @binding(4) var<storage, read_write> frames: array<f32>;

fn pixel(s: vec2i) -> vec3f {
  ${source === 'external'
    ? '// An external texture\'s YUV→RGB conversion is not clamped.\n  return clamp(textureLoad(frame, vec2u(s)).rgb, vec3f(0.0), vec3f(1.0));'
    : 'return unpack4x8unorm(frame[u32(s.y) * p.storedW + u32(s.x)]).rgb;'}
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let x = gid.x;
  let y = gid.y;
  if (x >= p.regionW || y >= p.regionH) { return; }
  let sx = spans[x];
  let sy = spans[p.regionW + y];
  let yWeights = p.regionW * p.tapsX + y * p.tapsY;
  var rgb = vec3f(0.0);
  for (var j = 0u; j < sy.y; j++) {
    var s = p.origin + i32(sx.x) * p.dx + i32(sy.x + j) * p.dy;
    var row = vec3f(0.0);
    for (var i = 0u; i < sx.y; i++) {
      row += weights[x * p.tapsX + i] * pixel(s);
      s += p.dx;
    }
    rgb += weights[yWeights + j] * row;
  }
  rgb *= 255.0;
  let plane = p.regionW * p.regionH;
  let o = p.slot * 3u * plane + y * p.regionW + x;
  frames[o] = rgb.r;
  frames[o + plane] = rgb.g;
  frames[o + 2u * plane] = rgb.b;
}
`;

/** The resize pipeline for `source`, compiled once per device (kept by the device's Runtime). */
export function resizePipeline(rt: Runtime, source: FrameSource): GPUComputePipeline {
  return rt.memo(`resize-${source}`, () => {
    const label = `resize-${source}`;
    const module = rt.device.createShaderModule({ label, code: code(source) });
    return rt.device.createComputePipeline({ label, layout: 'auto', compute: { module, entryPoint: 'main' } });
  });
}

export interface ResizeGeometry {
  stored: Size;
  rotation: Rotation;
  regionWidth: number;
  regionHeight: number;
  tapsX: number;
  tapsY: number;
}

/** Bytes of the Params uniform. */
export const RESIZE_PARAMS_BYTES = 48;

/** The Params words for one frame, in the struct's order. */
export function resizeParams(g: ResizeGeometry, slot: number): Int32Array<ArrayBuffer> {
  const { origin, dx, dy } = displayToStored(g.stored, g.rotation);
  return new Int32Array([...origin, ...dx, ...dy, g.stored.width, g.regionWidth, g.regionHeight, g.tapsX, g.tapsY, slot]);
}

/** Record the resize of one frame; `bindGroup` binds params, the frame, spans, weights and the store (binding order above). */
export function encodeResize(encoder: GPUCommandEncoder, pipeline: GPUComputePipeline, bindGroup: GPUBindGroup, g: ResizeGeometry) {
  const pass = encoder.beginComputePass({ label: 'resize frame' });
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(Math.ceil(g.regionWidth / 8), Math.ceil(g.regionHeight / 8));
  pass.end();
}
