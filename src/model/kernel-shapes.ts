// The kernel shapes a model runs at its configured input (frames, image size): what the engine tunes at
// load, and what the worker tunes ahead from the config alone while the weights download.
import type { TimesformerConfig } from '../checkpoint/config';
import type { ModelShapes } from '../engine/autotune';
import type { WeightDType } from '../engine/kernels/gemm';
import { configuredGeometry } from './geometry';

export function modelShapes(c: TimesformerConfig, dtype: WeightDType): ModelShapes {
  const D = c.hiddenSize, F = c.intermediateSize, heads = c.numHeads, P = c.patchSize;
  const { T, N, B, S, temporal, spatial } = configuredGeometry(c);
  const rows = B * S;
  return {
    gemm: [
      { M: T * N, N: D, K: 3 * P * P, dtype },
      { M: rows, N: 3 * D, K: D, dtype },
      { M: rows, N: D, K: D, dtype },
      { M: rows, N: F, K: D, dtype },
      { M: rows, N: D, K: F, dtype },
    ],
    attention: [...(temporal ? [temporal] : []), spatial].map(({ seqs, len }) => ({ seqs, len, heads, D })),
    layerNorm: [{ rows, D }],
    // The backward's: tuned when a model first explains (explainShapes), not at every load.
    gemmTransposed: [],
  };
}

/** The backward pass's kernel shapes at the configured input (src/engine/backward.ts), the forward's left out. */
export function explainShapes(c: TimesformerConfig, dtype: WeightDType): ModelShapes {
  const D = c.hiddenSize, F = c.intermediateSize, P = c.patchSize;
  const { N, B, S } = configuredGeometry(c);
  const rows = B * S;
  return {
    gemm: [],
    attention: [],
    layerNorm: [],
    gemmTransposed: [
      { M: B, N: c.labels.length, K: D, dtype },
      { M: rows, N: D, K: F, dtype },
      { M: rows, N: F, K: D, dtype },
      // The last layer's MLP, on the B CLS rows alone.
      { M: B, N: D, K: F, dtype },
      { M: B, N: F, K: D, dtype },
      { M: rows, N: D, K: D, dtype },
      { M: rows, N: 3 * D, K: D, dtype },
      { M: rows - 1, N: D, K: 3 * P * P, dtype },
    ],
  };
}
