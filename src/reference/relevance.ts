// Class-specific explanations from one backward pass (backward.ts): Chefer, Gur, Wolf, "Generic
// Attention-model Explainability", ICCV 2021, over every attention sub-layer of TimeSformer. Pixel
// saliency (input × gradient) and per-frame importance are shipped code: src/attention/explanation.ts.
//
// Dimension key: T frames, N patches, H heads; tokens as the forward: CLS = 0, patch (p, t) = 1 + p·T + t
// (divided, joint), or T sequences of [CLS, N patches] (space_only).
//
// Definition, for sub-layer s with probabilities A_s [sequences, H, len, len] and G_s = ∂y/∂A_s:
//   Ā_s = mean over heads of max(0, G_s ⊙ A_s), lifted into token space as E_s:
//     temporal (sequence p, positions t): E[1+pT+t, 1+pT+t'] = Ā[p, t, t']; the CLS row and column stay 0;
//     spatial (sequence t, positions 0 = CLS and 1+p), m_t(0) = 0, m_t(1+p) = 1+pT+t:
//       E[m_t(i), m_t(j)] = Ā[t, i, j] for i ≥ 1, and the CLS row sums the frames: E[0, m_t(j)] += Ā[t, 0, j];
//     joint: E = Ā;  space_only: block diagonal, one (1+N) block per frame.
//   R = I, R ← R + E_s·R in forward order; the relevance is R's CLS row (space_only: each frame's block's).
// Only that row is composed, as a row vector from the last sub-layer to the first:
//   e₀ᵀ·(I + E_last)·…·(I + E_first), one step v ← v + v·E_s each, never a dense S × S matrix.
import type { NamedTensors, Tensor } from '../tensor';
import { backwardReference } from './backward';
import type { ReferenceModel } from './timesformer';
import type { AttentionGeometry } from '../model/geometry';

/** Ā = mean over heads of max(0, G ⊙ A): [seqs, H, len, len] → [seqs, len, len]. */
export function gradientWeightedMean(probs: Float32Array, grads: Float32Array, seqs: number, heads: number, len: number): Float64Array {
  const block = len * len;
  const out = new Float64Array(seqs * block);
  for (let s = 0; s < seqs; s++)
    for (let h = 0; h < heads; h++) {
      const at = (s * heads + h) * block;
      for (let e = 0; e < block; e++) out[s * block + e] += Math.max(0, grads[at + e] * probs[at + e]) / heads;
    }
  return out;
}

/** v ← v + v·E for one sub-layer (`kind` as the forward's name `attn.l.<kind>`), on S = 1 + N·T tokens. */
function applyRow(v: Float64Array, fused: Float64Array, kind: string, T: number, N: number): Float64Array<ArrayBuffer> {
  const next = Float64Array.from(v);
  const token = (p: number, t: number) => 1 + p * T + t;
  if (kind === 'temporal') {
    for (let p = 0; p < N; p++)
      for (let t = 0; t < T; t++)
        for (let u = 0; u < T; u++) next[token(p, u)] += v[token(p, t)] * fused[(p * T + t) * T + u];
  } else if (kind === 'spatial') {
    const len = 1 + N;
    const m = (t: number, i: number) => (i === 0 ? 0 : token(i - 1, t));
    for (let t = 0; t < T; t++)
      for (let i = 0; i < len; i++) {
        const vi = v[m(t, i)]; // the CLS row (i = 0) is every frame's: v[0] meets each frame's row 0
        for (let j = 0; j < len; j++) next[m(t, j)] += vi * fused[(t * len + i) * len + j];
      }
  } else {
    const S = v.length; // full: one sequence over every token
    for (let i = 0; i < S; i++) for (let j = 0; j < S; j++) next[j] += v[i] * fused[i * S + j];
  }
  return next;
}

/**
 * The relevance of a backward pass: [1 + N·T] (divided, joint) or [T, 1 + N] (space_only).
 * `probs` holds the forward's `attn.l.*`, `grads` their gradients, under the same names.
 */
export function relevance(probs: NamedTensors, grads: NamedTensors, g: AttentionGeometry): Tensor {
  const { layers: L, frames: T, patches: N, heads: H } = g;
  const kinds = g.attentionType === 'divided_space_time' ? ['temporal', 'spatial'] : ['full'];
  const fused: { kind: string; data: Float64Array }[] = [];
  for (let l = 0; l < L; l++)
    for (const kind of kinds) {
      const name = `attn.${l}.${kind}`;
      const a = probs.get(name), gr = grads.get(name);
      if (!a || !gr) throw new Error(`relevance: no ${a ? 'gradient' : 'probabilities'} for ${name}`);
      const [seqs, , len] = a.shape;
      fused.push({ kind, data: gradientWeightedMean(a.data, gr.data, seqs, H, len) });
    }
  if (g.attentionType === 'space_only') {
    const len = 1 + N, out = new Float32Array(T * len);
    for (let t = 0; t < T; t++) {
      let v = new Float64Array(len);
      v[0] = 1;
      for (let s = fused.length - 1; s >= 0; s--) v = applyRow(v, fused[s].data.subarray(t * len * len, (t + 1) * len * len), 'full', T, N);
      out.set(v, t * len);
    }
    return { shape: [T, len], data: out };
  }
  let v = new Float64Array(1 + N * T);
  v[0] = 1;
  for (let s = fused.length - 1; s >= 0; s--) v = applyRow(v, fused[s].data, fused[s].kind, T, N);
  return { shape: [v.length], data: Float32Array.from(v) };
}

/** `grad_pixels.class.<c>` [1, T, 3, H, W] and `relevance.class.<c>` for each class, named as the expected files. */
export function explanationOutputs(model: ReferenceModel, pixels: Tensor, classes: number[], g: AttentionGeometry): NamedTensors {
  const out: NamedTensors = new Map();
  for (const c of classes) {
    const back = backwardReference(model, pixels, c);
    out.set(`grad_pixels.class.${c}`, { shape: [1, ...pixels.shape], data: back.pixels.data });
    out.set(`relevance.class.${c}`, relevance(back.forward, back.attention, g));
  }
  return out;
}
