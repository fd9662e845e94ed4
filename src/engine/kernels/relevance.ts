// One step of the class relevance (Chefer, Gur, Wolf, ICCV 2021; the definition is src/reference/relevance.ts)
// composed as a row vector: r_out = r_in + r_in·E_s for attention sub-layer s, from its probabilities A and
// their gradient G [seqs, heads, len, len] as the backward pass leaves them, Ā = mean over heads of
// max(0, G ⊙ A) formed on the fly (never stored, never read back). Run from the last sub-layer to the first.
// Token j of sequence s is entry tok(s, j) of the vector (the forward's TokenMap, as the rollout's step);
// a divided spatial sub-layer's CLS is shared by every frame (clsStride 0): its column sums every frame's,
// done by the thread of sequence 0. One more thread copies the entry no sequence holds (a temporal
// sub-layer's CLS), when there is one. One thread per output token. Probabilities kept in parts of whole
// sequences (sequence-chunks.ts; G in the same parts) take one dispatch per part, the token maps' sequence index
// offset by the part's first sequence: the shared CLS's column then sums the part's frames onto what the parts
// before it wrote.

import { ELEMENT_CONSTANTS, elementGrid, params, type KernelSource, type Runtime, type Step } from '../runtime';
import { partLabel, type SequenceParts } from '../sequence-chunks';
import { mapWords, TOKEN_MAP_WGSL, type TokenMap } from './attention';

const STEP: KernelSource = {
  key: 'relevance-step',
  bindings: ['uniform', 'read', 'read', 'read', 'write'],
  constants: ELEMENT_CONSTANTS,
  code: /* wgsl */ `
override WORKGROUP_SIZE: u32;
${TOKEN_MAP_WGSL}
struct Params { seqs: u32, len: u32, heads: u32, passThrough: u32, firstSeq: u32, hasCls: u32, clsBase: u32, clsStride: u32, rowBase: u32, seqStride: u32, tokenStride: u32 }
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
  let out = tok(p.firstSeq + s, j);
  var acc = select(rIn[out], rOut[out], sharedCls && p.firstSeq > 0u);
  for (var t = first; t < last; t++) {
    for (var i = 0u; i < p.len; i++) { acc += rIn[tok(p.firstSeq + t, i)] * fused(t, i, j); }
  }
  rOut[out] = acc;
}
`,
};

export interface RelevanceStepArgs {
  probs: SequenceParts;
  /** ∂y/∂probs, in the same parts. */
  grads: SequenceParts;
  rIn: GPUBuffer;
  rOut: GPUBuffer;
  len: number;
  heads: number;
  map: TokenMap;
  /** A vector entry no sequence holds, carried through unchanged. */
  passThrough?: number;
}

/** r_out = r_in + r_in·E for one attention sub-layer: a dispatch per part of its probabilities. */
export function relevanceStep(rt: Runtime, label: string, a: RelevanceStepArgs): Step[] {
  return a.probs.parts.map((part, k) => {
    const words = params([part.count, a.len, a.heads, a.passThrough ?? 0xffffffff, part.first, ...mapWords(a.map)]);
    return rt.dispatch(partLabel(label, part, a.probs.parts.length), STEP, words, [part.buffer, a.grads.parts[k].buffer, a.rIn, a.rOut], elementGrid(part.count * a.len + 1));
  });
}
