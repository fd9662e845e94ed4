// 10/12-bit planar YUV → 8-bit RGBA on the GPU, for frames the browser cannot convert (yuv.ts has the formats,
// the coefficients and the CPU reference). Input: the three planes' 16-bit samples one after another, two to a
// u32 (little-endian: the first in the low half); output: one packed RGBA u32 per pixel, rows `width` long, as
// the resize kernel's 'rgba' source reads them. One invocation per pixel, workgroups of 8×8.
import type { Runtime } from '../engine/runtime';
import { yuvCoefficients, type PlanarYuv } from './yuv';

const code = /* wgsl */ `
struct Params {
  width: u32, height: u32, chromaWidth: u32, uStart: u32,
  subsampling: vec2u, vStart: u32, pad: u32,
  offset: vec2f, scale: vec2f,
  matrix: vec4f,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> samples: array<u32>;
@group(0) @binding(2) var<storage, read_write> rgba: array<u32>;

fn sample(i: u32) -> f32 {
  return f32((samples[i >> 1u] >> ((i & 1u) * 16u)) & 0xffffu);
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let x = gid.x;
  let y = gid.y;
  if (x >= p.width || y >= p.height) { return; }
  let c = (y / p.subsampling.y) * p.chromaWidth + x / p.subsampling.x;
  let l = (sample(y * p.width + x) - p.offset.x) / p.scale.x;
  let u = (sample(p.uStart + c) - p.offset.y) / p.scale.y;
  let v = (sample(p.vStart + c) - p.offset.y) / p.scale.y;
  let rgb = vec3f(l + p.matrix.x * v, l + p.matrix.y * u + p.matrix.z * v, l + p.matrix.w * u);
  rgba[y * p.width + x] = pack4x8unorm(vec4f(rgb, 1.0));
}
`;

/** Bytes of the packed samples of `image` (rounded up to whole u32s). */
export const yuvSampleBytes = (image: Pick<PlanarYuv, 'y' | 'u' | 'v'>) => Math.ceil((image.y.length + image.u.length + image.v.length) / 2) * 4;

/** Bytes of the Params uniform. */
export const YUV_PARAMS_BYTES = 64;

/**
 * Write `image`'s samples and params into `buffers` (samples: at least yuvSampleBytes; params: a uniform of
 * YUV_PARAMS_BYTES) and record its conversion into `rgba` (width × height u32s) on `encoder`.
 */
export function encodeYuvToRgba(rt: Runtime, encoder: GPUCommandEncoder, image: PlanarYuv, buffers: { params: GPUBuffer; samples: GPUBuffer; rgba: GPUBuffer }): void {
  const { device } = rt;
  const kernel = rt.pipeline({ key: 'yuv-to-rgba', code, bindings: ['uniform', 'read', 'write'] });
  const packed = new Uint16Array(yuvSampleBytes(image) / 2);
  packed.set(image.y);
  packed.set(image.u, image.y.length);
  packed.set(image.v, image.y.length + image.u.length);
  device.queue.writeBuffer(buffers.samples, 0, packed);
  const { offset, scale, matrix } = yuvCoefficients(image.matrix, image.fullRange, image.bitDepth);
  const words = new ArrayBuffer(YUV_PARAMS_BYTES);
  new Uint32Array(words, 0, 8).set([image.width, image.height, Math.ceil(image.width / image.subsampling[0]), image.y.length, ...image.subsampling, image.y.length + image.u.length, 0]);
  new Float32Array(words, 32, 8).set([...offset, ...scale, ...matrix]);
  device.queue.writeBuffer(buffers.params, 0, words);
  const pass = encoder.beginComputePass({ label: 'yuv to rgba' });
  pass.setPipeline(rt.ready(kernel));
  const entries = [buffers.params, buffers.samples, buffers.rgba].map((buffer, binding) => ({ binding, resource: { buffer } }));
  pass.setBindGroup(0, device.createBindGroup({ layout: kernel.layout, entries }));
  pass.dispatchWorkgroups(Math.ceil(image.width / 8), Math.ceil(image.height / 8));
  pass.end();
}
