// TimeSformer on the WGSL engine: the forward pass of src/reference/timesformer.ts step for step (see there
// for the semantics), each step a kernel launch over GPU buffers, recorded once per input shape into a plan
// (plans.ts) that replays as one command submission per clip. What is read back is the recorder's business
// (recorder.ts, by the read-back policy of read-back.ts), not the model's.
//
// Dimension key (the reference's; src/model/geometry.ts):
//   T frames   Gh×Gw grid   N = Gh·Gw patches   D hidden   H heads   F intermediate   L labels
//   B sequences   S tokens per sequence   B·S token rows
// Token rows (divided, joint): [CLS] + patches in (p, t) order, row 1 + p·T + t; space-only: B = T sequences
// of [CLS] + N patches. Divided attention reads its sequences in place through token maps (kernels/attention.ts):
// no regrouping copies.
import type { TimesformerConfig } from '../checkpoint/config';
import { positionEmbeddings, timeEmbeddings } from '../model/embeddings';
import { clipGeometry } from '../model/geometry';
import type { KernelPicks } from './autotune';
import { recordBackward } from './backward';
import { spatialTokens, temporalTokens, wholeSequences } from './kernels/attention';
import { gemm, type GemmArgs } from './kernels/gemm';
import { layerNorm } from './kernels/layernorm';
import { embed, im2col } from './kernels/patch-embed';
import { rolloutLayout } from './kernels/rollout';
import { rowMean } from './kernels/row-mean';
import type { Plan } from './plans';
import { readBackPolicy, type AttentionBudget, type RunRequest } from './read-back';
import { PlanRecorder } from './recorder';
import type { Runtime, Step } from './runtime';
import type { EngineWeights, NormBuffers } from './weight-layout';

/** What a forward pass runs on: the device, the model, its weights and kernel picks, and the attention budget. */
export interface EngineModel {
  rt: Runtime;
  config: TimesformerConfig;
  weights: EngineWeights;
  kernels: KernelPicks;
  budget: AttentionBudget;
}

/** Record the plan of one clip [T, 3, Hpx, Wpx] and `request`, under `key`. */
export function recordForward({ rt, config: c, weights: w, kernels, budget }: EngineModel, key: string, T: number, Hpx: number, Wpx: number, request: RunRequest): Plan {
  const D = c.hiddenSize, H = c.numHeads, F = c.intermediateSize, P = c.patchSize, L = c.labels.length, eps = c.layerNormEps;
  const g = clipGeometry(c, T, Hpx, Wpx);
  const { Gh, Gw, N, B, S } = g;
  const rows = B * S;
  const layout = rolloutLayout(c.attentionType, c.numLayers, H, T, N);
  const explaining = !!request.explain?.length;
  const rec = new PlanRecorder(rt, kernels, readBackPolicy(request, c, g, Hpx, Wpx, budget), layout, request.hiddenStates, explaining);
  const mm = (label: string, args: GemmArgs) => gemm(rt, label, kernels.gemm({ M: args.M, N: args.linear.N, K: args.linear.K, dtype: args.linear.dtype }), args);
  const norm = (label: string, n: NormBuffers, x: GPUBuffer, y: GPUBuffer, count: number, offset = 0) =>
    layerNorm(rt, label, { x, y, gamma: n.gamma, beta: n.beta, rows: count, D, eps, inOffset: offset, outOffset: offset }, kernels.layerNorm({ rows: count, D }));
  const copyRow = (label: string, src: GPUBuffer, dst: GPUBuffer): Step => ({ kind: 'copy', label, src, srcOffset: 0, dst, dstOffset: 0, size: D * 4 });

  const pixels = rec.buffer('pixels', [T, 3, Hpx, Wpx]);
  const patches = rec.buffer('patches', [T * N, 3 * P * P]); // im2col: a row per patch, (c, y, x) order
  const embedded = rec.buffer('embedded patches', [T, N, D]);
  const h = rec.buffer('h', [rows, D]); // the residual stream
  const h2 = rec.buffer('h2', [rows, D]); // after the attention block
  const xt = rec.buffer('xt', [rows, D]); // divided: after temporal attention
  const a = rec.buffer('normed', [rows, D]); // LayerNorm outputs
  const qkv = rec.buffer('qkv', [rows, 3 * D]); // q | k | v, heads contiguous
  const ctx = rec.buffer('context', [rows + T, D]); // + divided spatial: the CLS output of each frame, rows B·S..
  const tmp = rec.buffer('tmp', [rows, D]);
  const mlp = rec.buffer('mlp', [rows, F]);
  // Explaining a divided model: the last layer's temporal qkv in a buffer of its own, which its backward reads.
  const lastTemporalQkv = explaining && c.attentionType === 'divided_space_time' ? rec.buffer('last temporal qkv', [rows, 3 * D]) : undefined;
  const logits = rec.buffer('logits', [B, L]);
  const pos = rec.upload('position embeddings', positionEmbeddings(c, w.embeddings, Gh, Gw)); // [1+N, D]
  const spaceOnly = c.attentionType === 'space_only';
  const time = spaceOnly ? undefined : rec.upload('time embeddings', timeEmbeddings(c, w.embeddings, T)); // [T, D]

  // Embeddings: patches → tokens with CLS, position and time embeddings.
  rec.push(
    im2col(rt, 'im2col', pixels, patches, T, Hpx, Wpx, P),
    mm('patch embed', { a: patches, M: T * N, linear: w.patchEmbed, y: embedded }),
    embed(rt, 'embed', { patches: embedded, cls: w.cls, pos, time, h, T, N, D, perFrame: spaceOnly }),
  );
  rec.snapshot('hidden_states.0', h, [B, S, D]);

  for (let l = 0; l < c.numLayers; l++) {
    const lw = w.layers[l], tw = lw.temporal;
    rec.checkpoint(h, rows * D);
    if (tw) {
      const NT = N * T; // the patch rows, after the CLS row
      const temporalQkv = (l === c.numLayers - 1 && lastTemporalQkv) || qkv;
      rec.push(
        // 1. Temporal attention: N sequences of T tokens (rows 1 + p·T + t); the CLS row stays as it is.
        norm(`L${l} temporal norm`, tw.norm, h, a, NT, D),
        mm(`L${l} temporal qkv`, { a, aOffset: D, M: NT, linear: tw.qkv, y: temporalQkv, yOffset: 3 * D }),
        ...rec.attend(l, 'temporal', 0, `L${l} temporal attention`, { qkv: temporalQkv, context: ctx, ...g.temporal!, heads: H, D, input: temporalTokens(T), output: temporalTokens(T) }),
        mm(`L${l} temporal proj`, { a: ctx, aOffset: D, M: NT, linear: tw.proj, y: tmp, yOffset: D }),
        mm(`L${l} temporal dense`, { a: tmp, aOffset: D, M: NT, linear: tw.dense, y: xt, yOffset: D, residual: { buffer: h, offset: D } }),
        copyRow(`L${l} cls`, h, xt),
        // 2. Spatial attention: T sequences [CLS, the N patches of frame t] read in place. The CLS row is
        //    normalized and projected once; its T per-frame outputs go to rows B·S.. and are averaged.
        norm(`L${l} spatial norm`, lw.norm1, xt, a, rows),
        mm(`L${l} spatial qkv`, { a, M: rows, linear: lw.qkv, y: qkv }),
        ...rec.attend(l, 'spatial', 1, `L${l} spatial attention`, { qkv, context: ctx, ...g.spatial, heads: H, D, input: spatialTokens(T), output: { ...spatialTokens(T), clsBase: rows, clsStride: 1 } }),
        rowMean(rt, `L${l} cls mean`, ctx, D, T, rows * D, D, 0),
        // 3. Residual: onto the tokens after temporal attention.
        mm(`L${l} proj`, { a: ctx, M: rows, linear: lw.proj, y: h2, residual: { buffer: xt } }),
      );
    } else {
      // Joint (one sequence of 1+N·T) or space-only (T sequences of 1+N): a plain pre-LN ViT block.
      rec.push(
        norm(`L${l} norm1`, lw.norm1, h, a, rows),
        mm(`L${l} qkv`, { a, M: rows, linear: lw.qkv, y: qkv }),
        ...rec.attend(l, 'full', 0, `L${l} attention`, { qkv, context: ctx, ...g.spatial, heads: H, D, input: wholeSequences(S), output: wholeSequences(S) }),
        mm(`L${l} proj`, { a: ctx, M: rows, linear: lw.proj, y: h2, residual: { buffer: h } }),
      );
    }
    rec.push(
      // MLP
      norm(`L${l} norm2`, lw.norm2, h2, a, rows),
      mm(`L${l} fc1`, { a, M: rows, linear: lw.fc1, y: mlp, gelu: true }),
      mm(`L${l} fc2`, { a: mlp, M: rows, linear: lw.fc2, y: h, residual: { buffer: h2 } }),
    );
    rec.snapshot(`hidden_states.${l + 1}`, h, [B, S, D]);
  }

  rec.checkpoint(h, rows * D);
  // Head: final LayerNorm (of every row when recording, else only the B CLS rows), classifier on the CLS rows.
  const fn = w.norm;
  if (request.hiddenStates) {
    const last = rec.output('last_hidden_state', [B, S, D]);
    rec.push(
      layerNorm(rt, 'final norm', { x: h, y: last, gamma: fn.gamma, beta: fn.beta, rows, D, eps }, kernels.layerNorm({ rows, D })),
      mm('classifier', { a: last, M: B, lda: S * D, linear: w.head, y: logits }),
    );
  } else {
    rec.push(
      layerNorm(rt, 'final norm', { x: h, y: a, gamma: fn.gamma, beta: fn.beta, rows: B, D, eps, inStride: S * D }, kernels.layerNorm({ rows: B, D })),
      mm('classifier', { a, M: B, linear: w.head, y: logits }),
    );
  }
  rec.output('logits', [B, L], logits);
  if (request.returnInput) rec.returnInput(pixels, [T, 3, Hpx, Wpx]);
  if (explaining) rec.explain(recordBackward({ rt, config: c, weights: w, kernels, budget }, rec, g, Hpx, Wpx, { a, qkv, ctx, tmp, mlp, xt, h2, lastTemporalQkv }));
  return rec.finish(key, pixels);
}
