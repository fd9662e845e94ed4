// TimeSformer backward pass on the CPU: activation gradients of one class's logit, from the head back to
// the pixels, reading the forward's own activations (`forwardReference(…, { activations: true })`).
// Read it beside timesformer.ts: each step undoes the forward step of the same name, in reverse order.
//
// Dimension key (as the forward):
//   T frames   Gh×Gw patch grid   N = Gh·Gw patches   D hidden   H heads   F intermediate   K = 3·P·P
//   B sequences, S tokens each: 1 and 1+N·T (divided, joint) or T and 1+N (space_only).
// The scalar explained: y = logits[0, c]; space_only (one row of logits per frame): y = mean over frames of logits[t, c].
import { toFloat32, type RawTensor } from '../checkpoint/tensor';
import type { Linear, Norm } from '../checkpoint/weights';
import type { NamedTensors } from '../tensor';
import { attentionBackward, geluBackward, layerNormBackward, linearBackward } from './ops-backward';
import { forwardReference, type ReferenceModel } from './timesformer';
import type { Tensor } from '../tensor';

export interface BackwardResult {
  /** The forward pass that was differentiated (with `act.l.*`). */
  forward: NamedTensors;
  /** ∂y/∂pixel_values: [T, 3, Hpx, Wpx]. */
  pixels: Tensor;
  /** ∂y/∂(each attention's probabilities), named as the forward's `attn.l.*`, same shapes. */
  attention: NamedTensors;
}

const f32 = (t: RawTensor) => toFloat32(t);
/** dx of a Linear from dy: dy·W. */
const linBack = (dy: Float32Array, rows: number, l: Linear) => linearBackward(dy, rows, l.weight.shape[0], f32(l.weight), l.weight.shape[1]);
const normBack = (x: Float32Array, dy: Float32Array, rows: number, n: Norm, eps: number) => layerNormBackward(x, dy, rows, n.weight.shape[0], f32(n.weight), eps);
const addInto = (a: Float32Array, b: Float32Array) => {
  for (let i = 0; i < a.length; i++) a[i] += b[i];
  return a;
};

function saved(forward: NamedTensors, name: string): Float32Array {
  const t = forward.get(name);
  if (!t) throw new Error(`backward: the forward pass did not record ${name} (run it with activations and attentions)`);
  return t.data;
}

/** The gradient of y (for class `classIndex`) with respect to the pixels and to every attention's probabilities. */
export function backwardReference(model: ReferenceModel, pixels: Tensor, classIndex: number): BackwardResult {
  const { config: c, weights: w } = model;
  const labels = c.labels.length;
  if (!(Number.isInteger(classIndex) && classIndex >= 0 && classIndex < labels)) throw new RangeError(`class ${classIndex} is not one of the model's ${labels} labels`);
  const forward = forwardReference(model, pixels, { attentions: true, activations: true });
  const [T, C, Hpx, Wpx] = pixels.shape;
  const D = c.hiddenSize, H = c.numHeads, eps = c.layerNormEps, P = c.patchSize;
  const gh = Math.floor(Hpx / P), gw = Math.floor(Wpx / P), N = gh * gw;
  const spaceOnly = c.attentionType === 'space_only';
  const B = spaceOnly ? T : 1, S = spaceOnly ? 1 + N : 1 + N * T;
  const attention: NamedTensors = new Map();
  const record = (name: string, dProbs: Float32Array) => attention.set(name, { shape: forward.get(name)!.shape, data: dProbs });

  // Head: y = mean over the B CLS rows of (classifier row c)·last; then the final LayerNorm.
  const dLast = new Float32Array(B * S * D);
  const row = f32(w.head.weight).subarray(classIndex * D, (classIndex + 1) * D);
  for (let b = 0; b < B; b++) for (let i = 0; i < D; i++) dLast[b * S * D + i] = row[i] / B;
  let dh = normBack(saved(forward, `hidden_states.${c.numLayers}`), dLast, B * S, w.norm, eps);

  for (let l = c.numLayers - 1; l >= 0; l--) {
    const lw = w.layers[l];
    // MLP: h_out = mid + fc2(gelu(fc1(norm2(mid)))).
    const mid = saved(forward, `act.${l}.mlp.input`), fc1 = saved(forward, `act.${l}.mlp.fc1`);
    const dFc1 = geluBackward(fc1, linBack(dh, B * S, lw.fc2));
    const dMid = addInto(normBack(mid, linBack(dFc1, B * S, lw.fc1), B * S, lw.norm2, eps), dh);

    if (c.attentionType === 'divided_space_time') {
      // 3. Residual: the CLS took the mean of its T spatial outputs; patch (p, t) took frame t's output 1+p.
      const dSpatialOut = new Float32Array(T * (1 + N) * D);
      const dH0 = dMid.slice(0, D);
      const dXt = dMid.slice(D); // [N, T, D], (p, t) order
      for (let t = 0; t < T; t++) {
        for (let i = 0; i < D; i++) dSpatialOut[t * (1 + N) * D + i] = dMid[i] / T;
        for (let p = 0; p < N; p++) dSpatialOut.set(dMid.subarray((1 + p * T + t) * D, (2 + p * T + t) * D), (t * (1 + N) + 1 + p) * D);
      }

      // 2. Spatial attention over T sequences [CLS, frame t's patches]; the shared CLS gathers every frame's gradient.
      const sIn = saved(forward, `act.${l}.spatial.input`), sq = saved(forward, `act.${l}.spatial.qkv`);
      const sProbs = saved(forward, `attn.${l}.spatial`);
      const sBack = attentionBackward(sq, sProbs, linBack(dSpatialOut, T * (1 + N), lw.proj), T, 1 + N, D, H);
      record(`attn.${l}.spatial`, sBack.dProbs);
      const dSpatialIn = normBack(sIn, linBack(sBack.dQkv, T * (1 + N), lw.qkv), T * (1 + N), lw.norm1, eps);
      for (let t = 0; t < T; t++) {
        for (let i = 0; i < D; i++) dH0[i] += dSpatialIn[t * (1 + N) * D + i];
        for (let p = 0; p < N; p++)
          for (let i = 0; i < D; i++) dXt[(p * T + t) * D + i] += dSpatialIn[(t * (1 + N) + 1 + p) * D + i];
      }

      // 1. Temporal attention: xt = x + dense(proj(attention(qkv(norm(x))))) over N sequences of T tokens.
      const tw = lw.temporal!;
      const x = saved(forward, `hidden_states.${l}`).subarray(D);
      const tBack = attentionBackward(saved(forward, `act.${l}.temporal.qkv`), saved(forward, `attn.${l}.temporal`), linBack(linBack(dXt, N * T, tw.dense), N * T, tw.proj), N, T, D, H);
      record(`attn.${l}.temporal`, tBack.dProbs);
      const dX = addInto(normBack(x, linBack(tBack.dQkv, N * T, tw.qkv), N * T, tw.norm, eps), dXt);
      dh = new Float32Array(S * D);
      dh.set(dH0);
      dh.set(dX, D);
    } else {
      // Joint or space-only: mid = h + proj(attention(qkv(norm1(h)))).
      const back = attentionBackward(saved(forward, `act.${l}.qkv`), saved(forward, `attn.${l}.full`), linBack(dMid, B * S, lw.proj), B, S, D, H);
      record(`attn.${l}.full`, back.dProbs);
      dh = addInto(normBack(saved(forward, `hidden_states.${l}`), linBack(back.dQkv, B * S, lw.qkv), B * S, lw.norm1, eps), dMid);
    }
  }

  // Embeddings: each patch token is patches[t, p] + its position (and time) embedding; CLS is a parameter.
  const dPatches = new Float32Array(T * N * D); // [T, N, D]
  for (let t = 0; t < T; t++)
    for (let p = 0; p < N; p++) {
      const token = spaceOnly ? t * S + 1 + p : 1 + p * T + t;
      dPatches.set(dh.subarray(token * D, (token + 1) * D), (t * N + p) * D);
    }
  // Patch projection (the im2col rows' Linear), then col2im: pixels outside the patch grid get 0.
  const K = C * P * P;
  const dRows = linearBackward(dPatches, T * N, D, f32(w.patchEmbed.weight), K);
  const dPixels = new Float32Array(pixels.data.length);
  for (let t = 0; t < T; t++)
    for (let r = 0; r < gh; r++)
      for (let col = 0; col < gw; col++) {
        const at = (t * N + r * gw + col) * K;
        for (let ch = 0; ch < C; ch++)
          for (let y = 0; y < P; y++)
            for (let x = 0; x < P; x++) dPixels[((t * C + ch) * Hpx + r * P + y) * Wpx + col * P + x] = dRows[at + (ch * P + y) * P + x];
      }
  return { forward, pixels: { shape: pixels.shape, data: dPixels }, attention };
}
