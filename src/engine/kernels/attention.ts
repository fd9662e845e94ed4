// Fused multi-head attention for every TimeSformer scheme: softmax(q·kᵀ/√d)·v per head, online
// softmax (one pass over the keys, no score matrix), optionally writing the probabilities.
//
// One thread per (sequence s, head h, query i); the threads of a workgroup share (s, h) and read the
// same keys together. Sequences are views of the token rows of the qkv buffer [rows, 3D] (q | k | v,
// heads contiguous), so no regrouping copy is needed:
//   row(s, j) = clsBase + s·clsStride                           if hasCls and j = 0
//             = rowBase + s·seqStride + (j − hasCls)·tokenStride   otherwise
//   temporal (divided): N sequences of the T tokens of patch p: hasCls 0, rowBase 1, seqStride T, tokenStride 1
//   spatial (divided):  T sequences [CLS, the N patches of frame t]: hasCls 1, clsStride 0, rowBase 1, seqStride 1, tokenStride T
//   joint:              1 sequence of all 1+N·T tokens;  space-only: T sequences of 1+N consecutive rows
// Context rows are written through the same map with output bases (the divided spatial CLS outputs, one
// per frame, go to separate rows to be averaged). Probabilities: [seqs, heads, len, len], or only the
// query-0 (CLS) rows [seqs, heads, len].
import { GpuError } from '../device';
import { grid, params, type KernelSource, type Runtime, type Step } from '../runtime';

export interface TokenMap {
  hasCls: boolean;
  clsBase: number;
  clsStride: number;
  rowBase: number;
  seqStride: number;
  tokenStride: number;
}

export type ProbsMode = 'none' | 'all' | 'cls';

export interface AttentionArgs {
  qkv: GPUBuffer;
  context: GPUBuffer;
  probs?: GPUBuffer;
  probsMode: ProbsMode;
  seqs: number;
  len: number;
  heads: number;
  D: number;
  input: TokenMap;
  output: TokenMap;
}

const source = (headDim: number): KernelSource => ({
  key: `attention/d=${headDim}`,
  bindings: ['uniform', 'read', 'write', 'write'],
  code: /* wgsl */ `
struct Map { hasCls: u32, clsBase: u32, clsStride: u32, rowBase: u32, seqStride: u32, tokenStride: u32 }
struct Params {
  seqs: u32, len: u32, heads: u32, D: u32, probsMode: u32, scale: f32,
  inHasCls: u32, inClsBase: u32, inClsStride: u32, inRowBase: u32, inSeqStride: u32, inTokenStride: u32,
  outHasCls: u32, outClsBase: u32, outClsStride: u32, outRowBase: u32, outSeqStride: u32, outTokenStride: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> context: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> probs: array<f32>;
const HD4 = ${headDim / 4}u;   // head dimension in vec4s

fn row(m: Map, s: u32, j: u32) -> u32 {
  if (m.hasCls == 1u && j == 0u) { return m.clsBase + s * m.clsStride; }
  return m.rowBase + s * m.seqStride + (j - m.hasCls) * m.tokenStride;
}
fn inMap() -> Map { return Map(p.inHasCls, p.inClsBase, p.inClsStride, p.inRowBase, p.inSeqStride, p.inTokenStride); }
fn outMap() -> Map { return Map(p.outHasCls, p.outClsBase, p.outClsStride, p.outRowBase, p.outSeqStride, p.outTokenStride); }

fn score(q: ptr<function, array<vec4f, HD4>>, s: u32, j: u32, h: u32) -> f32 {
  let D4 = p.D / 4u;
  let k = row(inMap(), s, j) * 3u * D4 + D4 + h * HD4;
  var acc = vec4f(0.0);
  for (var c = 0u; c < HD4; c++) { acc = fma((*q)[c], qkv[k + c], acc); }
  return (acc.x + acc.y + acc.z + acc.w) * p.scale;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let id = (wg.x + wg.y * nwg.x) * 64u + li;
  if (id >= p.seqs * p.heads * p.len) { return; }
  let i = id % p.len;
  let h = (id / p.len) % p.heads;
  let s = id / (p.len * p.heads);
  let D4 = p.D / 4u;

  var q: array<vec4f, HD4>;
  let qRow = row(inMap(), s, i) * 3u * D4 + h * HD4;
  for (var c = 0u; c < HD4; c++) { q[c] = qkv[qRow + c]; }

  // Online softmax: running max m, running sum l, context rescaled whenever m grows.
  var acc: array<vec4f, HD4>;
  var m = -3.0e38;
  var l = 0.0;
  for (var j = 0u; j < p.len; j++) {
    let x = score(&q, s, j, h);
    if (x > m) {
      let shrink = exp(m - x);
      l *= shrink;
      for (var c = 0u; c < HD4; c++) { acc[c] *= shrink; }
      m = x;
    }
    let e = exp(x - m);
    l += e;
    let v = row(inMap(), s, j) * 3u * D4 + 2u * D4 + h * HD4;
    for (var c = 0u; c < HD4; c++) { acc[c] = fma(vec4f(e), qkv[v + c], acc[c]); }
  }
  let o = row(outMap(), s, i) * D4 + h * HD4;
  for (var c = 0u; c < HD4; c++) { context[o + c] = acc[c] / l; }

  // Probabilities for the attention views: scores recomputed (cheaper than storing them), and their
  // sum recomputed with compensated summation so that each row sums to 1 within ~1e-7, which the
  // online sum (rescaled along the way) does not quite give for long rows.
  if (p.probsMode == 1u || (p.probsMode == 2u && i == 0u)) {
    var total = 0.0;
    var carry = 0.0;
    for (var j = 0u; j < p.len; j++) {
      let e = exp(score(&q, s, j, h) - m) - carry;
      let t = total + e;
      carry = (t - total) - e;
      total = t;
    }
    let base = select((s * p.heads + h) * p.len, ((s * p.heads + h) * p.len + i) * p.len, p.probsMode == 1u);
    for (var j = 0u; j < p.len; j++) { probs[base + j] = exp(score(&q, s, j, h) - m) / total; }
  }
}
`,
});

const mapWords = (m: TokenMap) => [m.hasCls ? 1 : 0, m.clsBase, m.clsStride, m.rowBase, m.seqStride, m.tokenStride];

export function attention(rt: Runtime, label: string, a: AttentionArgs): Step {
  const headDim = a.D / a.heads;
  if (headDim % 4 !== 0) throw new GpuError(`attention needs a head dimension divisible by 4 (vec4 loads); this model has ${headDim}`);
  const mode = { none: 0, all: 1, cls: 2 }[a.probsMode];
  const words = params([a.seqs, a.len, a.heads, a.D, mode, { f32: 1 / Math.sqrt(headDim) }, ...mapWords(a.input), ...mapWords(a.output)]);
  const threads = a.seqs * a.heads * a.len;
  return rt.dispatch(label, source(headDim), words, [a.qkv, a.context, a.probs ?? rt.placeholder], grid(Math.ceil(threads / 64)));
}
