// GPU memory planned before it is spent: from the config, the clip shape and the weight type alone, the bytes
// the engine will allocate — its weights (engine-weights.ts's layout) and each recorded plan's buffers, buffer
// by buffer as forward.ts and backward.ts make them (test/engine/memory-plan.test.ts holds the two to the same
// bytes on a real device) — and the largest single buffer. `fitMemory` fits them to what the device allows
// (its limits, and a memory budget where the browser says something) before anything is allocated: fewer kept
// plans, then fewer attention maps kept on the GPU, then f16 weights; else one line saying why not. Attention
// probabilities larger than one binding are planned as the engine keeps them: in parts of whole sequences
// (sequence-chunks.ts), each its own buffer bound whole. `explanationRefusal` says, before an explanation's plan
// is recorded, when its buffers do not fit.
//
// Dimension key (as timesformer.ts): T frames, N patches, D hidden, H heads, F intermediate, L labels,
// S token rows (1 + N·T divided and joint, T·(1+N) space-only), B sequences with a CLS row.
import type { TimesformerConfig } from '../checkpoint/config';
import { DEFAULT_ATTENTION_BUDGET_BYTES, DEFAULT_KEPT_ATTENTION_BYTES, MAPS_DISCARDS, planAttentionReadBack } from '../attention/budget';
import { HEAD_FUSIONS } from '../model/head-fusions';
import { engineLayout } from './weight-layout';
import type { WeightDType } from './kernels/gemm';
import { packedWords } from './kernels/pack-f16';
import { MAX_QKV_PARTS } from './kernels/attention';
import { rolloutLayout, type SubLayerLayout } from './kernels/rollout';
import { GpuError, type EngineDevice } from './device';
import type { EngineOptions } from './load';
import { DEFAULT_PLAN_BUDGET_BYTES } from './plans';
import type { RunRequest } from './read-back';
import type { BufferLimits } from './runtime';
import { partLabel, sequenceChunks, sharedPartFloats, sharedPartLabel } from './sequence-chunks';
import { stagingSizes } from './staged-read';

/** Bytes by what they hold; `total` is their sum. */
export interface PlanBytes {
  /** The forward pass's working buffers (pixels, tokens, qkv, the MLP's hidden rows, embeddings). */
  activations: number;
  /** Attention probabilities on the GPU: read back, kept for readAttention(), the rollout's scratch, CLS rows. */
  attention: number;
  /** The rollout's fused matrices, cuts, row sums and vectors. */
  rollout: number;
  /** Staging buffers outputs are read back through, and the copies hidden states are read from. */
  readBack: number;
  /**
   * The backward pass of an `explain` run (backward.ts): the residual stream kept before each layer and after the
   * last, the recomputation's qkv and probabilities, the activation gradients and the relevance vectors.
   */
  explanation: number;
  total: number;
  /** Of `attention`: the maps kept on the GPU for readAttention() (a 'maps' run). */
  keptMaps: number;
  /** The largest single buffer. */
  largest: { label: string; bytes: number };
  /** The largest buffer the engine binds whole (every one but those of CHUNKED_BUFFERS; every one when explaining). */
  largestWhole: { label: string; bytes: number };
  /** The bytes of each buffer the engine binds in parts. */
  chunked: Record<string, number>;
}

/**
 * The buffers the engine binds in parts, with how many bindings each may take: attention reads qkv in up to
 * MAX_QKV_PARTS bindings, and the MLP's GEMMs run in row chunks (row-chunks.ts), so its hidden rows are only ever
 * bound a chunk at a time. Each must still be one buffer (maxBufferSize).
 */
const CHUNKED_BUFFERS: Record<string, number> = { qkv: MAX_QKV_PARTS, mlp: Infinity };

/** What `Runtime.buffer` makes of a request: whole 16-byte units, at least one. */
const storage = (bytes: number) => Math.max(16, Math.ceil(bytes / 16) * 16);
const F32 = 4;

/** The engine's own Runtime scope: one 16-byte placeholder, bound where a kernel's input is absent. */
export const SCOPE_BYTES = 16;

/** GPU bytes of the engine's weights in `dtype` (the buffers kept on the CPU excluded), and the largest one. */
export function weightBytes(c: TimesformerConfig, dtype: WeightDType): { total: number; largest: { label: string; bytes: number } } {
  const onGpu = engineLayout(c, dtype).buffers.filter((b) => b.home === 'gpu');
  const largest = onGpu.reduce((m, b) => (storage(b.bytes) > m.bytes ? { label: b.label, bytes: storage(b.bytes) } : m), { label: '', bytes: 0 });
  return { total: onGpu.reduce((n, b) => n + storage(b.bytes), 0), largest };
}

/** No limits: every tensor in one buffer. */
const UNLIMITED: BufferLimits = { binding: Infinity, buffer: Infinity };

/**
 * The bytes of the plan the engine records for a [T, 3, Hpx, Wpx] clip and `request` (Plan.bytes), with the
 * engine's attention budgets (what a 'maps' run reads back and keeps on the GPU), on a device of `limits`.
 */
export function planBytes(
  c: TimesformerConfig,
  T: number,
  Hpx: number,
  Wpx: number,
  request: RunRequest,
  budgets = { readBytes: DEFAULT_ATTENTION_BUDGET_BYTES, keptBytes: DEFAULT_KEPT_ATTENTION_BYTES },
  limits = UNLIMITED,
): PlanBytes {
  const D = c.hiddenSize, H = c.numHeads, F = c.intermediateSize, P = c.patchSize, L = c.labels.length;
  const N = Math.floor(Hpx / P) * Math.floor(Wpx / P);
  const spaceOnly = c.attentionType === 'space_only', divided = c.attentionType === 'divided_space_time';
  const seqLen = spaceOnly ? 1 + N : 1 + N * T;
  const B = spaceOnly ? T : 1;
  const S = B * seqLen;
  const bytes: PlanBytes = { activations: 0, attention: 0, rollout: 0, readBack: 0, explanation: 0, total: 0, keptMaps: 0, largest: { label: '', bytes: 0 }, largestWhole: { label: '', bytes: 0 }, chunked: {} };
  type Category = 'activations' | 'attention' | 'rollout' | 'readBack' | 'explanation';
  // The backward pass binds qkv (attention's backward) and the MLP rows (GELU's) whole.
  const explaining = !!request.explain?.length;
  const add = (category: Category, label: string, size: number) => {
    bytes[category] += size;
    bytes.total += size;
    if (size > bytes.largest.bytes) bytes.largest = { label, bytes: size };
    if (label in CHUNKED_BUFFERS && !explaining) bytes.chunked[label] = size;
    else if (size > bytes.largestWhole.bytes) bytes.largestWhole = { label, bytes: size };
  };
  const buf = (category: Category, label: string, floats: number) => add(category, label, storage(floats * F32));
  /** The staging buffers (staged-read.ts) `bytes` of `label` are read back through. */
  const staging = (label: string, ...bytes: number[]) => {
    const sizes = stagingSizes(bytes, limits.buffer);
    sizes.forEach((size, k) => add('readBack', sizes.length === 1 ? `${label} staging` : `${label} staging ${k}`, size));
  };
  /** An output read back: its buffer (unless it reads one made already) and its staging buffers. */
  const output = (category: Category, label: string, floats: number, own = true, stagingBytes = floats * F32) => {
    if (own) buf(category, label, floats);
    staging(label, stagingBytes);
  };
  /** Probabilities [seqs, H, len, len] in parts of whole sequences (sequence-chunks.ts): each part's label and floats. */
  const probabilityParts = (label: string, seqs: number, len: number) => {
    const chunks = sequenceChunks(limits, seqs, H * len * len);
    return chunks.map((chunk) => ({ label: partLabel(label, chunk, chunks.length), floats: chunk.count * H * len * len }));
  };

  const frameValues = T * 3 * Hpx * Wpx;
  for (const [label, floats] of [['pixels', frameValues], ['patches', T * N * 3 * P * P], ['embedded patches', T * N * D]] as const) buf('activations', label, floats);
  for (const label of ['h', 'h2', 'xt', 'normed']) buf('activations', label, S * D);
  for (const [label, floats] of [['qkv', S * 3 * D], ['context', (S + T) * D], ['tmp', S * D], ['mlp', S * F], ['logits', B * L], ['position embeddings', (1 + N) * D]] as const) buf('activations', label, floats);
  if (!spaceOnly) buf('activations', 'time embeddings', T * D);
  const hiddenStates = request.hiddenStates ? c.numLayers + 2 : 0; // hidden_states.0..layers, last_hidden_state
  for (let i = 0; i < hiddenStates; i++) output('readBack', i <= c.numLayers ? `hidden_states.${i}` : 'last_hidden_state', S * D);
  output('activations', 'logits', B * L, false);
  if (request.returnInput) output('readBack', 'pixel_values f16', packedWords(frameValues), true, packedWords(frameValues) * F32);

  const geometry = { attentionType: c.attentionType, layers: c.numLayers, frames: T, patches: N, heads: H };
  const otherBytes = B * L * F32 + (request.returnInput ? packedWords(frameValues) * F32 : 0);
  const maps = request.attention === 'maps' ? planAttentionReadBack(geometry, budgets.readBytes, budgets.keptBytes, otherBytes) : undefined;
  const discards = request.rollout ? [request.rollout.discard] : maps ? MAPS_DISCARDS : undefined;
  const fusions = request.rollout?.fusions ?? maps?.fusions ?? HEAD_FUSIONS;
  const layout = rolloutLayout(c.attentionType, c.numLayers, H, T, N);
  let scratch = false;
  /** One attention step's probabilities and the rollout's buffers for it, as timesformer.ts's `attend`. */
  const attend = (l: number, sub: number, name: string, want: { full: boolean; cls?: boolean; mean?: boolean; keep?: boolean }) => {
    const { seqs, len } = layout.subLayers[sub];
    const parts = probabilityParts(name, seqs, len);
    if (want.full || want.keep) for (const part of parts) buf('attention', part.label, part.floats);
    if (want.full) staging(name, ...parts.map((part) => part.floats * F32));
    else if (want.keep) bytes.keptMaps += parts.reduce((n, part) => n + storage(part.floats * F32), 0);
    else if (discards && !scratch) {
      // The rollout needs every probability on the GPU: scratch buffers serve every sub-layer, part k the largest part k.
      scratch = true;
      const parts = sharedPartFloats(limits, layout.subLayers.map((u) => ({ seqs: u.seqs, seqFloats: H * u.len * u.len })));
      parts.forEach((floats, k) => buf('attention', sharedPartLabel('attention probabilities scratch', k, parts.length), floats));
    }
    if (want.cls) output('attention', `${name}.cls`, seqs * H * len);
    for (const fusion of discards ? fusions : []) {
      buf('rollout', `L${l} fused ${fusion}`, seqs * len * len);
      for (const discard of discards!) {
        buf('rollout', `L${l} cut ${fusion} ${discard}`, seqs);
        buf('rollout', `L${l} row sums ${fusion} ${discard}`, seqs * len);
      }
    }
    if (want.mean) output('attention', `${name}.mean`, seqs * len * len, false);
  };
  const all = request.attention === 'all', cls = maps !== undefined || request.attention === 'cls';
  for (let l = 0; l < c.numLayers; l++) {
    if (divided) attend(l, 0, `attn.${l}.temporal`, { full: all || maps?.temporal === 'heads', mean: maps?.temporal === 'mean', keep: maps?.keepTemporal });
    const name = divided ? `attn.${l}.spatial` : `attn.${l}.full`;
    // fullSpatialLayer is divided attention's (the explorer's query-patch view of one layer).
    const full = all || (divided && request.fullSpatialLayer === l) || maps?.spatial === 'heads';
    attend(l, divided ? 1 : 0, name, { full, cls, mean: maps?.spatial === 'mean', keep: maps?.keepSpatial });
  }
  if (discards) {
    const size = layout.vector.size;
    for (const label of ['rollout start', 'rollout a', 'rollout b']) buf('rollout', label, size);
    for (let i = 0; i < fusions.length * discards.length; i++) {
      output('rollout', 'rollout layers', c.numLayers * size);
      output('rollout', 'rollout', size);
    }
  }
  if (explaining) {
    // As recordBackward makes them, after the forward's checkpoints.
    const [first, second] = layout.subLayers, spatial = second ?? first;
    const probs = (u: SubLayerLayout, label: string) => { for (const part of probabilityParts(label, u.seqs, u.len)) buf('explanation', part.label, part.floats); };
    for (let i = 0; i <= c.numLayers; i++) buf('explanation', `checkpoint ${i}`, S * D);
    // The forward's last temporal qkv, and the other layers' recomputation in buffers of their own.
    if (second) for (const label of ['last temporal qkv', 'temporal qkv']) buf('explanation', label, S * 3 * D);
    for (const [label, floats] of [['recomputed xt', second ? S * D : 0], ['recomputed qkv', S * 3 * D], ['recomputed h2', S * D]] as const) if (floats) buf('explanation', label, floats);
    if (second) probs(first, 'temporal probabilities');
    probs(spatial, second ? 'spatial probabilities' : 'probabilities');
    buf('explanation', 'logit gradient', L);
    for (const label of ['∂y/∂last', '∂y/∂h', '∂y/∂normed', '∂y/∂context', '∂y/∂temporal proj']) buf('explanation', label, S * D);
    buf('explanation', '∂y/∂fc1', S * F);
    buf('explanation', '∂y/∂qkv', (S + T) * 3 * D);
    const dProbs = sharedPartFloats(limits, layout.subLayers.map((u) => ({ seqs: u.seqs, seqFloats: H * u.len * u.len })));
    dProbs.forEach((floats, k) => buf('explanation', sharedPartLabel('∂y/∂probabilities', k, dProbs.length), floats));
    buf('explanation', 'attention backward row sums', H * Math.max(...layout.subLayers.map((u) => u.seqs * u.len)));
    buf('explanation', '∂y/∂patches', (S - 1) * 3 * P * P); // by token row, from the second
    buf('explanation', '∂y/∂pixels', frameValues);
    for (const label of ['relevance start', 'relevance a', 'relevance b']) buf('explanation', label, layout.vector.size);
    output('explanation', 'grad_pixels', frameValues, false);
    output('explanation', 'relevance', layout.vector.size, false);
  }
  return bytes;
}

/** What the device allows: its limits, and the GPU memory a model may take where the browser says (else unknown). */
export interface DeviceMemory {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  /** Bytes the engine may allocate in all; undefined when nothing says. */
  budgetBytes?: number;
  /** Where the budget comes from, for the refusal's line. */
  budgetSource?: string;
}

/**
 * The device's limits and a memory budget: the adapter's device-local memory heaps where it reports them
 * (Chromium's `adapter.info.memoryHeaps`), else half of `navigator.deviceMemory` when it is under its cap of 8
 * (GB, rounded down: a phone's or a small laptop's memory, shared with the system, the browser and the page).
 */
export function deviceMemory(device: GPUDevice, info?: GPUAdapterInfo, navigatorMemoryGB?: number): DeviceMemory {
  const limits = { maxBufferSize: device.limits.maxBufferSize, maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize };
  const heaps = (info as { memoryHeaps?: { size: number; properties: number }[] } | undefined)?.memoryHeaps;
  const DEVICE_LOCAL = 1; // GPUHeapProperty.DEVICE_LOCAL
  const local = heaps?.filter((h) => h.properties & DEVICE_LOCAL).reduce((n, h) => n + h.size, 0);
  if (local) return { ...limits, budgetBytes: local, budgetSource: "the adapter's device memory" };
  if (navigatorMemoryGB !== undefined && navigatorMemoryGB > 0 && navigatorMemoryGB < 8) {
    return { ...limits, budgetBytes: (navigatorMemoryGB * 2 ** 30) / 2, budgetSource: `half of this device's ${navigatorMemoryGB} GB` };
  }
  return limits;
}

/** A load's choices: what it passes the engine (EngineOptions), and the bytes they come to. */
export interface MemoryFit {
  weights: WeightDType;
  planBudgetBytes: number;
  keptAttentionBytes: number;
  bytes: { weights: number; plan: PlanBytes; maps: PlanBytes; total: number };
  /** Set when nothing fits: one line saying so, to be shown before anything is allocated. */
  refusal?: string;
}

const GB = (n: number) => `${(n / 1e9).toFixed(n < 1e9 ? 2 : 1)} GB`;
const MB = (n: number) => `${Math.round(n / 2 ** 20)} MiB`;

/**
 * Fit a model (its configured clip: a plain classification and the explorer's 'maps' run) to `device`.
 * A budget fits the weights, the largest plan and the plans kept beside it (the engine records a new plan
 * before it drops old ones). Cheapest first: fewer kept plans (recorded again when needed), then fewer maps
 * kept on the GPU (the explorer reads fewer slices), then f16 weights (half the bytes, logits within 1e-2).
 * A plain run's buffers and the explorer's must each fit one binding, or, for those the engine binds in parts, one
 * buffer and their bindings (attention probabilities larger than one binding are planned in parts of whole
 * sequences, each a buffer of its own).
 */
export function fitMemory(name: string, c: TimesformerConfig, dtype: WeightDType, device: DeviceMemory, defaults: { planBudgetBytes: number }): MemoryFit {
  const [T, Hpx, Wpx] = [c.numFrames, c.imageSize, c.imageSize];
  const limits = deviceLimits(device);
  const plan = planBytes(c, T, Hpx, Wpx, { attention: 'none', hiddenStates: false, returnInput: true }, undefined, limits);
  const mapsWith = (keptBytes: number) => planBytes(c, T, Hpx, Wpx, { attention: 'maps', hiddenStates: false, returnInput: true }, { readBytes: DEFAULT_ATTENTION_BUDGET_BYTES, keptBytes }, limits);
  const weights = (d: WeightDType) => weightBytes(c, d);
  const tooLarge = overLimit(plan, weights(dtype).largest, device) ?? overLimit(mapsWith(DEFAULT_KEPT_ATTENTION_BYTES), weights(dtype).largest, device);
  const fit = (d: WeightDType, keptAttentionBytes: number, planBudgetBytes: number): MemoryFit => {
    const maps = mapsWith(keptAttentionBytes);
    const w = weights(d).total + SCOPE_BYTES;
    return { weights: d, planBudgetBytes, keptAttentionBytes, bytes: { weights: w, plan, maps, total: w + Math.max(plan.total, maps.total) + planBudgetBytes } };
  };
  if (tooLarge) return { ...fit(dtype, DEFAULT_KEPT_ATTENTION_BYTES, defaults.planBudgetBytes), refusal: `${name} needs ${tooLarge}` };
  const budget = device.budgetBytes;
  if (budget === undefined) return fit(dtype, DEFAULT_KEPT_ATTENTION_BYTES, defaults.planBudgetBytes);
  for (const d of dtype === 'f32' ? (['f32', 'f16'] as const) : (['f16'] as const)) {
    for (const kept of [DEFAULT_KEPT_ATTENTION_BYTES, 0]) {
      const bare = fit(d, kept, 0);
      const room = budget - bare.bytes.total;
      if (room >= 0) return fit(d, kept, Math.min(defaults.planBudgetBytes, room));
    }
  }
  const least = fit('f16', 0, 0);
  return { ...least, refusal: `${name} needs ≈ ${GB(least.bytes.total)} of GPU memory; this GPU allows ${GB(budget)} (${device.budgetSource})` };
}

/** The limits the engine's buffers are planned within (sequence-chunks.ts). */
const deviceLimits = (device: DeviceMemory): BufferLimits => ({ binding: device.maxStorageBufferBindingSize, buffer: device.maxBufferSize });

/**
 * The first buffer over what `device` allows, as "a N MiB buffer (label); this GPU allows M MiB in one": the weights'
 * largest and the plan's buffers bound whole within one binding, those bound in parts within one buffer and their bindings.
 */
function overLimit(plan: PlanBytes, weightsLargest: { label: string; bytes: number }, device: DeviceMemory): string | undefined {
  const bindLimit = Math.min(device.maxStorageBufferBindingSize, device.maxBufferSize);
  const chunkedLimit = (label: string) => Math.min(device.maxBufferSize, CHUNKED_BUFFERS[label] * device.maxStorageBufferBindingSize);
  const tooLarge = [
    ...[weightsLargest, plan.largestWhole].map((b) => ({ ...b, limit: bindLimit })),
    ...Object.entries(plan.chunked).map(([label, bytes]) => ({ label, bytes, limit: chunkedLimit(label) })),
  ].find((b) => b.bytes > b.limit);
  return tooLarge && `a ${MB(tooLarge.bytes)} buffer (${tooLarge.label}); this GPU allows ${MB(tooLarge.limit)} in one`;
}

/**
 * Why the explanation `request` asks for (with `explain`) of a [T, 3, Hpx, Wpx] clip cannot be recorded on `device`,
 * in one line, or undefined when it fits: a buffer over the device's limits, or, under a memory budget, the weights,
 * its plan and the plans kept beside it while it is recorded (`keptPlanBytes`) over the budget.
 */
export function explanationRefusal(c: TimesformerConfig, T: number, Hpx: number, Wpx: number, request: RunRequest, dtype: WeightDType, device: DeviceMemory, keptPlanBytes: number, budgets?: { readBytes: number; keptBytes: number }): string | undefined {
  const plan = planBytes(c, T, Hpx, Wpx, request, budgets, deviceLimits(device));
  const weights = weightBytes(c, dtype);
  const what = `An explanation of ${T} frames of ${Wpx}×${Hpx}`;
  const tooLarge = overLimit(plan, weights.largest, device);
  if (tooLarge) return `${what} needs ${tooLarge}`;
  const total = weights.total + SCOPE_BYTES + plan.total + keptPlanBytes;
  if (device.budgetBytes !== undefined && total > device.budgetBytes) return `${what} needs ≈ ${GB(total)} of GPU memory; this GPU allows ${GB(device.budgetBytes)} (${device.budgetSource})`;
  return undefined;
}

/**
 * What a load passes the engine so that the model fits `gpu` (fitMemory with the engine's default plan budget),
 * or the refusal as a GpuError: called with the config, before the weights are read or anything is allocated.
 */
export function fittedEngineOptions(name: string, c: TimesformerConfig, dtype: WeightDType, gpu: EngineDevice, navigatorMemoryGB?: number): EngineOptions {
  const device = deviceMemory(gpu.device, gpu.gpuAdapter.info, navigatorMemoryGB);
  const fit = fitMemory(name, c, dtype, device, { planBudgetBytes: DEFAULT_PLAN_BUDGET_BYTES });
  if (fit.refusal) throw new GpuError(fit.refusal);
  return { weights: fit.weights === 'f16' ? 'f16' : 'auto', planBudgetBytes: fit.planBudgetBytes, keptAttentionBytes: fit.keptAttentionBytes, memoryBudget: memoryBudget(device) };
}

/** The engine's memory budget (EngineOptions.memoryBudget) where the device says one. */
export function memoryBudget({ budgetBytes, budgetSource }: DeviceMemory): EngineOptions['memoryBudget'] {
  return budgetBytes === undefined ? undefined : { budgetBytes, budgetSource };
}
