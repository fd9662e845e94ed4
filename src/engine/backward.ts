// TimeSformer's backward pass on the WGSL engine: the activation gradients of one class's logit back to the
// pixels, and the class relevance composed on the way. Read it beside src/reference/backward.ts (the
// semantics, step for step in the same reverse order) and src/reference/relevance.ts (the relevance).
//
// Dimension key (forward.ts's): T frames, N patches, D hidden, H heads, F intermediate, K = 3·P·P, B sequences
// of S tokens, rows = B·S token rows (divided, joint: [CLS] + patches in (p, t) order, row 1 + p·T + t).
//
// Memory: the forward keeps only the residual stream before each layer and after the last (the recorder's
// checkpoints, (L+1)·rows·D floats). Each layer's forward is recomputed from its checkpoint just before its
// backward, into the forward's own scratch buffers plus what the backward needs besides them: every
// sub-layer's qkv and probabilities, and fc1 without the fused GELU (its input is what GELU′ needs).
// The last layer is explained first, while the forward's scratch still holds its xt, spatial qkv and h2 (and a
// buffer of its own its temporal qkv): those are not recomputed (the other layers recompute theirs into buffers of their own, so the forward's stay for
// every class explained). And only its B CLS rows reach the logits: its MLP, recomputed and back, runs on those
// alone (every other row's gradient there is exactly 0, as the final LayerNorm's is off the CLS rows).
// The explained class enters as the head's gradient `seed` [labels] (written per class by Plans.run):
// e_c/B, so that space-only's B = T rows of logits give the mean over frames.
import { attentionInParts, spatialTokens, temporalTokens, wholeSequences, type TokenMap } from './kernels/attention';
import { attentionBackward } from './kernels/attention-backward';
import { gemm, type GemmArgs, type PackedLinear } from './kernels/gemm';
import { gemmTransposed, type GemmTransposedArgs } from './kernels/gemm-transposed';
import { layerNorm } from './kernels/layernorm';
import { layerNormBackward } from './kernels/layernorm-backward';
import { col2im } from './kernels/patch-embed';
import { relevanceStep } from './kernels/relevance';
import { rolloutLayout, type SubLayerLayout } from './kernels/rollout';
import { rowMean } from './kernels/row-mean';
import type { ClipGeometry } from '../model/geometry';
import type { EngineModel } from './forward';
import type { Explanation } from './plans';
import type { PlanRecorder } from './recorder';
import type { Step } from './runtime';
import { sequenceBuffers, sharedSequenceBuffers, type SequenceParts } from './sequence-chunks';
import type { NormBuffers } from './weight-layout';

/** The forward's activation buffers, free once the forward is done: the recomputation's scratch. */
export interface ForwardScratch {
  /** LayerNorm outputs [rows, D] */
  a: GPUBuffer;
  /** qkv [rows, 3D] of the spatial (joint, space-only: the only) attention */
  qkv: GPUBuffer;
  /** context [rows + T, D] */
  ctx: GPUBuffer;
  tmp: GPUBuffer;
  /** fc1's output [rows, F], here without GELU */
  mlp: GPUBuffer;
  /** divided: after temporal attention [rows, D] */
  xt: GPUBuffer;
  /** after the attention block [rows, D] */
  h2: GPUBuffer;
  /** divided: the last layer's temporal qkv [rows, 3D] (the forward keeps it for the backward) */
  lastTemporalQkv?: GPUBuffer;
}

/** Record the backward pass after the forward that `rec` recorded (with checkpoints) over clip `g`. */
export function recordBackward({ rt, config: c, weights: w, kernels }: EngineModel, rec: PlanRecorder, g: ClipGeometry, Hpx: number, Wpx: number, f: ForwardScratch): Explanation {
  const D = c.hiddenSize, H = c.numHeads, F = c.intermediateSize, P = c.patchSize, L = c.numLayers, eps = c.layerNormEps;
  const { T, N, B, S } = g;
  const rows = B * S, NT = N * T, K = 3 * P * P;
  const layout = rolloutLayout(c.attentionType, L, H, T, N);
  const [first, second] = layout.subLayers; // divided: temporal, spatial; else the one attention
  const spatial = second ?? first;
  // Probabilities [seqs, H, len, len] and their gradients in parts of whole sequences within one binding (sequence-chunks.ts).
  const make = (label: string, floats: number) => rec.buffer(label, [floats]);
  const probsOf = (u: SubLayerLayout, label: string) => sequenceBuffers(make, label, rt.limits, u.seqs, H * u.len * u.len);
  const dProbsScratch = sharedSequenceBuffers(make, '∂y/∂probabilities', rt.limits, layout.subLayers.map((u) => ({ seqs: u.seqs, seqFloats: H * u.len * u.len })));
  const checkpoints = rec.checkpoints;

  // Recomputation (besides the forward's scratch): temporal qkv and probabilities, spatial probabilities.
  const qkvT = second ? rec.buffer('temporal qkv', [rows, 3 * D]) : f.qkv;
  const recomputed = { xt: second ? rec.buffer('recomputed xt', [rows, D]) : f.xt, qkv: rec.buffer('recomputed qkv', [rows, 3 * D]), h2: rec.buffer('recomputed h2', [rows, D]) };
  const probsT = second ? probsOf(first, 'temporal probabilities') : undefined;
  const probsS = probsOf(spatial, second ? 'spatial probabilities' : 'probabilities');
  // Gradients. dQkv: + T rows for the divided spatial CLS's per-frame gradients.
  const seed = rec.buffer('logit gradient', [c.labels.length]);
  const dLast = rec.buffer('∂y/∂last', [rows, D]); // only the B CLS rows are ever written
  const dH = rec.buffer('∂y/∂h', [rows, D]); // the residual stream's gradient, layer by layer
  const dA = rec.buffer('∂y/∂normed', [rows, D]);
  const dCtx = rec.buffer('∂y/∂context', [rows, D]);
  const dTmp = rec.buffer('∂y/∂temporal proj', [rows, D]);
  const dMlp = rec.buffer('∂y/∂fc1', [rows, F]);
  const dQkv = rec.buffer('∂y/∂qkv', [rows + T, 3 * D]);
  const rowSums = rec.buffer('attention backward row sums', [H * Math.max(...layout.subLayers.map((u) => u.seqs * u.len))]);
  const dRows = rec.buffer('∂y/∂patches', [rows - 1, K]); // by token row, from the second
  const dPixels = rec.buffer('∂y/∂pixels', [T, 3, Hpx, Wpx]);
  // The relevance row vector, ping-ponged between two buffers, starting at 1 on each CLS.
  const start = new Float32Array(layout.vector.size);
  for (const i of layout.vector.starts) start[i] = 1;
  const init = rec.upload('relevance start', start);
  const vectors = [rec.buffer('relevance a', [start.length]), rec.buffer('relevance b', [start.length])];
  let cur = 0;

  const steps: (Step | Step[])[] = [{ kind: 'copy', label: 'relevance start', src: init, srcOffset: 0, dst: vectors[0], dstOffset: 0, size: start.byteLength }];
  const mm = (label: string, args: GemmArgs) => gemm(rt, label, kernels.gemm({ M: args.M, N: args.linear.N, K: args.linear.K, dtype: args.linear.dtype }), args);
  const back = (label: string, linear: PackedLinear, args: Omit<GemmTransposedArgs, 'linear'>) =>
    gemmTransposed(rt, label, { ...args, linear }, kernels.gemmTransposed({ M: args.M, N: linear.N, K: linear.K, dtype: linear.dtype }));
  const norm = (label: string, n: NormBuffers, x: GPUBuffer, y: GPUBuffer, count: number, offset = 0) =>
    layerNorm(rt, label, { x, y, gamma: n.gamma, beta: n.beta, rows: count, D, eps, inOffset: offset, outOffset: offset }, kernels.layerNorm({ rows: count, D }));
  /** dx (+)= LayerNorm′ of input x, for `count` rows from row `from`. */
  const normBack = (label: string, n: NormBuffers, x: GPUBuffer, dy: GPUBuffer, dx: GPUBuffer, count: number, from = 0, accumulate = true) =>
    layerNormBackward(rt, label, { x, gamma: n.gamma, dy, dx, rows: count, D, eps, xOffset: from * D, dyOffset: from * D, dxOffset: from * D, accumulate }, kernels.layerNorm({ rows: count, D }));
  const attend = (label: string, u: SubLayerLayout, qkv: GPUBuffer, probs: SequenceParts, output: TokenMap) =>
    attentionInParts(rt, label, { qkv, context: f.ctx, seqs: u.seqs, len: u.len, heads: H, D, input: u.map, output }, probs, kernels.attention({ seqs: u.seqs, len: u.len, heads: H, D }));
  /** One attention's backward (dContext in dCtx → dQkv and the probabilities' gradient), then its relevance step. */
  const attendBack = (label: string, u: SubLayerLayout, qkv: GPUBuffer, probs: SequenceParts, grad: TokenMap) => {
    const dProbs = dProbsScratch(u.seqs, probs.seqFloats);
    steps.push(
      ...attentionBackward(rt, label, { qkv, probs, dContext: dCtx, dQkv, dProbs, rowSums, len: u.len, heads: H, D, input: u.map, context: u.map, grad }),
      ...relevanceStep(rt, `${label} relevance`, { probs, grads: dProbs, rIn: vectors[cur], rOut: vectors[1 - cur], len: u.len, heads: H, map: u.map, passThrough: u.passThrough }),
    );
    cur = 1 - cur;
  };

  // Head: ∂y/∂last on the B CLS rows = seed·W_head (seed read for every row: ldy 0); then the final LayerNorm,
  // over every row (dLast is 0 off the CLS rows), which sets dH.
  steps.push(
    back('head backward', w.head, { dy: seed, M: B, ldy: 0, dx: dLast, ldx: S * D }),
    normBack('final norm backward', w.norm, checkpoints[L], dLast, dH, rows, 0, false),
  );

  for (let l = L - 1; l >= 0; l--) {
    const lw = w.layers[l], tw = lw.temporal, x = checkpoints[l];
    const lastLayer = l === L - 1;
    const { xt, qkv, h2 } = lastLayer ? f : recomputed;
    const temporalQkv = lastLayer ? f.lastTemporalQkv! : qkvT;
    // The MLP's rows: the last layer's B CLS rows (S rows apart), else every row.
    const mlpRows = lastLayer ? B : rows, mlpStride = lastLayer ? S * D : D;
    // Recompute layer l's forward from its input x (forward.ts), keeping what the backward reads.
    if (tw) {
      if (!lastLayer) steps.push(norm(`L${l} temporal norm`, tw.norm, x, f.a, NT, D), mm(`L${l} temporal qkv`, { a: f.a, aOffset: D, M: NT, linear: tw.qkv, y: qkvT, yOffset: 3 * D }));
      steps.push(attend(`L${l} temporal attention`, first, temporalQkv, probsT!, temporalTokens(T)));
      if (!lastLayer) {
        steps.push(
          mm(`L${l} temporal proj`, { a: f.ctx, aOffset: D, M: NT, linear: tw.proj, y: f.tmp, yOffset: D }),
          mm(`L${l} temporal dense`, { a: f.tmp, aOffset: D, M: NT, linear: tw.dense, y: xt, yOffset: D, residual: { buffer: x, offset: D } }),
          { kind: 'copy', label: `L${l} cls`, src: x, srcOffset: 0, dst: xt, dstOffset: 0, size: D * 4 },
        );
      }
    }
    const attnIn = tw ? xt : x; // the spatial (or only) attention's input
    if (!lastLayer) steps.push(norm(`L${l} norm1`, lw.norm1, attnIn, f.a, rows), mm(`L${l} qkv`, { a: f.a, M: rows, linear: lw.qkv, y: qkv }));
    steps.push(attend(`L${l} attention`, spatial, qkv, probsS, tw ? { ...spatialTokens(T), clsBase: rows, clsStride: 1 } : spatial.map));
    if (!lastLayer) {
      steps.push(
        ...(tw ? [rowMean(rt, `L${l} cls mean`, f.ctx, D, T, rows * D, D, 0)] : []),
        mm(`L${l} proj`, { a: f.ctx, M: rows, linear: lw.proj, y: h2, residual: { buffer: attnIn } }),
      );
    }
    steps.push(
      layerNorm(rt, `L${l} norm2`, { x: h2, y: f.a, gamma: lw.norm2.gamma, beta: lw.norm2.beta, rows: mlpRows, D, eps, inStride: mlpStride }, kernels.layerNorm({ rows: mlpRows, D })),
      mm(`L${l} fc1 (no GELU)`, { a: f.a, M: mlpRows, linear: lw.fc1, y: f.mlp }),
    );

    // MLP: h_out = mid + fc2(gelu(fc1(norm2(mid)))); dH becomes ∂y/∂mid.
    steps.push(
      back(`L${l} fc2 and gelu backward`, lw.fc2, { dy: dH, M: mlpRows, ldy: mlpStride, dx: dMlp, geluInput: f.mlp }),
      back(`L${l} fc1 backward`, lw.fc1, { dy: dMlp, M: mlpRows, dx: dA }),
      layerNormBackward(rt, `L${l} norm2 backward`, { x: h2, xStride: mlpStride, gamma: lw.norm2.gamma, dy: dA, dx: dH, dxStride: mlpStride, rows: mlpRows, D, eps, accumulate: true }, kernels.layerNorm({ rows: mlpRows, D })),
      back(`L${l} proj backward`, lw.proj, { dy: dH, M: rows, dx: dCtx }),
    );
    if (!tw) {
      // Joint or space-only: mid = h + proj(attention(qkv(norm1(h)))).
      attendBack(`L${l} attention backward`, spatial, qkv, probsS, spatial.map);
      steps.push(back(`L${l} qkv backward`, lw.qkv, { dy: dQkv, M: rows, dx: dA }), normBack(`L${l} norm1 backward`, lw.norm1, x, dA, dH, rows));
      continue;
    }
    // Divided. 3. The CLS output was the mean of the T frames' CLS outputs: each gets 1/T of its gradient.
    steps.push(rowMean(rt, `L${l} cls gradient share`, dCtx, D, 1, 0, D, 0, 1 / T));
    // 2. Spatial attention; each frame's CLS gradient on its own row rows + t, then summed into row 0.
    attendBack(`L${l} spatial backward`, spatial, qkv, probsS, { ...spatialTokens(T), clsBase: rows, clsStride: 1 });
    steps.push(
      rowMean(rt, `L${l} cls gradient sum`, dQkv, 3 * D, T, rows * 3 * D, 3 * D, 0, 1),
      back(`L${l} qkv backward`, lw.qkv, { dy: dQkv, M: rows, dx: dA }),
      normBack(`L${l} norm1 backward`, lw.norm1, xt, dA, dH, rows), // dH: ∂y/∂xt (the CLS row: ∂y/∂h[0])
      // 1. Temporal attention on the patch rows: xt = x + dense(proj(attention(qkv(norm(x))))).
      back(`L${l} temporal dense backward`, tw.dense, { dy: dH, yOffset: D, M: NT, dx: dTmp, xOffset: D }),
      back(`L${l} temporal proj backward`, tw.proj, { dy: dTmp, yOffset: D, M: NT, dx: dCtx, xOffset: D }),
    );
    attendBack(`L${l} temporal backward`, first, temporalQkv, probsT!, first.map);
    steps.push(back(`L${l} temporal qkv backward`, tw.qkv, { dy: dQkv, yOffset: 3 * D, M: NT, dx: dA, xOffset: D }), normBack(`L${l} temporal norm backward`, tw.norm, x, dA, dH, NT, 1));
  }

  // Embeddings: every token row but the first through the patch projection in one GEMM (the CLS rows among them,
  // space-only's, are left unread), then col2im from the patches' token rows: patch p of frame t is token row
  // 1 + p·T + t (divided, joint), t·S + 1 + p (space-only), here one row less.
  steps.push(
    back('patch embed backward', w.patchEmbed, { dy: dH, yOffset: D, M: rows - 1, dx: dRows }),
    col2im(rt, 'col2im', dRows, dPixels, T, Hpx, Wpx, P, B === 1 ? { frameStride: 1, patchStride: T } : { frameStride: S, patchStride: 1 }),
  );
  return {
    seed,
    seedScale: 1 / B,
    labels: c.labels.length,
    steps: steps.flat(),
    outputs: [rec.staged('grad_pixels', [1, T, 3, Hpx, Wpx], dPixels), rec.staged('relevance', layout.vector.shape, vectors[cur])],
  };
}
