import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig, parsePreprocessorConfig } from '../../src/checkpoint/config';
import { CheckpointError } from '../../src/checkpoint/errors';
import { modelDir } from '../fixtures';

const tinyText = readFileSync(join(modelDir('tiny-divided'), 'config.json'), 'utf8');
const edit = (change: (json: Record<string, unknown>) => void) => {
  const json = JSON.parse(tinyText);
  change(json);
  return JSON.stringify(json);
};

describe('config.json', () => {
  it('reads every TimesformerConfig field', () => {
    expect(parseConfig(tinyText)).toEqual({
      imageSize: 64, patchSize: 16, numChannels: 3, numFrames: 4, hiddenSize: 64, numLayers: 2, numHeads: 4,
      intermediateSize: 128, hiddenAct: 'gelu', layerNormEps: 1e-6, qkvBias: true, attentionType: 'divided_space_time',
      labels: Array.from({ length: 10 }, (_, i) => `class_${i}`),
    });
    const base = parseConfig(readFileSync(join(modelDir('base1-divided-fp16'), 'config.json'), 'utf8'));
    expect([base.hiddenSize, base.numHeads, base.labels.length, base.labels[399]]).toEqual([768, 12, 400, 'class_399']);
  });

  it('names a missing required field', () => {
    for (const field of ['hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size', 'image_size', 'patch_size', 'num_frames']) {
      expect(() => parseConfig(edit((j) => delete j[field]))).toThrow(new CheckpointError(`config.json: required field '${field}' is missing`));
    }
  });

  it('refuses values it cannot run, by name', () => {
    expect(() => parseConfig(edit((j) => (j.attention_type = 'axial')))).toThrow(/attention_type 'axial' is unknown/);
    expect(() => parseConfig(edit((j) => (j.hidden_act = 'relu')))).toThrow(/hidden_act 'relu' is not supported/);
    expect(() => parseConfig(edit((j) => (j.model_type = 'vit')))).toThrow(/model_type is 'vit'/);
    expect(() => parseConfig(edit((j) => (j.hidden_size = 63)))).toThrow(/not divisible by num_attention_heads/);
    expect(() => parseConfig(edit((j) => (j.patch_size = 'big')))).toThrow(/'patch_size' must be an integer/);
    expect(() => parseConfig(edit((j) => (j.num_frames = 1e12)))).toThrow(/'num_frames' must be an integer/);
    expect(() => parseConfig(edit((j) => (j.id2label = { 0: 'a', 5: 'b' })))).toThrow(/id2label key '5'/);
    expect(() => parseConfig('{"hidden_size": ')).toThrow(/config.json is not valid JSON/);
    expect(() => parseConfig('[1,2]')).toThrow(/not a JSON object/);
  });

  it('takes Hugging Face defaults for optional fields', () => {
    const c = parseConfig(edit((j) => { delete j.layer_norm_eps; delete j.qkv_bias; delete j.id2label; j.num_labels = 3; }));
    expect([c.layerNormEps, c.qkvBias, c.labels]).toEqual([1e-6, true, ['LABEL_0', 'LABEL_1', 'LABEL_2']]);
  });
});

describe('preprocessor_config.json', () => {
  const model = parseConfig(tinyText);
  it('defaults to the facebook/* processor', () => {
    expect(parsePreprocessorConfig(undefined, model)).toEqual({
      imageMean: [0.45, 0.45, 0.45], imageStd: [0.225, 0.225, 0.225], shortestEdge: 64, cropHeight: 64, cropWidth: 64, rescaleFactor: 1 / 255,
    });
  });
  it('reads a VideoMAEImageProcessor file', () => {
    const text = JSON.stringify({
      image_processor_type: 'VideoMAEImageProcessor', do_resize: true, size: { shortest_edge: 448 }, crop_size: { height: 448, width: 448 },
      do_rescale: true, rescale_factor: 0.00392156862745098, image_mean: [0.485, 0.456, 0.406], image_std: [0.229, 0.224, 0.225],
    });
    expect(parsePreprocessorConfig(text, model)).toEqual({
      imageMean: [0.485, 0.456, 0.406], imageStd: [0.229, 0.224, 0.225], shortestEdge: 448, cropHeight: 448, cropWidth: 448, rescaleFactor: 0.00392156862745098,
    });
    expect(() => parsePreprocessorConfig(JSON.stringify({ image_std: [0, 1, 1] }), model)).toThrow(/image_std must be positive/);
  });
});
