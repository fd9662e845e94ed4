// Attention rollout on the GPU, from each attention sub-layer's full probabilities as the forward pass
// produces them; nothing but the rollout rows is read back. The definition (head fusion, discard,
// rownorm(½·I + ½·F), divided layers as temporal then spatial) is src/reference/rollout.ts's, which is
// also the CPU reference these kernels are tested against (test/engine/rollout.test.ts).
//
// Dimension key: L layers, H heads; a sub-layer is `seqs` attention sequences of `len` tokens whose
// token j of sequence s is the rollout vector's entry tok(s, j) (the attention kernel's TokenMap);
// S entries in the vector (1 + N·T for divided and joint, T·(1+N) for space-only: every frame's
// rollout at once, since frames never mix).
//
// Three kernels:
//   fuse    probs [seqs, H, len, len] → F [seqs, len, len] (mean, max or min over heads), once per sub-layer
//           (per part of the probabilities, where they are kept in parts: sequence-chunks.ts);
//   prepare per sequence (one workgroup): the k-th smallest entry of F (radix select on the f32 bits,
//           which order non-negative floats like their values) and the row sums Z = ½ + ½·Σ_j F̃;
//   step    r_out = r_in · A', A' = (½·I + ½·F̃) / Z, one thread per output token; a divided spatial
//           sub-layer's CLS is shared by every frame (clsStride 0), so its row is the mean over frames
//           of each frame's CLS row, and the thread of sequence 0 sums its column over every frame.
// The rollout through layer l is r_l = e₀ · A'_l · … · A'_1, computed from the last of those layers down.
import type { AttentionType } from '../../checkpoint/config';
import { tokenLayout } from '../../model/geometry';
import { discardCount, HEAD_FUSIONS, type HeadFusion } from '../../model/head-fusions';
import { GpuError } from '../device';
import { partLabel, type SequenceParts } from '../sequence-chunks';
import { ELEMENT_CONSTANTS, elementGrid, grid, params, type KernelSource, type Runtime, type Step } from '../runtime';
import { spatialTokens, temporalTokens, TOKEN_MAP_WGSL, wholeSequences, type TokenMap } from './attention';

const FUSE: KernelSource = {
  key: 'rollout-fuse',
  bindings: ['uniform', 'read', 'write'],
  constants: ELEMENT_CONSTANTS,
  code: /* wgsl */ `
override WORKGROUP_SIZE: u32;
// One thread per entry (s, i, j) of the fused matrices of a part's sequences (written from entry outOffset): a loop over the H heads.
struct Params { count: u32, heads: u32, area: u32, fusion: u32, outOffset: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> probs: array<f32>;
@group(0) @binding(2) var<storage, read_write> fused: array<f32>;
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let id = (wg.x + wg.y * nwg.x) * WORKGROUP_SIZE + li;
  if (id >= p.count) { return; }
  let base = (id / p.area) * p.heads * p.area + id % p.area;
  var v = probs[base];
  for (var h = 1u; h < p.heads; h++) {
    let x = probs[base + h * p.area];
    if (p.fusion == 0u) { v += x; } else if (p.fusion == 1u) { v = max(v, x); } else { v = min(v, x); }
  }
  if (p.fusion == 0u) { v /= f32(p.heads); }
  fused[p.outOffset + id] = v;
}
`,
};

/** Shared by prepare and step: which entries of a fused matrix the discard drops. */
const DROPPED = /* wgsl */ `
// Entry e (flat i·len + j) of sequence s is dropped when it is at most the sequence's cut (the k-th
// smallest entry's bits), unless it is the CLS→CLS entry a matrix with a CLS keeps.
fn dropped(s: u32, e: u32, v: f32) -> bool {
  return p.drop > 0u && !(p.keepFirst == 1u && e == 0u) && bitcast<u32>(v) <= cut[s];
}
`;

const PREPARE: KernelSource = {
  key: 'rollout-prepare',
  bindings: ['uniform', 'read', 'write', 'write'],
  code: /* wgsl */ `
// One 256-thread workgroup per sequence. Radix select, 8 bits a pass from the top: histogram the
// entries whose higher bits match the prefix found so far, and descend into the bucket holding the
// k-th smallest. Then one thread per row sums what the discard keeps.
struct Params { seqs: u32, len: u32, drop: u32, keepFirst: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> fused: array<f32>;
@group(0) @binding(2) var<storage, read_write> cut: array<u32>;
@group(0) @binding(3) var<storage, read_write> rowSum: array<f32>;
var<workgroup> histogram: array<atomic<u32>, 256>;
var<workgroup> prefix: u32;
var<workgroup> rank: u32;
${DROPPED}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let s = wg.x + wg.y * nwg.x;
  if (s >= p.seqs) { return; }
  let n = p.len * p.len;
  let base = s * n;
  if (p.drop > 0u) {
    if (li == 0u) { prefix = 0u; rank = p.drop; }
    for (var round = 0u; round < 4u; round++) {
      let shift = 24u - 8u * round;
      let mask = select(0xffffffffu << (shift + 8u), 0u, round == 0u);
      atomicStore(&histogram[li], 0u);
      workgroupBarrier();
      let known = prefix;
      for (var e = li; e < n; e += 256u) {
        let b = bitcast<u32>(fused[base + e]);
        if ((b & mask) == known) { atomicAdd(&histogram[(b >> shift) & 255u], 1u); }
      }
      workgroupBarrier();
      if (li == 0u) {
        var below = 0u;
        for (var d = 0u; d < 256u; d++) {
          let c = atomicLoad(&histogram[d]);
          if (below + c >= rank) { prefix = known | (d << shift); rank -= below; break; }
          below += c;
        }
      }
      workgroupBarrier();
    }
    if (li == 0u) { cut[s] = prefix; }
  }
  storageBarrier();
  workgroupBarrier();
  for (var i = li; i < p.len; i += 256u) {
    var sum = 0.0;
    for (var j = 0u; j < p.len; j++) {
      let e = i * p.len + j;
      let v = fused[base + e];
      if (!dropped(s, e, v)) { sum += v; }
    }
    rowSum[s * p.len + i] = 0.5 + 0.5 * sum;
  }
}
`,
};

const STEP: KernelSource = {
  key: 'rollout-step',
  bindings: ['uniform', 'read', 'read', 'read', 'read', 'write'],
  constants: ELEMENT_CONSTANTS,
  code: /* wgsl */ `
override WORKGROUP_SIZE: u32;
// One thread per output token (s, j): r_out[tok(s, j)] = Σ_i r_in[tok(s, i)] · A'(s)[i, j]; for the shared
// CLS (j = 0, clsStride 0) the thread of s = 0 sums over every sequence. One more thread copies the
// entry no sequence holds (the CLS of a temporal sub-layer), when there is one.
struct Params {
  seqs: u32, len: u32, drop: u32, keepFirst: u32, passThrough: u32,
  hasCls: u32, clsBase: u32, clsStride: u32, rowBase: u32, seqStride: u32, tokenStride: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> fused: array<f32>;
@group(0) @binding(2) var<storage, read> cut: array<u32>;
@group(0) @binding(3) var<storage, read> rowSum: array<f32>;
@group(0) @binding(4) var<storage, read> rIn: array<f32>;
@group(0) @binding(5) var<storage, read_write> rOut: array<f32>;
${DROPPED}
${TOKEN_MAP_WGSL}
fn tok(s: u32, j: u32) -> u32 { return row(Map(p.hasCls, p.clsBase, p.clsStride, p.rowBase, p.seqStride, p.tokenStride), s, j); }
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let id = (wg.x + wg.y * nwg.x) * WORKGROUP_SIZE + li;
  let total = p.seqs * p.len;
  if (id == total && p.passThrough != 0xffffffffu) { rOut[p.passThrough] = rIn[p.passThrough]; }
  if (id >= total) { return; }
  let s = id / p.len;
  let j = id % p.len;
  let sharedCls = p.hasCls == 1u && p.clsStride == 0u;
  if (sharedCls && j == 0u && s > 0u) { return; }
  // The shared CLS row: weight 1/seqs in each sequence, normalized by the mean of its row sums.
  var clsScale = 1.0 / rowSum[s * p.len];
  if (sharedCls) {
    var z = 0.0;
    for (var t = 0u; t < p.seqs; t++) { z += rowSum[t * p.len]; }
    clsScale = 1.0 / z;
  }
  let first = select(s, 0u, sharedCls && j == 0u);
  let last = select(s + 1u, p.seqs, sharedCls && j == 0u);
  var acc = 0.0;
  for (var t = first; t < last; t++) {
    for (var i = 0u; i < p.len; i++) {
      let e = i * p.len + j;
      var f = fused[t * p.len * p.len + e];
      if (dropped(t, e, f)) { f = 0.0; }
      let a = 0.5 * f + select(0.0, 0.5, i == j);
      let scale = select(1.0 / rowSum[t * p.len + i], clsScale, i == 0u && p.hasCls == 1u);
      acc += rIn[tok(t, i)] * scale * a;
    }
  }
  rOut[tok(s, j)] = acc;
}
`,
};

/** The sequences of one attention sub-layer and where their tokens sit in the rollout vector. */
export interface SubLayerLayout {
  seqs: number;
  len: number;
  /** Where token j of sequence s sits in the rollout vector (the token rows of the forward pass). */
  map: TokenMap;
  /** A vector entry no sequence holds, carried through unchanged (the CLS of a temporal sub-layer). */
  passThrough?: number;
}

/** One attention sub-layer as the rollout sees it: its layout and its probabilities [seqs, H, len, len] on the GPU. */
export interface SubLayer extends SubLayerLayout {
  probs: SequenceParts;
}

export interface RolloutVector {
  layers: number;
  heads: number;
  /** Entries of the rollout vector. */
  size: number;
  /** Entries that start at 1: the CLS (one per frame for space-only). */
  starts: number[];
  /** The shape of one rollout (`rollout.<fusion>`), e.g. [S] or [T, 1+N]. */
  shape: number[];
}

/**
 * The rollout vector of a model with T frames of N patches, and each layer's sub-layers in the order
 * they run: the same token rows the forward pass uses (divided and joint: CLS, then (p, t) at
 * 1 + p·T + t; space-only: frame t's CLS at t·(1+N), its patches after it).
 */
export function rolloutLayout(attentionType: AttentionType, layers: number, heads: number, T: number, N: number): { vector: RolloutVector; subLayers: SubLayerLayout[] } {
  const { B, S, temporal, spatial } = tokenLayout(attentionType, T, N);
  if (temporal) return { vector: { layers, heads, size: S, starts: [0], shape: [S] }, subLayers: [{ ...temporal, map: temporalTokens(T), passThrough: 0 }, { ...spatial, map: spatialTokens(T) }] };
  const starts = Array.from({ length: B }, (_, s) => s * S);
  return { vector: { layers, heads, size: B * S, starts, shape: attentionType === 'space_only' ? [T, S] : [S] }, subLayers: [{ ...spatial, map: wholeSequences(S) }] };
}

interface Prepared {
  sub: SubLayer;
  fused: GPUBuffer;
  cut: GPUBuffer;
  rowSum: GPUBuffer;
  drop: number;
}

/** Output names: `rollout.<fusion>` for the first discard ratio, `rollout.<fusion>.discard=<ratio>` for others; `.layers` for every depth. */
export const rolloutName = (fusion: HeadFusion, discard: number, first: boolean) => (first ? `rollout.${fusion}` : `rollout.${fusion}.discard=${discard}`);

/**
 * Records the rollout into a plan: `subLayer` after each attention step (in the order they run, the
 * probabilities may be overwritten afterwards), `finish` at the end to compose every layer's rollout
 * for each fusion and discard ratio into outputs (`rolloutName` and `<name>.layers`). `buffer` makes
 * plan buffers (released with the plan), `output` declares a buffer that is read back.
 */
export class RolloutRecorder {
  private readonly layersDone: Prepared[][][][] = []; // [layer][fusion][discard][sub-layer]

  constructor(
    private readonly rt: Runtime,
    private readonly geometry: RolloutVector,
    private readonly discards: readonly number[],
    private readonly buffer: (label: string, floats: number) => GPUBuffer,
    readonly fusions: readonly HeadFusion[] = HEAD_FUSIONS,
  ) {
    if (fusions.length === 0 || discards.length === 0) throw new GpuError('rollout: no head fusion or discard ratio requested');
    for (const d of discards) discardCount(1, d); // checks the ratio
  }

  /**
   * Fuse heads and find the discard cuts of one sub-layer of `layer`, right after its attention step.
   * Returns the fused matrices [seqs, len, len] by fusion (they stay valid for the plan's life).
   */
  subLayer(steps: Step[], layer: number, label: string, sub: SubLayer): Map<HeadFusion, GPUBuffer> {
    const { rt } = this;
    const H = this.geometry.heads;
    const keepFirst = sub.map.hasCls ? 1 : 0;
    const block = sub.len * sub.len;
    const fusedBy = new Map<HeadFusion, GPUBuffer>();
    this.layersDone[layer] ??= this.fusions.map(() => this.discards.map(() => []));
    this.fusions.forEach((fusion, f) => {
      const fused = this.buffer(`${label} fused ${fusion}`, sub.seqs * block);
      for (const part of sub.probs.parts) {
        const count = part.count * block;
        const words = params([count, H, block, HEAD_FUSIONS.indexOf(fusion), part.first * block]);
        steps.push(rt.dispatch(partLabel(`${label} fuse ${fusion}`, part, sub.probs.parts.length), FUSE, words, [part.buffer, fused], elementGrid(count)));
      }
      fusedBy.set(fusion, fused);
      this.discards.forEach((discard, d) => {
        const drop = discardCount(sub.len, discard);
        const cut = this.buffer(`${label} cut ${fusion} ${discard}`, sub.seqs);
        const rowSum = this.buffer(`${label} row sums ${fusion} ${discard}`, sub.seqs * sub.len);
        steps.push(rt.dispatch(`${label} prepare ${fusion} ${discard}`, PREPARE, params([sub.seqs, sub.len, drop, keepFirst]), [fused, cut, rowSum], grid(sub.seqs)));
        this.layersDone[layer][f][d].push({ sub, fused, cut, rowSum, drop });
      });
    });
    return fusedBy;
  }

  /** Compose r_l = e₀ · A'_l · … · A'_1 for every l, fusion and discard ratio; declares the outputs. */
  finish(steps: Step[], output: (name: string, shape: number[]) => GPUBuffer): void {
    const { rt, geometry: g } = this;
    if (this.layersDone.length !== g.layers) throw new GpuError(`rollout: ${this.layersDone.length} of ${g.layers} layers recorded`);
    const start = new Float32Array(g.size);
    for (const i of g.starts) start[i] = 1;
    const init = this.buffer('rollout start', g.size);
    rt.device.queue.writeBuffer(init, 0, start);
    const vectors = [this.buffer('rollout a', g.size), this.buffer('rollout b', g.size)];
    const bytes = g.size * 4;
    this.fusions.forEach((fusion, f) => {
      this.discards.forEach((discard, d) => {
        const name = rolloutName(fusion, discard, d === 0);
        const layers = output(`${name}.layers`, [g.layers, ...g.shape]);
        const final = output(name, g.shape);
        for (let through = 0; through < g.layers; through++) {
          let cur = 0;
          steps.push({ kind: 'copy', label: 'rollout start', src: init, srcOffset: 0, dst: vectors[0], dstOffset: 0, size: bytes });
          for (let l = through; l >= 0; l--) {
            // r ← r · A'_l: the last sub-layer of a layer first (spatial before temporal).
            for (const pre of [...this.layersDone[l][f][d]].reverse()) {
              steps.push(this.step(`${name} L${through} ← L${l}`, pre, vectors[cur], vectors[1 - cur]));
              cur = 1 - cur;
            }
          }
          steps.push({ kind: 'copy', label: `${name} through L${through}`, src: vectors[cur], srcOffset: 0, dst: layers, dstOffset: through * bytes, size: bytes });
        }
        steps.push({ kind: 'copy', label: name, src: layers, srcOffset: (g.layers - 1) * bytes, dst: final, dstOffset: 0, size: bytes });
      });
    });
  }

  private step(label: string, pre: Prepared, rIn: GPUBuffer, rOut: GPUBuffer): Step {
    const { sub } = pre;
    const m = sub.map;
    const words = params([sub.seqs, sub.len, pre.drop, m.hasCls ? 1 : 0, sub.passThrough ?? 0xffffffff, m.hasCls ? 1 : 0, m.clsBase, m.clsStride, m.rowBase, m.seqStride, m.tokenStride]);
    return this.rt.dispatch(label, STEP, words, [pre.fused, pre.cut, pre.rowSum, rIn, rOut], elementGrid(sub.seqs * sub.len + 1));
  }
}
