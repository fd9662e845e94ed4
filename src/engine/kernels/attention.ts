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
//
// Two variants: 'global' (keys and values read from memory by each thread; best for short sequences such as
// temporal attention, and on CPU adapters) and 'kv-tiles' (a workgroup of 64 queries of one (s, h) loads
// 32 keys and values at a time into workgroup memory and all 64 read them there: one load per key per
// workgroup instead of per query, which real GPUs reward on spatial and joint attention).
import { GpuError, type KernelNeeds } from '../device';
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

export const ATTENTION_VARIANTS = ['global', 'kv-tiles'] as const;
export type AttentionVariant = (typeof ATTENTION_VARIANTS)[number];
/** Keys (and values) per workgroup-memory tile in 'kv-tiles'. */
const KV_TILE = 32;

/** What a variant needs of the device for heads of `headDim`: 'kv-tiles' holds a tile of keys and values (f32). */
export const attentionNeeds = (variant: AttentionVariant, headDim: number): KernelNeeds => ({ workgroupBytes: variant === 'kv-tiles' ? 2 * KV_TILE * headDim * 4 : 0, invocations: 64 });

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

const header = (headDim: number) => /* wgsl */ `
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

// Probabilities for the attention views: scores recomputed (cheaper than storing them), and their
// sum recomputed with compensated summation so that each row sums to 1 within ~1e-7, which the
// online sum (rescaled along the way) does not quite give for long rows.
fn writeProbs(q: ptr<function, array<vec4f, HD4>>, s: u32, h: u32, i: u32, m: f32) {
  if (p.probsMode == 1u || (p.probsMode == 2u && i == 0u)) {
    var total = 0.0;
    var carry = 0.0;
    for (var j = 0u; j < p.len; j++) {
      let e = exp(score(q, s, j, h) - m) - carry;
      let t = total + e;
      carry = (t - total) - e;
      total = t;
    }
    let base = select((s * p.heads + h) * p.len, ((s * p.heads + h) * p.len + i) * p.len, p.probsMode == 1u);
    for (var j = 0u; j < p.len; j++) { probs[base + j] = exp(score(q, s, j, h) - m) / total; }
  }
}
`;

// Online softmax over one key: running max m, running sum l, context rescaled whenever m grows.
const ONLINE_STEP = (k: string, v: string) => /* wgsl */ `
    {
      var dot = vec4f(0.0);
      for (var c = 0u; c < HD4; c++) { dot = fma(q[c], ${k}, dot); }
      let x = (dot.x + dot.y + dot.z + dot.w) * p.scale;
      if (x > m) {
        let shrink = exp(m - x);
        l *= shrink;
        for (var c = 0u; c < HD4; c++) { acc[c] *= shrink; }
        m = x;
      }
      let e = exp(x - m);
      l += e;
      for (var c = 0u; c < HD4; c++) { acc[c] = fma(vec4f(e), ${v}, acc[c]); }
    }`;

const GLOBAL = /* wgsl */ `
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

  var acc: array<vec4f, HD4>;
  var m = -3.0e38;
  var l = 0.0;
  for (var j = 0u; j < p.len; j++) {
    let kRow = row(inMap(), s, j) * 3u * D4 + D4 + h * HD4;
    let vRow = kRow + D4;
${ONLINE_STEP('qkv[kRow + c]', 'qkv[vRow + c]')}
  }
  let o = row(outMap(), s, i) * D4 + h * HD4;
  for (var c = 0u; c < HD4; c++) { context[o + c] = acc[c] / l; }
  writeProbs(&q, s, h, i, m);
}
`;

// Workgroup w: (s, h) = w / blocks, queries (w % blocks)·64 + li. Threads past the sequence still load
// tiles and meet the barriers (uniform control flow), then write nothing.
const KV_TILES = /* wgsl */ `
var<workgroup> Ks: array<array<vec4f, HD4>, ${KV_TILE}>;
var<workgroup> Vs: array<array<vec4f, HD4>, ${KV_TILE}>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let blocks = (p.len + 63u) / 64u;
  let w = wg.x + wg.y * nwg.x;
  let sh = w / blocks;
  let s = sh / p.heads;
  let h = sh % p.heads;
  let i = (w % blocks) * 64u + li;
  let isQuery = s < p.seqs && i < p.len;
  let D4 = p.D / 4u;

  var q: array<vec4f, HD4>;
  if (isQuery) {
    let qRow = row(inMap(), s, i) * 3u * D4 + h * HD4;
    for (var c = 0u; c < HD4; c++) { q[c] = qkv[qRow + c]; }
  }
  var acc: array<vec4f, HD4>;
  var m = -3.0e38;
  var l = 0.0;
  for (var j0 = 0u; j0 < p.len; j0 += ${KV_TILE}u) {
    // Threads 0..31 load key j0 + li, threads 32..63 its value.
    let j = j0 + (li % ${KV_TILE}u);
    if (s < p.seqs && j < p.len) {
      let kRow = row(inMap(), s, j) * 3u * D4 + D4 + h * HD4;
      if (li < ${KV_TILE}u) { for (var c = 0u; c < HD4; c++) { Ks[li][c] = qkv[kRow + c]; } }
      else { for (var c = 0u; c < HD4; c++) { Vs[li - ${KV_TILE}u][c] = qkv[kRow + D4 + c]; } }
    }
    workgroupBarrier();
    let n = min(${KV_TILE}u, p.len - j0);
    for (var t = 0u; t < n; t++) {
${ONLINE_STEP('Ks[t][c]', 'Vs[t][c]')}
    }
    workgroupBarrier();
  }
  if (!isQuery) { return; }
  let o = row(outMap(), s, i) * D4 + h * HD4;
  for (var c = 0u; c < HD4; c++) { context[o + c] = acc[c] / l; }
  writeProbs(&q, s, h, i, m);
}
`;

const source = (variant: AttentionVariant, headDim: number): KernelSource => ({
  key: `attention/${variant}/d=${headDim}`,
  bindings: ['uniform', 'read', 'write', 'write'],
  code: header(headDim) + (variant === 'kv-tiles' ? KV_TILES : GLOBAL),
});

const mapWords = (m: TokenMap) => [m.hasCls ? 1 : 0, m.clsBase, m.clsStride, m.rowBase, m.seqStride, m.tokenStride];

export function attention(rt: Runtime, label: string, a: AttentionArgs, variant: AttentionVariant = 'global'): Step {
  const headDim = a.D / a.heads;
  if (headDim % 4 !== 0) throw new GpuError(`attention needs a head dimension divisible by 4 (vec4 loads); this model has ${headDim}`);
  const mode = { none: 0, all: 1, cls: 2 }[a.probsMode];
  const words = params([a.seqs, a.len, a.heads, a.D, mode, { f32: 1 / Math.sqrt(headDim) }, ...mapWords(a.input), ...mapWords(a.output)]);
  const workgroups = variant === 'kv-tiles' ? a.seqs * a.heads * Math.ceil(a.len / 64) : Math.ceil((a.seqs * a.heads * a.len) / 64);
  return rt.dispatch(label, source(variant, headDim), words, [a.qkv, a.context, a.probs ?? rt.placeholder], grid(workgroups));
}
