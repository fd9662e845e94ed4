// Attention rollout (Abnar & Zuidema 2020; TimeSformer's figure 7), the dense way: every attention
// sub-layer as a full token × token matrix built from the full probabilities of a forward pass, composed
// by plain matrix products. Slow and obvious on purpose: the GPU rollout (src/engine/kernels/rollout.ts)
// is checked against it.
//
// Dimension key: L layers, T frames, N patches, H heads; S tokens of a sequence: 1 + N·T (divided, joint:
// CLS then patch (p, t) at 1 + p·T + t) or 1 + N (space-only, one sequence per frame).
//
// Definition (vit-explain's, on TimeSformer's sub-layers):
//   F      head fusion of one attention matrix's probabilities: mean, max or min over heads;
//   discard: in each fused matrix (one per attention sequence, as vit-explain does per batch element of
//          the attention it is given), the k = ⌊ratio·len²⌋ smallest entries are set to 0, except the
//          CLS→CLS entry (vit-explain keeps flat index 0); every entry equal to the k-th smallest value is
//          dropped too, so ties are resolved the same way everywhere (vit-explain's topk leaves them to
//          the library);
//   A'     = rownorm(½·I + ½·F) over the sequence's tokens (vit-explain divides by a broadcast of the row
//          sums that normalizes columns; we normalize rows, as rollout intends);
//   divided layer: temporal sub-layer (CLS row and column are the identity; patch (p, t) mixes with
//          (p, t') by its patch's matrix), then spatial (patch (p, t) attends within frame t and to the
//          shared CLS; the CLS row of F is the mean over frames of each frame's CLS row);
//   rollout through layer l: r_l = e₀ · A'_l · … · A'_1, a divided layer's A' being A'_spatial · A'_temporal.
import { tokenLayout, type AttentionGeometry } from '../model/geometry';
import { discardCount, HEAD_FUSIONS, type HeadFusion } from '../model/head-fusions';
import type { NamedTensors } from '../tensor';

export interface RolloutOptions {
  fusion: HeadFusion;
  /** Share of each fused matrix's entries dropped before composing, 0 ≤ discard < 1. */
  discard: number;
}

export interface RolloutResult {
  /** The CLS row through every layer: [S] (divided, joint) or [T, 1+N] (space-only), as `rollout.<fusion>`. */
  final: Float32Array;
  /** The rollout through layers 1..l for each l: [L, ...final's shape], as `rollout.<fusion>.layers`. */
  layers: Float32Array;
}

/** Fuse the heads of `seqs` attention matrices [seqs, H, len, len] → [seqs, len, len]. */
export function fuseHeads(probs: Float32Array, seqs: number, heads: number, len: number, fusion: HeadFusion): Float64Array {
  const block = len * len;
  const out = new Float64Array(seqs * block);
  for (let s = 0; s < seqs; s++) {
    for (let e = 0; e < block; e++) {
      let v = probs[s * heads * block + e];
      for (let h = 1; h < heads; h++) {
        const x = probs[(s * heads + h) * block + e];
        v = fusion === 'mean' ? v + x : fusion === 'max' ? Math.max(v, x) : Math.min(v, x);
      }
      out[s * block + e] = fusion === 'mean' ? v / heads : v;
    }
  }
  return out;
}

/** Drop the lowest entries of each fused matrix in place (see the definition above). */
export function discardLowest(fused: Float64Array, seqs: number, len: number, discard: number, keepFirst: boolean): void {
  const k = discardCount(len, discard);
  if (k === 0) return;
  const block = len * len;
  for (let s = 0; s < seqs; s++) {
    const m = fused.subarray(s * block, (s + 1) * block);
    // The GPU compares float32 bits; comparing the float32 values here orders them identically.
    const cut = Float32Array.from(m).sort()[k - 1];
    for (let e = keepFirst ? 1 : 0; e < block; e++) if (Math.fround(m[e]) <= cut) m[e] = 0;
  }
}

/** Dense S × S matrices, row-major. */
const identity = (n: number) => {
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) m[i * n + i] = 1;
  return m;
};

function multiply(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < n; k++) {
      const v = a[i * n + k];
      if (v === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += v * b[k * n + j];
    }
  return out;
}

/** rownorm(½·I + ½·F), in place. */
function residualNormalize(f: Float64Array, n: number): Float64Array {
  for (let i = 0; i < n; i++) {
    f[i * n + i] += 1;
    let sum = 0;
    for (let j = 0; j < n; j++) sum += f[i * n + j];
    for (let j = 0; j < n; j++) f[i * n + j] /= sum;
  }
  return f;
}

const tensor = (outputs: NamedTensors, name: string, shape: number[]) => {
  const t = outputs.get(name);
  if (!t) throw new Error(`rollout: the forward pass did not record ${name}`);
  if (t.shape.join() !== shape.join()) throw new Error(`rollout: ${name} is [${t.shape}], expected [${shape}]`);
  return t.data;
};

/**
 * The sub-layers of layer l as fused, discarded matrices over the S tokens of one sequence
 * (`seq`: the frame, for space-only), in the order they run.
 */
function layerMatrices(outputs: NamedTensors, g: AttentionGeometry, l: number, seq: number, o: RolloutOptions): Float64Array[] {
  const { frames: T, patches: N, heads: H } = g;
  if (g.attentionType !== 'divided_space_time') {
    const { B: seqs, S } = tokenLayout(g.attentionType, T, N);
    const full = tensor(outputs, `attn.${l}.full`, [seqs, H, S, S]);
    const f = fuseHeads(full.subarray(seq * H * S * S, (seq + 1) * H * S * S), 1, H, S, o.fusion);
    discardLowest(f, 1, S, o.discard, true);
    return [f];
  }
  const S = 1 + N * T;
  const token = (p: number, t: number) => 1 + p * T + t;

  const temporal = fuseHeads(tensor(outputs, `attn.${l}.temporal`, [N, H, T, T]), N, H, T, o.fusion);
  discardLowest(temporal, N, T, o.discard, false);
  const time = new Float64Array(S * S);
  time[0] = 1; // the CLS takes no part: residualNormalize makes its row e₀
  for (let p = 0; p < N; p++)
    for (let tq = 0; tq < T; tq++) for (let tk = 0; tk < T; tk++) time[token(p, tq) * S + token(p, tk)] = temporal[(p * T + tq) * T + tk];

  const spatial = fuseHeads(tensor(outputs, `attn.${l}.spatial`, [T, H, 1 + N, 1 + N]), T, H, 1 + N, o.fusion);
  discardLowest(spatial, T, 1 + N, o.discard, true);
  const space = new Float64Array(S * S);
  const local = (t: number, i: number, j: number) => spatial[(t * (1 + N) + i) * (1 + N) + j];
  for (let t = 0; t < T; t++) {
    space[0] += local(t, 0, 0) / T;
    for (let p = 0; p < N; p++) {
      space[token(p, t)] += local(t, 0, 1 + p) / T;
      space[token(p, t) * S] = local(t, 1 + p, 0);
      for (let q = 0; q < N; q++) space[token(p, t) * S + token(q, t)] = local(t, 1 + p, 1 + q);
    }
  }
  return [time, space];
}

/**
 * The rollout of a forward pass that recorded every attention probability (`attn.l.temporal` and
 * `attn.l.spatial`, or `attn.l.full`), by dense matrix products.
 */
export function denseRollout(outputs: NamedTensors, g: AttentionGeometry, o: RolloutOptions): RolloutResult {
  const { layers: L, frames: T, patches: N } = g;
  const { B: sequences, S } = tokenLayout(g.attentionType, T, N);
  const layers = new Float32Array(L * sequences * S);
  for (let seq = 0; seq < sequences; seq++) {
    let product: Float64Array = identity(S); // A'_l · … · A'_1
    for (let l = 0; l < L; l++) {
      for (const f of layerMatrices(outputs, g, l, seq, o)) product = multiply(residualNormalize(f, S), product, S);
      layers.set(product.subarray(0, S), (l * sequences + seq) * S);
    }
  }
  return { final: layers.slice((L - 1) * sequences * S), layers };
}

/** `rollout.<fusion>` (no discard) for every fusion, named and shaped as the engine returns them. */
export function rolloutOutputs(outputs: NamedTensors, g: AttentionGeometry): NamedTensors {
  const shape = g.attentionType === 'space_only' ? [g.frames, 1 + g.patches] : [1 + g.patches * g.frames];
  return new Map(HEAD_FUSIONS.map((fusion) => [`rollout.${fusion}`, { shape, data: denseRollout(outputs, g, { fusion, discard: 0 }).final }]));
}
