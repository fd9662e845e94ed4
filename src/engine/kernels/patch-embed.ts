// Patch embedding, in two kernels around a GEMM:
//   im2col: pixels [T, 3, H, W] → patches [T·N, 3·P·P], each row one P×P patch in the conv weight's
//           (channel, y, x) order, so that the stride-P Conv2d becomes patches · Wᵀ.
//   embed:  the token sequence from the embedded patches [T·N, D]: CLS and position embeddings, and for
//           divided/joint the time embeddings with tokens regrouped to (p, t) order; space-only keeps
//           T sequences [CLS, N patches].
// The backward pass adds col2im: the patches' gradient (a row of 3·P·P per patch, in any row order with
// fixed strides per frame and per patch) back to pixels [T, 3, H, W] (each pixel is in at most one patch: a
// copy, no sums), 0 for the pixels outside the patch grid.
import { ELEMENT_CONSTANTS, elementGrid, params, type KernelSource, type Runtime, type Step } from '../runtime';

/** im2col's and col2im's shared header: the grid's params (and `more`), one array read and one written. */
const patchHeader = (input: string, output: string, more = '') => /* wgsl */ `
override WORKGROUP_SIZE: u32;
struct Params { T: u32, H: u32, W: u32, P: u32, gh: u32, gw: u32${more} }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ${input}: array<f32>;
@group(0) @binding(2) var<storage, read_write> ${output}: array<f32>;`;

const IM2COL: KernelSource = {
  key: 'im2col',
  bindings: ['uniform', 'read', 'write'],
  constants: ELEMENT_CONSTANTS,
  code: /* wgsl */ `${patchHeader('pixels', 'patches')}
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let id = (wg.x + wg.y * nwg.x) * WORKGROUP_SIZE + li;
  let K = 3u * p.P * p.P;
  let N = p.gh * p.gw;
  if (id >= p.T * N * K) { return; }
  let k = id % K;
  let cell = id / K;                       // t·N + r·gw + c
  let t = cell / N;
  let r = (cell % N) / p.gw;
  let c = cell % p.gw;
  let ch = k / (p.P * p.P);
  let y = (k / p.P) % p.P;
  let x = k % p.P;
  patches[id] = pixels[((t * 3u + ch) * p.H + r * p.P + y) * p.W + c * p.P + x];
}
`,
};

const COL2IM: KernelSource = {
  key: 'col2im',
  bindings: ['uniform', 'read', 'write'],
  constants: ELEMENT_CONSTANTS,
  code: /* wgsl */ `${patchHeader('patches', 'pixels', ', frameStride: u32, patchStride: u32')}
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let id = (wg.x + wg.y * nwg.x) * WORKGROUP_SIZE + li;
  if (id >= p.T * 3u * p.H * p.W) { return; }
  let x = id % p.W;
  let y = (id / p.W) % p.H;
  let ch = (id / (p.W * p.H)) % 3u;
  let t = id / (3u * p.W * p.H);
  let r = y / p.P;
  let c = x / p.P;
  if (r >= p.gh || c >= p.gw) { pixels[id] = 0.0; return; }
  let K = 3u * p.P * p.P;
  pixels[id] = patches[(t * p.frameStride + (r * p.gw + c) * p.patchStride) * K + (ch * p.P + y % p.P) * p.P + x % p.P];
}
`,
};

const EMBED: KernelSource = {
  key: 'embed',
  bindings: ['uniform', 'read', 'read', 'read', 'read', 'write'],
  constants: ELEMENT_CONSTANTS,
  code: /* wgsl */ `
override WORKGROUP_SIZE: u32;
struct Params { T: u32, N: u32, D: u32, perFrame: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> patches: array<f32>;  // [T·N, D], (t, p) order
@group(0) @binding(2) var<storage, read> cls: array<f32>;      // [D]
@group(0) @binding(3) var<storage, read> pos: array<f32>;      // [1+N, D]
@group(0) @binding(4) var<storage, read> time: array<f32>;     // [T, D]
@group(0) @binding(5) var<storage, read_write> h: array<f32>;
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let id = (wg.x + wg.y * nwg.x) * WORKGROUP_SIZE + li;
  let rows = select(1u + p.N * p.T, p.T * (1u + p.N), p.perFrame == 1u);
  if (id >= rows * p.D) { return; }
  let r = id / p.D;
  let c = id % p.D;
  if (p.perFrame == 1u) {                  // row t·(1+N) + j
    let t = r / (1u + p.N);
    let j = r % (1u + p.N);
    if (j == 0u) { h[id] = cls[c] + pos[c]; return; }
    h[id] = patches[(t * p.N + j - 1u) * p.D + c] + pos[j * p.D + c];
    return;
  }
  if (r == 0u) { h[id] = cls[c] + pos[c]; return; }   // row 1 + q·T + t, q the patch
  let q = (r - 1u) / p.T;
  let t = (r - 1u) % p.T;
  h[id] = patches[(t * p.N + q) * p.D + c] + pos[(1u + q) * p.D + c] + time[t * p.D + c];
}
`,
};

export function im2col(rt: Runtime, label: string, pixels: GPUBuffer, patches: GPUBuffer, T: number, H: number, W: number, P: number): Step {
  const gh = Math.floor(H / P), gw = Math.floor(W / P);
  const total = T * gh * gw * 3 * P * P;
  return rt.dispatch(label, IM2COL, params([T, H, W, P, gh, gw]), [pixels, patches], elementGrid(total));
}

/**
 * im2col's adjoint: patches → pixels [T, 3, H, W], patch p of frame t on row t·frameStride + p·patchStride of
 * `patches` (rows of 3·P·P; by default im2col's order, [T·N, 3·P·P]).
 */
export function col2im(rt: Runtime, label: string, patches: GPUBuffer, pixels: GPUBuffer, T: number, H: number, W: number, P: number, rows?: { frameStride: number; patchStride: number }): Step {
  const gh = Math.floor(H / P), gw = Math.floor(W / P);
  const { frameStride, patchStride } = rows ?? { frameStride: gh * gw, patchStride: 1 };
  return rt.dispatch(label, COL2IM, params([T, H, W, P, gh, gw, frameStride, patchStride]), [patches, pixels], elementGrid(T * 3 * H * W));
}

export interface EmbedArgs {
  patches: GPUBuffer;
  cls: GPUBuffer;
  pos: GPUBuffer;
  time?: GPUBuffer;
  h: GPUBuffer;
  T: number;
  N: number;
  D: number;
  perFrame: boolean;
}

export function embed(rt: Runtime, label: string, a: EmbedArgs): Step {
  const rows = a.perFrame ? a.T * (1 + a.N) : 1 + a.N * a.T;
  const buffers = [a.patches, a.cls, a.pos, a.time ?? rt.placeholder, a.h];
  return rt.dispatch(label, EMBED, params([a.T, a.N, a.D, a.perFrame ? 1 : 0]), buffers, elementGrid(rows * a.D));
}
