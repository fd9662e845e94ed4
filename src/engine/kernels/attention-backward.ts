// Attention's backward for every TimeSformer scheme, through the same token maps as the forward
// (attention.ts): from qkv, the probabilities P [seqs, heads, len, len] the forward wrote ('all') and the
// context's gradient dC, per head h of sequence s (s = 1/√d):
//   dP = dC·Vᵀ (the gradient of the probabilities, which relevance needs), r_i = Σ_j dP_ij·P_ij,
//   dS_ij = P_ij·(dP_ij − r_i),  dQ_i = s·Σ_j dS_ij·K_j,  dK_j = s·Σ_i dS_ij·Q_i,  dV_j = Σ_i P_ij·dC_i.
// Two dispatches: 'queries' (one thread per (s, h, i): writes dP's row i, r_i and dQ_i), then 'keys'
// (one thread per (s, h, j): column j of dS from P, dP and r, giving dK_j and dV_j). Rows are mapped:
//   qkv rows by `input` (as the forward read them), dC rows by `context` (where the forward wrote the
//   context), dQkv rows by `grad`, which must give every (sequence, token) its own row: the divided spatial
//   CLS, shared by the T frames in the forward (clsStride 0), needs one row per frame here, summed after.
// Head dimension in vec4s, as the forward. rowSums: scratch [seqs, heads, len] f32 for r. Probabilities kept in
// parts of whole sequences (sequence-chunks.ts; dP in the same parts) take the two dispatches per part, the token
// maps' sequence index offset by the part's first sequence.
import { GpuError } from '../device';
import { ELEMENT_CONSTANTS, elementGrid, params, type KernelSource, type Runtime, type Step } from '../runtime';
import { partLabel, type SequenceParts } from '../sequence-chunks';
import { mapWords, TOKEN_MAP_WGSL, type TokenMap } from './attention';

export interface AttentionBackwardArgs {
  qkv: GPUBuffer;
  probs: SequenceParts;
  dContext: GPUBuffer;
  dQkv: GPUBuffer;
  /** In the parts of `probs`. */
  dProbs: SequenceParts;
  rowSums: GPUBuffer;
  len: number;
  heads: number;
  D: number;
  input: TokenMap;
  context: TokenMap;
  grad: TokenMap;
}

const header = (headDim: number) => /* wgsl */ `${TOKEN_MAP_WGSL}
struct Params {
  seqs: u32, len: u32, heads: u32, D: u32, scale: f32, firstSeq: u32,
  inHasCls: u32, inClsBase: u32, inClsStride: u32, inRowBase: u32, inSeqStride: u32, inTokenStride: u32,
  cHasCls: u32, cClsBase: u32, cClsStride: u32, cRowBase: u32, cSeqStride: u32, cTokenStride: u32,
  gHasCls: u32, gClsBase: u32, gClsStride: u32, gRowBase: u32, gSeqStride: u32, gTokenStride: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<vec4f>;
@group(0) @binding(2) var<storage, read> probs: array<f32>;
@group(0) @binding(3) var<storage, read> dC: array<vec4f>;
const HD4 = ${headDim / 4}u;   // head dimension in vec4s

// Vec4 index of head h's part (0 q, 1 k, 2 v) of token j's qkv row, and of its context row.
fn qkvAt(s: u32, j: u32, part: u32, h: u32) -> u32 {
  let D4 = p.D / 4u;
  return row(Map(p.inHasCls, p.inClsBase, p.inClsStride, p.inRowBase, p.inSeqStride, p.inTokenStride), s, j) * 3u * D4 + part * D4 + h * HD4;
}
fn contextAt(s: u32, j: u32, h: u32) -> u32 {
  return row(Map(p.cHasCls, p.cClsBase, p.cClsStride, p.cRowBase, p.cSeqStride, p.cTokenStride), s, j) * (p.D / 4u) + h * HD4;
}
fn gradAt(s: u32, j: u32, part: u32, h: u32) -> u32 {
  let D4 = p.D / 4u;
  return row(Map(p.gHasCls, p.gClsBase, p.gClsStride, p.gRowBase, p.gSeqStride, p.gTokenStride), s, j) * 3u * D4 + part * D4 + h * HD4;
}
fn dot4(a: u32, b: u32) -> f32 {
  var acc = vec4f(0.0);
  for (var c = 0u; c < HD4; c++) { acc = fma(qkv[a + c], dC[b + c], acc); }
  return (acc.x + acc.y) + (acc.z + acc.w);
}
`;

const QUERIES = /* wgsl */ `
@group(0) @binding(4) var<storage, read_write> dQkv: array<vec4f>;
@group(0) @binding(5) var<storage, read_write> dProbs: array<f32>;
@group(0) @binding(6) var<storage, read_write> rowSums: array<f32>;
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let id = (wg.x + wg.y * nwg.x) * WORKGROUP_SIZE + li;
  if (id >= p.seqs * p.heads * p.len) { return; }
  let i = id % p.len;
  let h = (id / p.len) % p.heads;
  let s = p.firstSeq + id / (p.len * p.heads);
  let rowAt = id * p.len;   // P[s, h, i, 0] (of the part)
  let c = contextAt(s, i, h);
  var r = 0.0;
  for (var j = 0u; j < p.len; j++) {
    let dp = dot4(qkvAt(s, j, 2u, h), c);
    dProbs[rowAt + j] = dp;
    r += dp * probs[rowAt + j];
  }
  rowSums[id] = r;
  var dq: array<vec4f, HD4>;
  for (var j = 0u; j < p.len; j++) {
    let ds = probs[rowAt + j] * (dProbs[rowAt + j] - r);
    let k = qkvAt(s, j, 1u, h);
    for (var e = 0u; e < HD4; e++) { dq[e] = fma(vec4f(ds), qkv[k + e], dq[e]); }
  }
  let o = gradAt(s, i, 0u, h);
  for (var e = 0u; e < HD4; e++) { dQkv[o + e] = dq[e] * p.scale; }
}
`;

const KEYS = /* wgsl */ `
@group(0) @binding(4) var<storage, read> dProbs: array<f32>;
@group(0) @binding(5) var<storage, read> rowSums: array<f32>;
@group(0) @binding(6) var<storage, read_write> dQkv: array<vec4f>;
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let id = (wg.x + wg.y * nwg.x) * WORKGROUP_SIZE + li;
  if (id >= p.seqs * p.heads * p.len) { return; }
  let j = id % p.len;
  let sh = id / p.len;   // s·heads + h (of the part)
  let h = sh % p.heads;
  let s = p.firstSeq + sh / p.heads;
  var dk: array<vec4f, HD4>;
  var dv: array<vec4f, HD4>;
  for (var i = 0u; i < p.len; i++) {
    let at = (sh * p.len + i) * p.len + j;   // P[s, h, i, j]
    let pij = probs[at];
    let ds = pij * (dProbs[at] - rowSums[sh * p.len + i]);
    let q = qkvAt(s, i, 0u, h);
    let c = contextAt(s, i, h);
    for (var e = 0u; e < HD4; e++) {
      dk[e] = fma(vec4f(ds), qkv[q + e], dk[e]);
      dv[e] = fma(vec4f(pij), dC[c + e], dv[e]);
    }
  }
  let o = gradAt(s, j, 1u, h);
  let D4 = p.D / 4u;
  for (var e = 0u; e < HD4; e++) {
    dQkv[o + e] = dk[e] * p.scale;
    dQkv[o + D4 + e] = dv[e];
  }
}
`;

const source = (pass: 'queries' | 'keys', headDim: number): KernelSource => ({
  key: `attention-backward/${pass}/d=${headDim}`,
  bindings: ['uniform', 'read', 'read', 'read', ...(pass === 'queries' ? (['write', 'write', 'write'] as const) : (['read', 'read', 'write'] as const))],
  constants: ELEMENT_CONSTANTS,
  code: 'override WORKGROUP_SIZE: u32;\n' + header(headDim) + (pass === 'queries' ? QUERIES : KEYS),
});

/** The two dispatches of each part, in order: 'queries' writes dP, r and dQ; 'keys' reads them and writes dK and dV. */
export function attentionBackward(rt: Runtime, label: string, a: AttentionBackwardArgs): Step[] {
  const headDim = a.D / a.heads;
  if (headDim % 4 !== 0) throw new GpuError(`attention's backward needs a head dimension divisible by 4 (vec4 loads); this model has ${headDim}`);
  return a.probs.parts.flatMap((part, k) => {
    const words = params([part.count, a.len, a.heads, a.D, { f32: 1 / Math.sqrt(headDim) }, part.first, ...mapWords(a.input), ...mapWords(a.context), ...mapWords(a.grad)]);
    const workgroups = elementGrid(part.count * a.heads * a.len);
    const named = partLabel(label, part, a.probs.parts.length), dProbs = a.dProbs.parts[k].buffer;
    return [
      rt.dispatch(`${named} queries`, source('queries', headDim), words, [a.qkv, part.buffer, a.dContext, a.dQkv, dProbs, a.rowSums], workgroups),
      rt.dispatch(`${named} keys`, source('keys', headDim), words, [a.qkv, part.buffer, a.dContext, dProbs, a.rowSums, a.dQkv], workgroups),
    ];
  });
}
