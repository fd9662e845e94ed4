// Half the bytes of a read-back: f32 values packed two per u32 as f16 (WGSL's core pack2x16float; no
// shader-f16 needed). The frames a run returns for display come back this way: a 96-frame 224² clip is
// 29 MB instead of 58 MB of the per-clip read-back budget, at a precision far below one 8-bit pixel step.
import { halfToFloat } from '../../checkpoint/tensor';
import { elementRange, fitsOneBinding, rowChunks } from '../row-chunks';
import { params, type Bound, type KernelSource, type Runtime, type Step } from '../runtime';

/** Threads per workgroup (its WGSL's WORKGROUP_SIZE): more than the other kernels' 64, as each does little. */
const WORKGROUP = 256;

const SOURCE: KernelSource = {
  key: 'pack-f16',
  bindings: ['uniform', 'read', 'write'],
  constants: { WORKGROUP_SIZE: WORKGROUP },
  code: /* wgsl */ `
override WORKGROUP_SIZE: u32;
struct Params { n: u32, groupsPerRow: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> packed: array<u32>;
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lane: u32) {
  let pair = (wg.y * p.groupsPerRow + wg.x) * WORKGROUP_SIZE + lane;
  let i = 2u * pair;
  if (i >= p.n) { return; }
  var high = 0.0;
  if (i + 1u < p.n) { high = x[i + 1u]; }
  packed[pair] = pack2x16float(vec2f(x[i], high));
}
`,
};

/** Words `packF16` writes for `n` values. */
export const packedWords = (n: number) => Math.ceil(n / 2);

/**
 * Record packing the first `n` floats of `x` into `packedWords(n)` u32 words of `packed` (low half first): one
 * dispatch, or one per chunk of values where `x` is larger than one binding.
 */
export function packF16(rt: Runtime, label: string, x: GPUBuffer, packed: GPUBuffer, n: number): Step[] {
  const dispatch = (count: number, xs: Bound, words: Bound, name: string) => {
    // Two dimensions of workgroups: a long clip's frames need more than one dimension's 65 535.
    const groups = Math.ceil(packedWords(count) / WORKGROUP);
    const groupsPerRow = Math.min(groups, rt.device.limits.maxComputeWorkgroupsPerDimension);
    return rt.dispatch(name, SOURCE, params([count, groupsPerRow]), [xs, words], [groupsPerRow, Math.ceil(groups / groupsPerRow), 1]);
  };
  if (fitsOneBinding(rt, [x, packed])) return [dispatch(n, x, packed, label)];
  // Chunks of a multiple of 128 values start both bindings at an aligned offset (512 and 256 bytes).
  return rowChunks(rt, n, 1, 128).map(({ first, count }) =>
    dispatch(count, elementRange(rt, x, first, count).range, elementRange(rt, packed, first / 2, packedWords(count)).range, `${label} values ${first}..${first + count}`),
  );
}

/** The CPU side: `n` floats from the packed words as read back. */
export function unpackF16(words: ArrayBuffer, n: number): Float32Array {
  const halves = new Uint16Array(words, 0, n);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = halfToFloat(halves[i]);
  return out;
}
