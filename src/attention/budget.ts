// What the explorer's attention run reads back from the GPU, within a byte budget (long clips: 96 frames
// of 196 patches give 1 GB of temporal maps for a base-width model). In order: the spatial CLS rows and
// the rollout always; then every head of the temporal maps, else their mean over heads; then every head
// of the full spatial (joint, space-only: full) matrices — the query-patch views — else their mean.
// What is not read back per head stays on the GPU, while it fits `keptBytes`, for slices read on demand
// (TimesformerEngine.readAttention). The rollout keeps every layer's fused matrices on the GPU until the
// last layer is done: all three head fusions while they fit FUSED_BYTES, else the mean only.
//
// Dimension key: L layers, T frames, N patches, H heads; divided and joint: 1 + N·T tokens.
import { tokenLayout, type AttentionGeometry } from '../model/geometry';
import { HEAD_FUSIONS, type HeadFusion } from '../model/head-fusions';

export const DEFAULT_ATTENTION_BUDGET_BYTES = 64 * 2 ** 20;
/** GPU memory the full per-head probabilities not read back may keep for on-demand reads. */
export const DEFAULT_KEPT_ATTENTION_BYTES = 2 ** 30;
/** GPU memory the rollout's fused matrices (every layer, every fusion) may take. */
export const FUSED_BYTES = 256 * 2 ** 20;
/** The discard ratios the explorer's run composes (vit-explain's examples use 0.9). */
export const MAPS_DISCARDS = [0, 0.5, 0.9] as const;

/** Every head ('heads'), the head mean ('mean'), or nothing ('none': kept on the GPU at most). */
export type ReadBack = 'heads' | 'mean' | 'none';

export interface AttentionReadPlan {
  /** Divided only. */
  temporal: ReadBack;
  /** `attn.l.spatial` (divided) or `attn.l.full` (joint, space-only). */
  spatial: ReadBack;
  keepTemporal: boolean;
  keepSpatial: boolean;
  /** The head fusions the rollout is computed for. */
  fusions: readonly HeadFusion[];
  /** Bytes this plan reads back (attention and rollout). */
  bytes: number;
}

const F32 = 4;

/** Plan the read-back of one run; `otherBytes` is what the run reads besides attention (logits, the input frames). */
export function planAttentionReadBack(g: AttentionGeometry, budgetBytes = DEFAULT_ATTENTION_BUDGET_BYTES, keptBytes = DEFAULT_KEPT_ATTENTION_BYTES, otherBytes = 0): AttentionReadPlan {
  const { layers: L, frames: T, patches: N, heads: H } = g;
  const tokens = tokenLayout(g.attentionType, T, N);
  const { seqs, len } = tokens.spatial;
  const rolloutSize = tokens.B * tokens.S;
  const fusedPerFusion = L * (seqs * len * len + (g.attentionType === 'divided_space_time' ? N * T * T : 0)) * F32;
  const fusions = HEAD_FUSIONS.length * fusedPerFusion <= FUSED_BYTES ? HEAD_FUSIONS : (['mean'] as const);
  let bytes = L * seqs * H * len * F32 + fusions.length * MAPS_DISCARDS.length * (L + 1) * rolloutSize * F32;
  let left = budgetBytes - otherBytes - bytes;
  let keepLeft = keptBytes;
  const choose = (perHead: number): [ReadBack, boolean] => {
    const mean = perHead / H;
    const read: ReadBack = perHead <= left ? 'heads' : mean <= left ? 'mean' : 'none';
    const used = read === 'heads' ? perHead : read === 'mean' ? mean : 0;
    left -= used;
    bytes += used;
    const keep = read !== 'heads' && perHead <= keepLeft;
    if (keep) keepLeft -= perHead;
    return [read, keep];
  };
  const [temporal, keepTemporal] = g.attentionType === 'divided_space_time' ? choose(L * N * H * T * T * F32) : (['none', false] as [ReadBack, boolean]);
  const [spatial, keepSpatial] = choose(L * seqs * H * len * len * F32);
  return { temporal, spatial, keepTemporal, keepSpatial, fusions, bytes };
}
