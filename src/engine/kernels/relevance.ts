// One step of the class relevance (Chefer, Gur, Wolf, ICCV 2021; the definition is src/reference/relevance.ts)
// composed as a row vector: r_out = r_in + r_in·E_s for attention sub-layer s, from its probabilities A and
// their gradient G [seqs, heads, len, len] as the backward pass leaves them, Ā = mean over heads of
// max(0, G ⊙ A) formed on the fly (never stored, never read back). Run from the last sub-layer to the first.
// Token j of sequence s is entry tok(s, j) of the vector (the forward's TokenMap, as the rollout's step);
// a divided spatial sub-layer's CLS is shared by every frame (clsStride 0): its column sums every frame's,
// done by the thread of sequence 0. One more thread copies the entry no sequence holds (a temporal
// sub-layer's CLS), when there is one. One thread per output token.
import { ELEMENT_CONSTANTS, elementGrid, params, type KernelSource, type Runtime, type Step } from '../runtime';
import { mapWords, TOKEN_MAP_WGSL, type TokenMap } from './attention';

const STEP: KernelSource = {
  key: 'relevance-step',
  bindings: ['uniform', 'read', 'read', 'read', 'write'],
  constants: ELEMENT_CONSTANTS,
  code: /* wgsl */ `
override WORKGROUP_SIZE: u32;
${TOKEN_MAP_WGSL}
struct Params { seqs: u32, len: u32, heads: u32, passThrough: u32, hasCls: u32, clsBase: u32, clsStride: u32, rowBase: u32, seqStride: u32, tokenStride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> probs: array<f32>;
@group(0) @binding(2) var<storage, read> grads: array<f32>;
@group(0) @binding(3) var<storage, read> rIn: array<f32>;
@group(0) @binding(4) var<storage, read_write> rOut: array<f32>;
fn tok(s: u32, j: u32) -> u32 { return row(Map(p.hasCls, p.clsBase, p.clsStride, p.rowBase, p.seqStride, p.tokenStride), s, j); }
// Ā[t, i, j] = mean over heads of max(0, G ⊙ A)
fn fused(t: u32, i: u32, j: u32) -> f32 {
  var a = 0.0;
  for (var h = 0u; h < p.heads; h++) {
    let at = ((t * p.heads + h) * p.len + i) * p.len + j;
    a += max(0.0, grads[at] * probs[at]);
  }
  return a / f32(p.heads);
}
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let id = (wg.x + wg.y * nwg.x) * WORKGROUP_SIZE + li;
  let total = p.seqs * p.len;
  if (id == total && p.passThrough != 0xffffffffu) { rOut[p.passThrough] = rIn[p.passThrough]; }
  if (id >= total) { return; }
  let s = id / p.len;
  let j = id % p.len;
  let sharedCls = p.hasCls == 1u && p.clsStride == 0u && j == 0u;
  if (sharedCls && s > 0u) { return; }
  let first = select(s, 0u, sharedCls);
  let last = select(s + 1u, p.seqs, sharedCls);
  var acc = rIn[tok(s, j)];
  for (var t = first; t < last; t++) {
    for (var i = 0u; i < p.len; i++) { acc += rIn[tok(t, i)] * fused(t, i, j); }
  }
  rOut[tok(s, j)] = acc;
}
`,
};

export interface RelevanceStepArgs {
  probs: GPUBuffer;
  /** ∂y/∂probs, same layout. */
  grads: GPUBuffer;
  rIn: GPUBuffer;
  rOut: GPUBuffer;
  seqs: number;
  len: number;
  heads: number;
  map: TokenMap;
  /** A vector entry no sequence holds, carried through unchanged. */
  passThrough?: number;
}

/** r_out = r_in + r_in·E for one attention sub-layer. */
export function relevanceStep(rt: Runtime, label: string, a: RelevanceStepArgs): Step {
  const words = params([a.seqs, a.len, a.heads, a.passThrough ?? 0xffffffff, ...mapWords(a.map)]);
  return rt.dispatch(label, STEP, words, [a.probs, a.grads, a.rIn, a.rOut], elementGrid(a.seqs * a.len + 1));
}
