// TimeSformer forward pass on the CPU: the reference every backend is checked against.
// Follows Bertasius et al. 2021 and Hugging Face's TimesformerModel token for token.
//
// Dimension key:
//   T frames   Gh×Gw patch grid   N = Gh·Gw patches   D hidden   H heads   d = D/H   F intermediate   L labels
//   B sequences   S tokens per sequence (src/model/geometry.ts)
// Token layout (divided, joint): [CLS] + patches in (p, t) order, token 1 + p·T + t, p = row·Gw + col.
// space_only keeps frames apart: T sequences of [CLS] + N patches.
import type { TimesformerConfig } from '../checkpoint/config';
import { toFloat32, type RawTensor } from '../checkpoint/tensor';
import type { Linear, Norm, TimesformerWeights } from '../checkpoint/weights';
import type { NamedTensors, Tensor } from '../tensor';
import { positionEmbeddings, timeEmbeddings } from '../model/embeddings';
import { clipGeometry } from '../model/geometry';
import { add, attention, gelu, layerNorm, linear } from './ops';

export interface ReferenceModel {
  config: TimesformerConfig;
  weights: TimesformerWeights;
}

export interface ForwardOptions {
  /** Record attention probabilities (`attn.l.*`): memory grows with L·T·H·N². Default true. */
  attentions?: boolean;
  /** Record what the backward pass reads (`act.l.*`, see backward.ts). Default false. */
  activations?: boolean;
}

const f32 = (t: RawTensor) => toFloat32(t);
const lin = (x: Float32Array, rows: number, l: Linear) => linear(x, rows, l.weight.shape[1], f32(l.weight), l.bias && f32(l.bias), l.weight.shape[0]);
const norm = (x: Float32Array, rows: number, n: Norm, eps: number) => layerNorm(x, rows, n.weight.shape[0], f32(n.weight), f32(n.bias), eps);

/** Patch embedding: a stride-P convolution per frame. pixels [T, 3, Hpx, Wpx] → [T, N, D]. */
function patchEmbed(c: TimesformerConfig, w: TimesformerWeights, pixels: Tensor): Float32Array {
  const [T, C, Hpx, Wpx] = pixels.shape;
  const P = c.patchSize, K = C * P * P;
  const { Gh, Gw, N } = clipGeometry(c, T, Hpx, Wpx);
  // im2col: each patch becomes a row of K = 3·P·P values in the conv weight's (c, y, x) order.
  const patches = new Float32Array(T * N * K);
  for (let t = 0; t < T; t++)
    for (let r = 0; r < Gh; r++)
      for (let col = 0; col < Gw; col++) {
        const row = (t * N + r * Gw + col) * K;
        for (let ch = 0; ch < C; ch++)
          for (let y = 0; y < P; y++)
            for (let x = 0; x < P; x++)
              patches[row + (ch * P + y) * P + x] = pixels.data[((t * C + ch) * Hpx + r * P + y) * Wpx + col * P + x];
      }
  const weight = f32(w.patchEmbed.weight); // [D, 3, P, P] read as [D, K]
  return linear(patches, T * N, K, weight, f32(w.patchEmbed.bias!), c.hiddenSize);
}

/** Run the model on one clip. pixels: [T, 3, Hpx, Wpx] normalized (the `pixel_values` of batch 1). */
export function forwardReference({ config: c, weights: w }: ReferenceModel, pixels: Tensor, options: ForwardOptions = {}): NamedTensors {
  const recordAttention = options.attentions ?? true;
  const recordActivations = options.activations ?? false;
  const [T, , Hpx, Wpx] = pixels.shape;
  const D = c.hiddenSize, H = c.numHeads, eps = c.layerNormEps;
  const { Gh, Gw, N, B, S } = clipGeometry(c, T, Hpx, Wpx);
  const out: NamedTensors = new Map();
  const emit = (name: string, shape: number[], data: Float32Array) => out.set(name, { shape, data });
  const keep = (name: string, shape: number[], data: Float32Array) => recordActivations && emit(name, shape, data);

  // Embeddings: per frame [CLS, patches] + position; then time embeddings on the patches.
  const patches = patchEmbed(c, w, pixels); // [T, N, D]
  const pos = positionEmbeddings(c, w, Gh, Gw); // [1+N, D]
  const cls = add(f32(w.clsToken), pos.subarray(0, D)); // [D]
  const spaceOnly = c.attentionType === 'space_only';
  let h: Float32Array = new Float32Array(B * S * D);
  if (spaceOnly) {
    for (let t = 0; t < T; t++) {
      h.set(cls, t * S * D);
      for (let p = 0; p < N; p++)
        for (let i = 0; i < D; i++) h[(t * S + 1 + p) * D + i] = patches[(t * N + p) * D + i] + pos[(1 + p) * D + i];
    }
  } else {
    const time = timeEmbeddings(c, w, T); // [T, D]
    h.set(cls);
    for (let p = 0; p < N; p++)
      for (let t = 0; t < T; t++)
        for (let i = 0; i < D; i++) h[(1 + p * T + t) * D + i] = patches[(t * N + p) * D + i] + pos[(1 + p) * D + i] + time[t * D + i];
  }
  const hiddenShape = [B, S, D];
  emit('hidden_states.0', hiddenShape, h);

  for (let l = 0; l < c.numLayers; l++) {
    const lw = w.layers[l];
    if (c.attentionType === 'divided_space_time') {
      const x = h.subarray(D); // [N·T, D] = [N, T, D]: each patch's T tokens are contiguous

      // 1. Temporal attention: N sequences of T tokens; CLS does not take part.
      const tw = lw.temporal!;
      const tq = lin(norm(x, N * T, tw.norm, eps), N * T, tw.qkv);
      keep(`act.${l}.temporal.qkv`, [N, T, 3 * D], tq);
      const tAttn = attention(tq, N, T, D, H);
      if (recordAttention) emit(`attn.${l}.temporal`, [N, H, T, T], tAttn.probs);
      const xt = add(x, lin(lin(tAttn.context, N * T, tw.proj), N * T, tw.dense)); // [N, T, D]

      // 2. Spatial attention: T sequences [CLS, N patches of frame t], CLS shared by every frame.
      const spatialIn = new Float32Array(T * (1 + N) * D);
      for (let t = 0; t < T; t++) {
        spatialIn.set(h.subarray(0, D), t * (1 + N) * D);
        for (let p = 0; p < N; p++) spatialIn.set(xt.subarray((p * T + t) * D, (p * T + t + 1) * D), (t * (1 + N) + 1 + p) * D);
      }
      const sq = lin(norm(spatialIn, T * (1 + N), lw.norm1, eps), T * (1 + N), lw.qkv);
      keep(`act.${l}.spatial.input`, [T, 1 + N, D], spatialIn);
      keep(`act.${l}.spatial.qkv`, [T, 1 + N, 3 * D], sq);
      const sAttn = attention(sq, T, 1 + N, D, H);
      if (recordAttention) emit(`attn.${l}.spatial`, [T, H, 1 + N, 1 + N], sAttn.probs);
      const spatialOut = lin(sAttn.context, T * (1 + N), lw.proj); // [T, 1+N, D]

      // 3. Residual: CLS += mean over frames of its T outputs; patches (back in (p, t) order) += theirs.
      const next = new Float32Array(h.length);
      for (let i = 0; i < D; i++) {
        let mean = 0;
        for (let t = 0; t < T; t++) mean += spatialOut[t * (1 + N) * D + i];
        next[i] = h[i] + mean / T;
      }
      for (let p = 0; p < N; p++)
        for (let t = 0; t < T; t++)
          for (let i = 0; i < D; i++) next[(1 + p * T + t) * D + i] = xt[(p * T + t) * D + i] + spatialOut[(t * (1 + N) + 1 + p) * D + i];
      h = next;
    } else {
      // Joint space-time (one sequence of 1+N·T) or space-only (T sequences of 1+N): a plain pre-LN ViT block.
      const q = lin(norm(h, B * S, lw.norm1, eps), B * S, lw.qkv);
      keep(`act.${l}.qkv`, [B, S, 3 * D], q);
      const a = attention(q, B, S, D, H);
      if (recordAttention) emit(`attn.${l}.full`, [B, H, S, S], a.probs);
      h = add(h, lin(a.context, B * S, lw.proj));
    }
    // MLP
    const fc1 = lin(norm(h, B * S, lw.norm2, eps), B * S, lw.fc1);
    keep(`act.${l}.mlp.input`, hiddenShape, h);
    keep(`act.${l}.mlp.fc1`, [B, S, fc1.length / (B * S)], fc1);
    h = add(h, lin(gelu(fc1), B * S, lw.fc2));
    emit(`hidden_states.${l + 1}`, hiddenShape, h);
  }

  const last = norm(h, B * S, w.norm, eps);
  emit('last_hidden_state', hiddenShape, last);
  // The classifier reads each sequence's CLS (one row; T rows for space_only, as Hugging Face).
  const clsRows = new Float32Array(B * D);
  for (let b = 0; b < B; b++) clsRows.set(last.subarray(b * S * D, b * S * D + D), b * D);
  emit('logits', [B, c.labels.length], lin(clsRows, B, w.head));
  return out;
}
