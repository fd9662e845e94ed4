// The position and time embeddings at a clip's own grid and frame count: the checkpoint's tables,
// nearest-resized (torch's `interpolate(mode='nearest')`) when the clip differs from the configured one.
// Every backend and the reference take them from here.
import type { TimesformerConfig } from '../checkpoint/config';
import { toFloat32 } from '../checkpoint/tensor';
import type { TimesformerWeights } from '../checkpoint/weights';

/** Nearest-neighbour resize of a [srcLen, D] table to [dstLen, D], as torch's `interpolate(mode='nearest')`. */
function nearest1d(table: Float32Array, srcLen: number, dstLen: number, dim: number): Float32Array {
  const out = new Float32Array(dstLen * dim);
  for (let i = 0; i < dstLen; i++) {
    const s = Math.min(srcLen - 1, Math.floor((i * srcLen) / dstLen));
    out.set(table.subarray(s * dim, (s + 1) * dim), i * dim);
  }
  return out;
}

/** Position embeddings [1+N, D] for a Gh×Gw grid: the checkpoint's, nearest-resized when the grid differs. */
export function positionEmbeddings(c: TimesformerConfig, w: Pick<TimesformerWeights, 'posEmbed'>, Gh: number, Gw: number): Float32Array {
  const D = c.hiddenSize, g0 = c.imageSize / c.patchSize;
  const table = toFloat32(w.posEmbed);
  if (Gh === g0 && Gw === g0) return table;
  const out = new Float32Array((1 + Gh * Gw) * D);
  out.set(table.subarray(0, D));
  for (let r = 0; r < Gh; r++) {
    const sr = Math.min(g0 - 1, Math.floor((r * g0) / Gh));
    for (let col = 0; col < Gw; col++) {
      const sc = Math.min(g0 - 1, Math.floor((col * g0) / Gw));
      out.set(table.subarray((1 + sr * g0 + sc) * D, (2 + sr * g0 + sc) * D), (1 + r * Gw + col) * D);
    }
  }
  return out;
}

/** Time embeddings [T, D]: the checkpoint's, nearest-resized when T differs. */
export function timeEmbeddings(c: TimesformerConfig, w: Pick<TimesformerWeights, 'timeEmbed'>, T: number): Float32Array {
  return nearest1d(toFloat32(w.timeEmbed!), c.numFrames, T, c.hiddenSize);
}
