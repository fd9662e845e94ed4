import type { TimesformerConfig } from './config';
import { capped, CheckpointError } from './errors';
import { shapeText, type DType, type RawTensor, type TensorMap } from './tensor';

/** A Linear layer as PyTorch stores it: weight [out, in], bias [out]. */
export interface Linear {
  weight: RawTensor;
  bias?: RawTensor;
}
export interface Norm {
  weight: RawTensor;
  bias: RawTensor;
}

export interface LayerWeights {
  /** Divided space-time only: the temporal attention branch and its extra projection. */
  temporal?: { norm: Norm; qkv: Linear; proj: Linear; dense: Linear };
  /** Spatial (divided), or the whole-sequence attention (joint, space_only). */
  norm1: Norm;
  qkv: Linear;
  proj: Linear;
  norm2: Norm;
  fc1: Linear;
  fc2: Linear;
}

export interface TimesformerWeights {
  patchEmbed: Linear; // weight [D, 3, P, P], a Conv2d with stride P
  clsToken: RawTensor; // [1, 1, D]
  posEmbed: RawTensor; // [1, 1+N, D]
  timeEmbed?: RawTensor; // [1, T, D]; absent for space_only
  layers: LayerWeights[];
  norm: Norm;
  head: Linear; // [labels, D]
}

/** Every parameter name the config implies, with its shape: the one place checkpoint names live. */
export function expectedParameters(c: TimesformerConfig): Map<string, number[]> {
  const D = c.hiddenSize, P = c.patchSize, N = (c.imageSize / P) ** 2;
  const params = new Map<string, number[]>();
  const linear = (name: string, out: number, inp: number, bias = true) => {
    params.set(`${name}.weight`, [out, inp]);
    if (bias) params.set(`${name}.bias`, [out]);
  };
  const norm = (name: string) => {
    params.set(`${name}.weight`, [D]);
    params.set(`${name}.bias`, [D]);
  };
  const e = 'timesformer.embeddings';
  params.set(`${e}.cls_token`, [1, 1, D]);
  params.set(`${e}.position_embeddings`, [1, 1 + N, D]);
  if (c.attentionType !== 'space_only') params.set(`${e}.time_embeddings`, [1, c.numFrames, D]);
  params.set(`${e}.patch_embeddings.projection.weight`, [D, c.numChannels, P, P]);
  params.set(`${e}.patch_embeddings.projection.bias`, [D]);
  for (let i = 0; i < c.numLayers; i++) {
    const l = `timesformer.encoder.layer.${i}`;
    if (c.attentionType === 'divided_space_time') {
      norm(`${l}.temporal_layernorm`);
      linear(`${l}.temporal_attention.attention.qkv`, 3 * D, D, c.qkvBias);
      linear(`${l}.temporal_attention.output.dense`, D, D);
      linear(`${l}.temporal_dense`, D, D);
    }
    norm(`${l}.layernorm_before`);
    linear(`${l}.attention.attention.qkv`, 3 * D, D, c.qkvBias);
    linear(`${l}.attention.output.dense`, D, D);
    norm(`${l}.layernorm_after`);
    linear(`${l}.intermediate.dense`, c.intermediateSize, D);
    linear(`${l}.output.dense`, D, c.intermediateSize);
  }
  norm('timesformer.layernorm');
  linear('classifier', c.labels.length, D);
  return params;
}

/** Elements in all the parameters. */
export function countParameters(expected: ReadonlyMap<string, readonly number[]>): number {
  let n = 0;
  for (const shape of expected.values()) n += shape.reduce((a, b) => a * b, 1);
  return n;
}

/** What a checkpoint says a tensor is, before (or without) reading its data. */
export interface TensorInfo {
  dtype: DType;
  shape: readonly number[];
}

/**
 * Check what a checkpoint holds against what its config implies: every parameter present (with its
 * shape and a float type, where `found` knows them), nothing unexplained. Reads no tensor data, so
 * readers call it before copying anything. The message lists every problem at once.
 */
export function checkAgainstConfig(expected: ReadonlyMap<string, readonly number[]>, found: ReadonlyMap<string, TensorInfo | undefined>): void {
  const missing: string[] = [], wrong: string[] = [];
  for (const [name, shape] of expected) {
    if (!found.has(name)) {
      missing.push(name);
      continue;
    }
    const t = found.get(name);
    if (t && t.shape.join() !== shape.join()) wrong.push(`${name} is ${shapeText(t.shape)}, config implies [${shape}]`);
    else if (t?.dtype === 'U8') wrong.push(`${name} is U8, not a float type`);
  }
  const extra: string[] = [];
  for (const name of found.keys()) if (!expected.has(name)) extra.push(capped(name));
  if (missing.length || wrong.length || extra.length) {
    const list = (title: string, items: string[]) => (items.length ? `\n${title} (${items.length}): ${items.slice(0, 12).join(', ')}${items.length > 12 ? ', …' : ''}` : '');
    throw new CheckpointError(
      `the weights do not match config.json` + list('missing', missing) + list('wrong shape or type', wrong) + list('unexpected', extra),
    );
  }
}

/** Check a checkpoint against its config (checkAgainstConfig) and arrange it as the model reads it. */
export function bindWeights(c: TimesformerConfig, tensors: TensorMap): TimesformerWeights {
  checkAgainstConfig(expectedParameters(c), tensors);
  const get = (name: string) => tensors.get(name)!;
  const linear = (name: string): Linear => ({ weight: get(`${name}.weight`), bias: tensors.get(`${name}.bias`) });
  const norm = (name: string): Norm => ({ weight: get(`${name}.weight`), bias: get(`${name}.bias`) });
  const e = 'timesformer.embeddings';
  return {
    patchEmbed: linear(`${e}.patch_embeddings.projection`),
    clsToken: get(`${e}.cls_token`),
    posEmbed: get(`${e}.position_embeddings`),
    timeEmbed: tensors.get(`${e}.time_embeddings`),
    layers: Array.from({ length: c.numLayers }, (_, i) => {
      const l = `timesformer.encoder.layer.${i}`;
      return {
        temporal:
          c.attentionType === 'divided_space_time'
            ? {
                norm: norm(`${l}.temporal_layernorm`),
                qkv: linear(`${l}.temporal_attention.attention.qkv`),
                proj: linear(`${l}.temporal_attention.output.dense`),
                dense: linear(`${l}.temporal_dense`),
              }
            : undefined,
        norm1: norm(`${l}.layernorm_before`),
        qkv: linear(`${l}.attention.attention.qkv`),
        proj: linear(`${l}.attention.output.dense`),
        norm2: norm(`${l}.layernorm_after`),
        fc1: linear(`${l}.intermediate.dense`),
        fc2: linear(`${l}.output.dense`),
      };
    }),
    norm: norm('timesformer.layernorm'),
    head: linear('classifier'),
  };
}
