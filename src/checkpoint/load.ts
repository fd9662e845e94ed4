import { parseConfig, parsePreprocessorConfig, type PreprocessorConfig, type TimesformerConfig } from './config';
import { CheckpointError, quote } from './errors';
import { decodeJsonFile } from './json';
import { readSafetensors, readShardIndex } from './safetensors';
import type { ModelSource, ReadProgress } from './source';
import type { TensorMap } from './tensor';
import { readTorchBin } from './torch-bin';
import { bindWeights, checkAgainstConfig, expectedParameters, type TimesformerWeights } from './weights';

export type WeightsFormat = 'safetensors' | 'safetensors (sharded)' | 'pytorch_model.bin';

export interface LoadedModel {
  config: TimesformerConfig;
  preprocessor: PreprocessorConfig;
  weights: TimesformerWeights;
  format: WeightsFormat;
  source: string;
  /** config.json and preprocessor_config.json as read (an engine-ready copy keeps them, to parse again). */
  json: { config: string; preprocessor?: string };
}

export interface LoadOptions {
  signal?: AbortSignal;
  onProgress?: (p: ReadProgress) => void;
  /** Called with the config (and config.json as read) before the weights are read: work that needs only the config can start. */
  onConfig?: (config: TimesformerConfig, json: string) => void;
}

/**
 * Load a Hugging Face TimeSformer folder: config.json, optional preprocessor_config.json, and weights
 * as model.safetensors, sharded safetensors (model.safetensors.index.json) or pytorch_model.bin.
 */
export async function loadModel(source: ModelSource, options: LoadOptions = {}): Promise<LoadedModel> {
  const text = async (file: string) => {
    const bytes = await source.read(file, options);
    return bytes && decodeJsonFile(bytes, file);
  };
  const configText = await text('config.json');
  if (configText === undefined) throw new CheckpointError(`no config.json in ${source.label}`);
  const config = parseConfig(configText);
  options.onConfig?.(config, configText);
  const preprocessorText = await text('preprocessor_config.json');
  const preprocessor = parsePreprocessorConfig(preprocessorText, config);
  const { tensors, format } = await readWeights(source, expectedParameters(config), options);
  return { config, preprocessor, weights: bindWeights(config, tensors), format, source: source.label, json: { config: configText, preprocessor: preprocessorText } };
}

/** The weights, checked against the config's parameters as early as each format allows. */
async function readWeights(source: ModelSource, expected: Map<string, number[]>, options: LoadOptions): Promise<{ tensors: TensorMap; format: WeightsFormat }> {
  const single = await source.read('model.safetensors', options);
  if (single) return { tensors: readSafetensors(single, 'model.safetensors'), format: 'safetensors' };

  const indexFile = 'model.safetensors.index.json';
  const indexBytes = await source.read(indexFile, options);
  if (indexBytes) {
    const { shards, weightMap } = readShardIndex(decodeJsonFile(indexBytes, indexFile));
    // Names only: the shards, with the shapes, are not read yet.
    checkAgainstConfig(expected, new Map([...weightMap.keys()].map((name) => [name, undefined])));
    const tensors: TensorMap = new Map();
    for (const shard of shards) {
      const bytes = await source.read(shard, options);
      if (!bytes) throw new CheckpointError(`shard ${shard} named in ${indexFile} is missing from ${source.label}`);
      for (const [name, t] of readSafetensors(bytes, shard)) {
        if (weightMap.get(name) !== shard) throw new CheckpointError(`${shard} holds ${quote(name)}, which the index places ${weightMap.has(name) ? `in ${weightMap.get(name)}` : 'nowhere'}`);
        tensors.set(name, t);
      }
    }
    const absent = [...weightMap.keys()].filter((n) => !tensors.has(n));
    if (absent.length) throw new CheckpointError(`the index names tensors no shard holds: ${absent.slice(0, 8).join(', ')}`);
    return { tensors, format: 'safetensors (sharded)' };
  }

  const bin = await source.read('pytorch_model.bin', options);
  if (bin) return { tensors: readTorchBin(bin, expected), format: 'pytorch_model.bin' };
  throw new CheckpointError(`no weights in ${source.label}: expected model.safetensors, model.safetensors.index.json or pytorch_model.bin`);
}
