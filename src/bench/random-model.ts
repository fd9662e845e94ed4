// TimeSformer models with random weights, for benchmarks at any size (speed does not depend on values).
import type { TimesformerConfig } from '../checkpoint/config';
import { numel, type TensorMap } from '../checkpoint/tensor';
import { bindWeights, expectedParameters, type TimesformerWeights } from '../checkpoint/weights';

/** A random model's sizes (and, unless divided, its attention). */
export type RandomModelSpec = Omit<TimesformerConfig, 'labels' | 'hiddenAct' | 'layerNormEps' | 'qkvBias' | 'numChannels' | 'attentionType'> & { labels: number; attentionType?: TimesformerConfig['attentionType'] };

export const BENCH_MODELS: Record<string, RandomModelSpec> = {
  tiny: { imageSize: 64, patchSize: 16, numFrames: 4, hiddenSize: 64, numLayers: 2, numHeads: 4, intermediateSize: 128, labels: 10 },
  small: { imageSize: 96, patchSize: 16, numFrames: 8, hiddenSize: 192, numLayers: 4, numHeads: 3, intermediateSize: 768, labels: 16 },
  base: { imageSize: 224, patchSize: 16, numFrames: 8, hiddenSize: 768, numLayers: 12, numHeads: 12, intermediateSize: 3072, labels: 400 },
  // TimeSformer-HR: 16 frames of 448², 12 545 tokens.
  hr: { imageSize: 448, patchSize: 16, numFrames: 16, hiddenSize: 768, numLayers: 12, numHeads: 12, intermediateSize: 3072, labels: 400 },
};

export function randomModel(spec: keyof typeof BENCH_MODELS | RandomModelSpec): { config: TimesformerConfig; weights: TimesformerWeights } {
  const { config, tensors } = randomCheckpoint(spec);
  return { config, weights: bindWeights(config, tensors) };
}

/** The random model's parameters by checkpoint name (f32), e.g. to write as a safetensors file. */
export function randomCheckpoint(model: keyof typeof BENCH_MODELS | RandomModelSpec): { config: TimesformerConfig; tensors: TensorMap } {
  const spec = typeof model === 'string' ? BENCH_MODELS[model] : model;
  const config: TimesformerConfig = {
    attentionType: 'divided_space_time',
    ...spec,
    numChannels: 3,
    hiddenAct: 'gelu',
    layerNormEps: 1e-6,
    qkvBias: true,
    labels: Array.from({ length: spec.labels }, (_, i) => `class_${i}`),
  };
  let seed = 1;
  const tensors: TensorMap = new Map();
  for (const [name, shape] of expectedParameters(config)) {
    const values = new Float32Array(numel(shape));
    for (let i = 0; i < values.length; i++) {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      values[i] = (seed / 2 ** 32 - 0.5) * 0.05;
    }
    tensors.set(name, { dtype: 'F32', shape, bytes: new Uint8Array(values.buffer) });
  }
  return { config, tensors };
}
