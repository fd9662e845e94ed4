import { check, CheckpointError } from './errors';

export type AttentionType = 'divided_space_time' | 'joint_space_time' | 'space_only';
const ATTENTION_TYPES: readonly AttentionType[] = ['divided_space_time', 'joint_space_time', 'space_only'];

/** The fields of Hugging Face's TimesformerConfig that define the computation. */
export interface TimesformerConfig {
  imageSize: number;
  patchSize: number;
  numChannels: number;
  numFrames: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  hiddenAct: 'gelu';
  layerNormEps: number;
  qkvBias: boolean;
  attentionType: AttentionType;
  /** Class names by index; `LABEL_i` where the config names none. */
  labels: string[];
}

/** How frames become `pixel_values` (VideoMAEImageProcessor fields). */
export interface PreprocessorConfig {
  imageMean: [number, number, number];
  imageStd: [number, number, number];
  /** Resize so the shorter side is this long (bilinear), keeping the aspect ratio. */
  shortestEdge: number;
  cropHeight: number;
  cropWidth: number;
  rescaleFactor: number;
}

type Json = Record<string, unknown>;

function parseJsonObject(text: string, file: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`${file} is not valid JSON (${(e as Error).message})`);
  }
  check(value !== null && typeof value === 'object' && !Array.isArray(value), `${file} is not a JSON object`);
  return value as Json;
}

function int(json: Json, key: string, file: string, fallback?: number, min = 1): number {
  const v = json[key] ?? fallback;
  check(v !== undefined, `${file}: required field '${key}' is missing`);
  check(Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= 1 << 20, `${file}: field '${key}' must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return v as number;
}

function num(json: Json, key: string, file: string, fallback: number): number {
  const v = json[key] ?? fallback;
  check(typeof v === 'number' && Number.isFinite(v), `${file}: field '${key}' must be a number, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * Parse `config.json` of a TimeSformer checkpoint. Fields that fix tensor shapes are required;
 * the rest take Hugging Face's defaults. Values this engine cannot run are refused by name.
 */
export function parseConfig(text: string, file = 'config.json'): TimesformerConfig {
  const json = parseJsonObject(text, file);
  if (json.model_type !== undefined) {
    check(json.model_type === 'timesformer', `${file}: model_type is '${json.model_type}', not 'timesformer'`);
  }
  const hiddenAct = json.hidden_act ?? 'gelu';
  check(hiddenAct === 'gelu', `${file}: hidden_act '${hiddenAct}' is not supported (only exact 'gelu')`);
  const attentionType = (json.attention_type ?? 'divided_space_time') as AttentionType;
  check(ATTENTION_TYPES.includes(attentionType), `${file}: attention_type '${attentionType}' is unknown (expected ${ATTENTION_TYPES.join(', ')})`);
  const qkvBias = json.qkv_bias ?? true;
  check(typeof qkvBias === 'boolean', `${file}: field 'qkv_bias' must be true or false`);

  const config: TimesformerConfig = {
    imageSize: int(json, 'image_size', file),
    patchSize: int(json, 'patch_size', file),
    numChannels: int(json, 'num_channels', file, 3),
    numFrames: int(json, 'num_frames', file),
    hiddenSize: int(json, 'hidden_size', file),
    numLayers: int(json, 'num_hidden_layers', file),
    numHeads: int(json, 'num_attention_heads', file),
    intermediateSize: int(json, 'intermediate_size', file),
    hiddenAct: 'gelu',
    layerNormEps: num(json, 'layer_norm_eps', file, 1e-6),
    qkvBias,
    attentionType,
    labels: parseLabels(json, file),
  };
  check(config.numChannels === 3, `${file}: num_channels ${config.numChannels} is not supported (RGB video has 3)`);
  check(config.imageSize % config.patchSize === 0, `${file}: image_size ${config.imageSize} is not a multiple of patch_size ${config.patchSize}`);
  check(config.hiddenSize % config.numHeads === 0, `${file}: hidden_size ${config.hiddenSize} is not divisible by num_attention_heads ${config.numHeads}`);
  check(config.layerNormEps > 0, `${file}: layer_norm_eps must be positive`);
  return config;
}

function parseLabels(json: Json, file: string): string[] {
  const id2label = json.id2label;
  if (id2label === undefined) {
    const n = int(json, 'num_labels', file, 2);
    return Array.from({ length: n }, (_, i) => `LABEL_${i}`);
  }
  check(id2label !== null && typeof id2label === 'object' && !Array.isArray(id2label), `${file}: id2label must be an object`);
  const entries = Object.entries(id2label as Json);
  check(entries.length > 0 && entries.length <= 100_000, `${file}: id2label has ${entries.length} entries`);
  const labels = new Array<string>(entries.length);
  for (const [id, label] of entries) {
    const i = Number(id);
    check(Number.isInteger(i) && i >= 0 && i < entries.length && labels[i] === undefined, `${file}: id2label key '${id}' is not one of 0..${entries.length - 1}`);
    check(typeof label === 'string', `${file}: id2label['${id}'] is not a string`);
    labels[i] = label;
  }
  return labels;
}

function triple(json: Json, key: string, file: string, fallback: number): [number, number, number] {
  const v = json[key] ?? fallback;
  const arr = typeof v === 'number' ? [v, v, v] : v;
  check(Array.isArray(arr) && arr.length === 3 && arr.every((x) => typeof x === 'number' && Number.isFinite(x)), `${file}: '${key}' must be a number or 3 numbers`);
  return arr as [number, number, number];
}

/**
 * Parse `preprocessor_config.json` (VideoMAEImageProcessor). Without one, the facebook/* checkpoints'
 * published values apply: shortest edge = image size, centre crop, 1/255, mean 0.45, std 0.225.
 */
export function parsePreprocessorConfig(text: string | undefined, model: TimesformerConfig, file = 'preprocessor_config.json'): PreprocessorConfig {
  const json = text === undefined ? {} : parseJsonObject(text, file);
  const size = (json.size ?? {}) as Json;
  const crop = (json.crop_size ?? {}) as Json;
  check(typeof size === 'object' && typeof crop === 'object', `${file}: 'size' and 'crop_size' must be objects`);
  const shortestEdge = int(size, 'shortest_edge', file, typeof size.height === 'number' ? Math.min(size.height as number, size.width as number) : model.imageSize);
  const std = triple(json, 'image_std', file, 0.225);
  check(std.every((s) => s > 0), `${file}: image_std must be positive`);
  return {
    imageMean: triple(json, 'image_mean', file, 0.45),
    imageStd: std,
    shortestEdge,
    cropHeight: int(crop, 'height', file, model.imageSize),
    cropWidth: int(crop, 'width', file, model.imageSize),
    rescaleFactor: json.do_rescale === false ? 1 : num(json, 'rescale_factor', file, 1 / 255),
  };
}
