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
import * as cpu from '../../reference/ops';
import { GpuError, grants, type KernelNeeds } from '../device';
import { grid, params, WORKGROUP_SIZE, type Bound, type KernelSource, type Runtime, type Step } from '../runtime';
import { partLabel, type SequenceParts } from '../sequence-chunks';
import { once, random, sampleRows, sizeClass, trialRows, type KernelTuning } from '../trial';

export interface TokenMap {
  hasCls: boolean;
  clsBase: number;
  clsStride: number;
  rowBase: number;
  seqStride: number;
  tokenStride: number;
}

/** `seqs` sequences of `len` consecutive rows from row 0, no CLS (e.g. a trial's qkv). */
export const consecutiveTokens = (len: number): TokenMap => ({ hasCls: false, clsBase: 0, clsStride: 0, rowBase: 0, seqStride: len, tokenStride: 1 });
/** Sequences of `len` consecutive rows, each starting with its CLS (joint: one sequence; space-only: one per frame). */
export const wholeSequences = (len: number): TokenMap => ({ hasCls: true, clsBase: 0, clsStride: len, rowBase: 1, seqStride: len, tokenStride: 1 });
/** Divided temporal: patch p's T tokens, rows 1 + p·T + t; the CLS takes no part. */
export const temporalTokens = (T: number): TokenMap => ({ hasCls: false, clsBase: 0, clsStride: 0, rowBase: 1, seqStride: T, tokenStride: 1 });
/** Divided spatial: frame t's [CLS, its N patches] read in place, rows 0 and 1 + p·T + t; the CLS (row 0) shared by every frame. */
export const spatialTokens = (T: number): TokenMap => ({ hasCls: true, clsBase: 0, clsStride: 0, rowBase: 1, seqStride: 1, tokenStride: T });

export type ProbsMode = 'none' | 'all' | 'cls';

export const ATTENTION_VARIANTS = ['global', 'kv-tiles'] as const;
export type AttentionVariant = (typeof ATTENTION_VARIANTS)[number];
/** Keys (and values) per workgroup-memory tile in 'kv-tiles': half a workgroup loads keys, half values. */
const KV_TILE = WORKGROUP_SIZE / 2;

/** What a variant needs of the device for heads of `headDim`: 'kv-tiles' holds a tile of keys and values (f32). */
export const attentionNeeds = (variant: AttentionVariant, headDim: number): KernelNeeds => ({ workgroupBytes: variant === 'kv-tiles' ? 2 * KV_TILE * headDim * 4 : 0, invocations: WORKGROUP_SIZE });

export interface AttentionArgs {
  qkv: GPUBuffer;
  context: GPUBuffer;
  probs?: GPUBuffer;
  probsMode: ProbsMode;
  seqs: number;
  /** The token maps' index of the first of the `seqs` sequences (probabilities indexed from it: a part's). */
  firstSeq?: number;
  len: number;
  heads: number;
  D: number;
  input: TokenMap;
  output: TokenMap;
}

/** A TokenMap in WGSL: its struct and the row of token j of sequence s (the backward maps rows the same way). */
export const TOKEN_MAP_WGSL = /* wgsl */ `
struct Map { hasCls: u32, clsBase: u32, clsStride: u32, rowBase: u32, seqStride: u32, tokenStride: u32 }
fn row(m: Map, s: u32, j: u32) -> u32 {
  if (m.hasCls == 1u && j == 0u) { return m.clsBase + s * m.clsStride; }
  return m.rowBase + s * m.seqStride + (j - m.hasCls) * m.tokenStride;
}
`;

/**
 * qkv bound whole (`parts` 1), or in `parts` bindings of QKV_PART vec4s each where it is larger than one
 * binding (TimeSformer-L's is 173 MB): then the kernel's reads qkv[i] become qkvAt(i), which picks the part.
 */
const qkvBindings = (parts: number) =>
  parts === 1
    ? '@group(0) @binding(1) var<storage, read> qkv: array<vec4f>;'
    : /* wgsl */ `override QKV_PART: u32;
${Array.from({ length: parts }, (_, k) => `@group(0) @binding(${1 + k}) var<storage, read> qkv${k}: array<vec4f>;`).join('\n')}
fn qkvAt(i: u32) -> vec4f {
  let part = i / QKV_PART;
  let j = i - part * QKV_PART;
${Array.from({ length: parts - 1 }, (_, k) => `  if (part == ${k}u) { return qkv${k}[j]; }`).join('\n')}
  return qkv${parts - 1}[j];
}`;

const header = (headDim: number, parts: number) => /* wgsl */ `
override WORKGROUP_SIZE: u32;
${TOKEN_MAP_WGSL}
struct Params {
  seqs: u32, len: u32, heads: u32, D: u32, probsMode: u32, scale: f32, firstSeq: u32,
  inHasCls: u32, inClsBase: u32, inClsStride: u32, inRowBase: u32, inSeqStride: u32, inTokenStride: u32,
  outHasCls: u32, outClsBase: u32, outClsStride: u32, outRowBase: u32, outSeqStride: u32, outTokenStride: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
${qkvBindings(parts)}
@group(0) @binding(${parts + 1}) var<storage, read_write> context: array<vec4f>;
@group(0) @binding(${parts + 2}) var<storage, read_write> probs: array<f32>;
const HD4 = ${headDim / 4}u;   // head dimension in vec4s

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
// online sum (rescaled along the way) does not quite give for long rows. s: the token maps' sequence index.
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
    let sh = (s - p.firstSeq) * p.heads + h;
    let base = select(sh * p.len, (sh * p.len + i) * p.len, p.probsMode == 1u);
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
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let id = (wg.x + wg.y * nwg.x) * WORKGROUP_SIZE + li;
  if (id >= p.seqs * p.heads * p.len) { return; }
  let i = id % p.len;
  let h = (id / p.len) % p.heads;
  let s = p.firstSeq + id / (p.len * p.heads);
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

// Workgroup w: (s, h) = w / blocks, queries (w % blocks)·WORKGROUP_SIZE + li. Threads past the sequence still
// load tiles and meet the barriers (uniform control flow), then write nothing.
const KV_TILES = /* wgsl */ `
override KV_TILE: u32;
var<workgroup> Ks: array<array<vec4f, HD4>, KV_TILE>;
var<workgroup> Vs: array<array<vec4f, HD4>, KV_TILE>;
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let blocks = (p.len + WORKGROUP_SIZE - 1u) / WORKGROUP_SIZE;
  let w = wg.x + wg.y * nwg.x;
  let sh = w / blocks;
  let s = p.firstSeq + sh / p.heads;
  let h = sh % p.heads;
  let i = (w % blocks) * WORKGROUP_SIZE + li;
  let inRange = sh / p.heads < p.seqs;
  let isQuery = inRange && i < p.len;
  let D4 = p.D / 4u;

  var q: array<vec4f, HD4>;
  if (isQuery) {
    let qRow = row(inMap(), s, i) * 3u * D4 + h * HD4;
    for (var c = 0u; c < HD4; c++) { q[c] = qkv[qRow + c]; }
  }
  var acc: array<vec4f, HD4>;
  var m = -3.0e38;
  var l = 0.0;
  for (var j0 = 0u; j0 < p.len; j0 += KV_TILE) {
    // Threads 0..KV_TILE-1 load key j0 + li, the other half its value.
    let j = j0 + (li % KV_TILE);
    if (inRange && j < p.len) {
      let kRow = row(inMap(), s, j) * 3u * D4 + D4 + h * HD4;
      if (li < KV_TILE) { for (var c = 0u; c < HD4; c++) { Ks[li][c] = qkv[kRow + c]; } }
      else { for (var c = 0u; c < HD4; c++) { Vs[li - KV_TILE][c] = qkv[kRow + D4 + c]; } }
    }
    workgroupBarrier();
    let n = min(KV_TILE, p.len - j0);
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

/** Most parts qkv is bound in: with context and probs, 6 of the 8 storage bindings every device grants a stage. */
export const MAX_QKV_PARTS = 4;

function source(variant: AttentionVariant, headDim: number, qkvPart?: number, parts = 1): KernelSource {
  const code = header(headDim, parts) + (variant === 'kv-tiles' ? KV_TILES : GLOBAL);
  return {
    key: `attention/${variant}/d=${headDim}${parts > 1 ? `/qkv in ${parts}` : ''}`,
    bindings: ['uniform', ...Array<'read'>(parts).fill('read'), 'write', 'write'],
    code: parts === 1 ? code : code.replace(/qkv\[([^\]]+)\]/g, 'qkvAt($1)'),
    constants: { WORKGROUP_SIZE, ...(variant === 'kv-tiles' ? { KV_TILE } : {}), ...(qkvPart ? { QKV_PART: qkvPart } : {}) },
  };
}

/** qkv whole, or in parts of the largest aligned size one binding holds. */
function qkvParts(rt: Runtime, label: string, qkv: GPUBuffer): { ranges: Bound[]; part?: number } {
  if (qkv.size <= rt.limits.binding) return { ranges: [qkv] };
  const align = rt.device.limits.minStorageBufferOffsetAlignment;
  const bytes = Math.floor(rt.limits.binding / align) * align;
  const parts = Math.ceil(qkv.size / bytes);
  if (parts > MAX_QKV_PARTS) throw new GpuError(`${label}: qkv (${qkv.size} bytes) needs more than ${MAX_QKV_PARTS} bindings of this GPU's ${rt.limits.binding} bytes`);
  const ranges = Array.from({ length: parts }, (_, k) => ({ buffer: qkv, offset: k * bytes, size: Math.min(bytes, qkv.size - k * bytes) }));
  return { ranges, part: bytes / 16 };
}

/** A TokenMap as the uniform words of TOKEN_MAP_WGSL's struct. */
export const mapWords = (m: TokenMap) => [m.hasCls ? 1 : 0, m.clsBase, m.clsStride, m.rowBase, m.seqStride, m.tokenStride];

export function attention(rt: Runtime, label: string, a: AttentionArgs, variant: AttentionVariant = 'global'): Step {
  const headDim = a.D / a.heads;
  if (headDim % 4 !== 0) throw new GpuError(`attention needs a head dimension divisible by 4 (vec4 loads); this model has ${headDim}`);
  const mode = { none: 0, all: 1, cls: 2 }[a.probsMode];
  const words = params([a.seqs, a.len, a.heads, a.D, mode, { f32: 1 / Math.sqrt(headDim) }, a.firstSeq ?? 0, ...mapWords(a.input), ...mapWords(a.output)]);
  const workgroups = variant === 'kv-tiles' ? a.seqs * a.heads * Math.ceil(a.len / WORKGROUP_SIZE) : Math.ceil((a.seqs * a.heads * a.len) / WORKGROUP_SIZE);
  const qkv = qkvParts(rt, label, a.qkv);
  return rt.dispatch(label, source(variant, headDim, qkv.part, qkv.ranges.length), words, [...qkv.ranges, a.context, a.probs ?? rt.placeholder], grid(workgroups));
}

/** Attention writing every probability into `probs`, in parts of whole sequences: one dispatch per part. */
export function attentionInParts(rt: Runtime, label: string, a: Omit<AttentionArgs, 'probs' | 'probsMode'>, probs: SequenceParts, variant?: AttentionVariant): Step[] {
  return probs.parts.map((part) => attention(rt, partLabel(label, part, probs.parts.length), { ...a, seqs: part.count, firstSeq: (a.firstSeq ?? 0) + part.first, probs: part.buffer, probsMode: 'all' }, variant));
}

/** An attention shape class's representative: `seqs` sequences of `len` tokens, `heads` heads over D. */
export interface AttentionShape {
  seqs: number;
  len: number;
  heads: number;
  D: number;
}

export const ATTENTION_TUNING: KernelTuning<AttentionShape, AttentionVariant> = {
  kind: 'attention ',
  shapeClass: (s) => `attention len${sizeClass(s.len)} seqs·heads${sizeClass(s.seqs * s.heads)} d=${s.D / s.heads}`,
  runnable: () => ATTENTION_VARIANTS,
  // Tiles of KV_TILE keys only pay when a workgroup's queries share them: not for temporal attention (T keys).
  candidates: (gpu, s) => ATTENTION_VARIANTS.filter((v) => grants(gpu, attentionNeeds(v, s.D / s.heads)) && (v !== 'kv-tiles' || s.len > KV_TILE)),
  trial(rt, shape) {
    const { len, heads, D } = shape;
    const hd = D / heads;
    const seqs = Math.max(1, Math.min(shape.seqs, Math.floor(trialRows(rt, shape.seqs * len) / len)));
    const made = once(() => {
      const qkv = random(seqs * len * 3 * D, 4).map((v) => v * 2);
      // The reference context of sampled sequences and heads: each (s, h) as a one-head attention of its own.
      const expected = sampleRows(seqs, 2).flatMap((s) =>
        sampleRows(heads, 2).map((h) => {
          const one = new Float32Array(len * 3 * hd);
          for (let j = 0; j < len; j++) for (let part = 0; part < 3; part++) one.set(qkv.subarray((s * len + j) * 3 * D + part * D + h * hd, (s * len + j) * 3 * D + part * D + (h + 1) * hd), (j * 3 + part) * hd);
          return { s, h, context: cpu.attention(one, 1, len, hd, 1).context };
        }),
      );
      return { qkv, expected };
    });
    return (scope, variant) => {
      const { qkv, expected } = made();
      const map = consecutiveTokens(len);
      const context = scope.buffer('tune context', seqs * len * D * 4);
      const args = { qkv: scope.upload('tune qkv', qkv), context, probsMode: 'none' as const, seqs, len, heads, D, input: map, output: map };
      return {
        steps: [attention(scope, `tune ${variant}`, args, variant)],
        async check() {
          const out = await scope.read(context, seqs * len * D * 4);
          for (const { s, h, context: want } of expected) {
            for (const i of sampleRows(len, 8)) {
              for (let c = 0; c < hd; c++) {
                const err = Math.abs(out[(s * len + i) * D + h * hd + c] - want[i * hd + c]);
                if (!(err <= 1e-5)) return `sequence ${s} head ${h} query ${i}: |error| ${err.toExponential(2)}`;
              }
            }
          }
          return undefined;
        },
      };
    };
  },
};
