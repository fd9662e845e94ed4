// The geometry of a clip through a TimeSformer: worked out here once, used by the engine, the other
// backends, the reference, the tuner, the attention read-back and the worker.
//
// Dimension key (the reference's, src/reference/timesformer.ts):
//   T frames   Gh×Gw patch grid   N = Gh·Gw patches   B sequences   S tokens per sequence   B·S token rows
// Token layout (divided, joint): one sequence of [CLS] + patches in (p, t) order, token 1 + p·T + t.
// space_only keeps frames apart: B = T sequences of [CLS] + N patches.
import type { AttentionType, TimesformerConfig } from '../checkpoint/config';

/** One attention sub-layer: `seqs` sequences of `len` tokens. */
export interface Sequences {
  seqs: number;
  len: number;
}

/** How a clip's tokens are laid out and attended. */
export interface TokenLayout {
  /** Sequences of the token rows (their CLS rows are what the classifier reads): T for space-only, else 1. */
  B: number;
  /** Tokens per sequence: 1 + N·T, or 1 + N for space-only. */
  S: number;
  /** Divided only: each patch's T tokens (N sequences of T). */
  temporal?: Sequences;
  /** The spatial (divided: T sequences [CLS, the N patches of frame t]) or full (joint, space-only) attention. */
  spatial: Sequences;
}

export function tokenLayout(attentionType: AttentionType, T: number, N: number): TokenLayout {
  if (attentionType === 'space_only') return { B: T, S: 1 + N, spatial: { seqs: T, len: 1 + N } };
  const S = 1 + N * T;
  if (attentionType === 'joint_space_time') return { B: 1, S, spatial: { seqs: 1, len: S } };
  return { B: 1, S, temporal: { seqs: N, len: T }, spatial: { seqs: T, len: 1 + N } };
}

/** The patch grid [Gh, Gw] of frames of Hpx × Wpx (a partial patch at the edge is cropped). */
export const patchGrid = (c: Pick<TimesformerConfig, 'patchSize'>, Hpx: number, Wpx: number): [number, number] => [Math.floor(Hpx / c.patchSize), Math.floor(Wpx / c.patchSize)];

/** A clip [T, 3, Hpx, Wpx] through a model: its patch grid and token layout. */
export interface ClipGeometry extends TokenLayout {
  T: number;
  Gh: number;
  Gw: number;
  N: number;
}

export function clipGeometry(c: Pick<TimesformerConfig, 'attentionType' | 'patchSize'>, T: number, Hpx: number, Wpx: number): ClipGeometry {
  const [Gh, Gw] = patchGrid(c, Hpx, Wpx), N = Gh * Gw;
  return { T, Gh, Gw, N, ...tokenLayout(c.attentionType, T, N) };
}

/** The clip a model is configured for: numFrames frames of imageSize². */
export const configuredGeometry = (c: Pick<TimesformerConfig, 'attentionType' | 'patchSize' | 'numFrames' | 'imageSize'>) => clipGeometry(c, c.numFrames, c.imageSize, c.imageSize);


/** What the attention of a run is, for its read-back plan and its rollout: a clip's geometry through the layers. */
export interface AttentionGeometry {
  attentionType: AttentionType;
  layers: number;
  frames: number;
  patches: number;
  heads: number;
}

/** The attention geometry of a clip [T, 3, H, W] through a model. */
export function attentionGeometry(c: Pick<TimesformerConfig, 'attentionType' | 'numLayers' | 'numHeads' | 'patchSize'>, clipShape: readonly number[]): AttentionGeometry {
  const [T, , Hpx, Wpx] = clipShape;
  const { N } = clipGeometry(c, T, Hpx, Wpx);
  return { attentionType: c.attentionType, layers: c.numLayers, frames: T, patches: N, heads: c.numHeads };
}
