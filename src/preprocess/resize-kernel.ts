// Resize one decoded frame into the frame store: the stored frame → a region of the frame as displayed
// (rotation applied) and resized with PIL's bilinear taps (geometry.ts), as f32 planes
// [3, regionH, regionW] at `slot` of the store, in 0..255 (rescale and normalize come later, per view).
//
// Separable, in two passes (PIL's filter is a product of a row and a column filter): 'rows' filters each
// display row the region's columns need horizontally, into a scratch [rowCount, regionW] of RGB; 'columns'
// filters that vertically into the store. Shrinking 1080p to 224 reads each source pixel about once
// (~11 taps per output along x, then 11 along y) instead of 11 × 11 times per output pixel.
//
// One invocation per output texel; workgroups of 8×8. The taps are precomputed on the CPU per video size:
// output x reads pixels spans[x].x .. spans[x].x + spans[x].y − 1 with weights[x·tapsX + i]; the y spans
// and weights follow the x ones in both arrays. Display pixel (x, y) is stored at origin + x·dx + y·dy
// (displayToStored in geometry.ts), so rotation costs one add per tap. The frame is an imported VideoFrame
// ('external') or RGBA bytes in a storage buffer ('rgba': on SwiftShader a buffer read costs far less than a
// texture load); RGBA bytes may hold only the rectangle of the stored frame that the taps read (`copyRect`:
// a centre crop of 16:9 video reads 56% of its columns), so the origin is shifted by the rectangle's corner
// and rows are `frameW` pixels long.
import type { CachedPipeline, Runtime } from '../engine/runtime';
import { displayToStored, type Rect, type Rotation, type Size } from './geometry';

export type FrameSource = 'external' | 'rgba';

const PARAMS = /* wgsl */ `
struct Params {
  origin: vec2i, dx: vec2i, dy: vec2i,
  frameW: u32, regionW: u32, regionH: u32, tapsX: u32, tapsY: u32, slot: u32,
  rowStart: u32, rowCount: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> spans: array<vec2u>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
`;

const rowsCode = (source: FrameSource) => /* wgsl */ `${PARAMS}
@group(0) @binding(1) var${source === 'external' ? ' frame: texture_external' : '<storage, read> frame: array<u32>'};
@group(0) @binding(4) var<storage, read_write> rows: array<vec4f>;

fn pixel(s: vec2i) -> vec3f {
  ${source === 'external'
    ? '// An external texture\'s YUV→RGB conversion is not clamped.\n  return clamp(textureLoad(frame, vec2u(s)).rgb, vec3f(0.0), vec3f(1.0));'
    : 'return unpack4x8unorm(frame[u32(s.y) * p.frameW + u32(s.x)]).rgb;'}
}

// rows[r, x]: display row rowStart + r filtered along x for output column x.
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let x = gid.x;
  let r = gid.y;
  if (x >= p.regionW || r >= p.rowCount) { return; }
  let sx = spans[x];
  var s = p.origin + i32(sx.x) * p.dx + i32(p.rowStart + r) * p.dy;
  var rgb = vec3f(0.0);
  for (var i = 0u; i < sx.y; i++) {
    rgb += weights[x * p.tapsX + i] * pixel(s);
    s += p.dx;
  }
  rows[r * p.regionW + x] = vec4f(rgb, 0.0);
}
`;

const columnsCode = /* wgsl */ `${PARAMS}
@group(0) @binding(1) var<storage, read> rows: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> frames: array<f32>;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let x = gid.x;
  let y = gid.y;
  if (x >= p.regionW || y >= p.regionH) { return; }
  let sy = spans[p.regionW + y];
  let yWeights = p.regionW * p.tapsX + y * p.tapsY;
  var rgb = vec3f(0.0);
  for (var j = 0u; j < sy.y; j++) {
    rgb += weights[yWeights + j] * rows[(sy.x + j - p.rowStart) * p.regionW + x].rgb;
  }
  rgb *= 255.0;
  let plane = p.regionW * p.regionH;
  let o = p.slot * 3u * plane + y * p.regionW + x;
  frames[o] = rgb.r;
  frames[o + plane] = rgb.g;
  frames[o + 2u * plane] = rgb.b;
}
`;

export interface ResizePipelines {
  rows: CachedPipeline;
  columns: CachedPipeline;
}

/** The two passes for `source`, compiled once per device (the device's Runtime keeps them; bind groups use their `layout`). */
export function resizePipelines(rt: Runtime, source: FrameSource): ResizePipelines {
  return {
    rows: rt.pipeline({ key: `resize-rows-${source}`, code: rowsCode(source), bindings: ['uniform', source === 'external' ? 'external' : 'read', 'read', 'read', 'write'] }),
    columns: rt.pipeline({ key: 'resize-columns', code: columnsCode, bindings: ['uniform', 'read', 'read', 'read', 'write'] }),
  };
}

export interface ResizeGeometry {
  stored: Size;
  rotation: Rotation;
  regionWidth: number;
  regionHeight: number;
  tapsX: number;
  tapsY: number;
  /** The display rows the region's y taps read: rowStart .. rowStart + rowCount − 1 (the 'rows' pass's output). */
  rowStart: number;
  rowCount: number;
  /** The stored pixels every tap reads lie in this rectangle (corner and size even, for chroma-subsampled frames). */
  copyRect: Rect;
}

/** Bytes of the Params uniform. */
export const RESIZE_PARAMS_BYTES = 64;

/** Bytes of the scratch between the two passes. */
export const resizeScratchBytes = (g: ResizeGeometry) => g.rowCount * g.regionWidth * 16;

/**
 * The Params words for one frame, in the struct's order, for a frame whose bound pixels are `bound` of the
 * stored frame (its copyRect, or the whole frame).
 */
export function resizeParams(g: ResizeGeometry, slot: number, bound: Rect = { x: 0, y: 0, ...g.stored }): Int32Array<ArrayBuffer> {
  const { origin, dx, dy } = displayToStored(g.stored, g.rotation);
  return new Int32Array([origin[0] - bound.x, origin[1] - bound.y, ...dx, ...dy, bound.width, g.regionWidth, g.regionHeight, g.tapsX, g.tapsY, slot, g.rowStart, g.rowCount, 0, 0]);
}

/**
 * Record the resize of one frame: the 'rows' pass (params, the frame, spans, weights, the scratch) then the
 * 'columns' pass (params, the scratch, spans, weights, the store), binding order as above.
 */
export function encodeResize(rt: Runtime, encoder: GPUCommandEncoder, pipelines: ResizePipelines, bindGroups: { rows: GPUBindGroup; columns: GPUBindGroup }, g: ResizeGeometry) {
  const pass = encoder.beginComputePass({ label: 'resize frame' });
  pass.setPipeline(rt.ready(pipelines.rows));
  pass.setBindGroup(0, bindGroups.rows);
  pass.dispatchWorkgroups(Math.ceil(g.regionWidth / 8), Math.ceil(g.rowCount / 8));
  pass.setPipeline(rt.ready(pipelines.columns));
  pass.setBindGroup(0, bindGroups.columns);
  pass.dispatchWorkgroups(Math.ceil(g.regionWidth / 8), Math.ceil(g.regionHeight / 8));
  pass.end();
}
