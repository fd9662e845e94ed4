import { check, quote } from './errors';
import { isJsonObject, parseJsonObject, type JsonObject as Json } from './json';
import { countParameters, expectedParameters } from './weights';

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

/**
 * What a TimeSformer can be. The published ones are 224–448 px, 16 px patches, 8–96 frames, 768 wide,
 * 12 layers of 12 heads; these bounds are far above them and keep every size the config implies small.
 */
const MAX = {
  image_size: 1024,
  patch_size: 1024,
  num_frames: 128,
  hidden_size: 4096,
  num_hidden_layers: 64,
  num_attention_heads: 128,
  intermediate_size: 16384,
  /** Kinetics-700, the largest published label set, has 700. */
  num_labels: 10_000,
  /** Sizes in preprocessor_config.json (shortest edge, crop). */
  frame_size: 4096,
} as const;
const MAX_PATCHES_PER_FRAME = 4096;
/** 4 GiB as float32: twice the largest file we read. */
export const MAX_PARAMETERS = 2 ** 30;
/** JSON values a config may hold: id2label and label2id take about 4 per label (parsing many keys is slow). */
const MAX_CONFIG_VALUES = 8 * MAX.num_labels + 4096;

function parseConfigJson(text: string, file: string): Json {
  return parseJsonObject(text, file, MAX_CONFIG_VALUES, `${MAX.num_labels} labels`);
}

function int(json: Json, key: string, file: string, max: number, fallback?: number): number {
  const v = json[key] ?? fallback;
  check(v !== undefined, `${file}: required field '${key}' is missing`);
  check(Number.isSafeInteger(v) && (v as number) >= 1 && (v as number) <= max, `${file}: field '${key}' must be an integer from 1 to ${max}, got ${quote(v)}`);
  return v as number;
}

function num(json: Json, key: string, file: string, fallback: number): number {
  const v = json[key] ?? fallback;
  check(typeof v === 'number' && Number.isFinite(v), `${file}: field '${key}' must be a number, got ${quote(v)}`);
  return v;
}

/**
 * Parse `config.json` of a TimeSformer checkpoint. Fields that fix tensor shapes are required;
 * the rest take Hugging Face's defaults. Values this engine cannot run are refused by name.
 */
export function parseConfig(text: string, file = 'config.json'): TimesformerConfig {
  const json = parseConfigJson(text, file);
  if (json.model_type !== undefined) {
    check(json.model_type === 'timesformer', `${file}: model_type is ${quote(json.model_type)}, not 'timesformer'`);
  }
  const hiddenAct = json.hidden_act ?? 'gelu';
  check(hiddenAct === 'gelu', `${file}: hidden_act ${quote(hiddenAct)} is not supported (only exact 'gelu')`);
  const attentionType = json.attention_type ?? 'divided_space_time';
  check(ATTENTION_TYPES.includes(attentionType as AttentionType), `${file}: attention_type ${quote(attentionType)} is unknown (expected ${ATTENTION_TYPES.join(', ')})`);
  const qkvBias = json.qkv_bias ?? true;
  check(typeof qkvBias === 'boolean', `${file}: field 'qkv_bias' must be true or false`);

  const config: TimesformerConfig = {
    imageSize: int(json, 'image_size', file, MAX.image_size),
    patchSize: int(json, 'patch_size', file, MAX.patch_size),
    numChannels: int(json, 'num_channels', file, Number.MAX_SAFE_INTEGER, 3),
    numFrames: int(json, 'num_frames', file, MAX.num_frames),
    hiddenSize: int(json, 'hidden_size', file, MAX.hidden_size),
    numLayers: int(json, 'num_hidden_layers', file, MAX.num_hidden_layers),
    numHeads: int(json, 'num_attention_heads', file, MAX.num_attention_heads),
    intermediateSize: int(json, 'intermediate_size', file, MAX.intermediate_size),
    hiddenAct: 'gelu',
    layerNormEps: num(json, 'layer_norm_eps', file, 1e-6),
    qkvBias,
    attentionType: attentionType as AttentionType,
    labels: parseLabels(json, file),
  };
  check(config.numChannels === 3, `${file}: num_channels ${config.numChannels} is not supported (RGB video has 3)`);
  check(config.imageSize % config.patchSize === 0, `${file}: image_size ${config.imageSize} is not a multiple of patch_size ${config.patchSize}`);
  const patches = (config.imageSize / config.patchSize) ** 2;
  check(patches <= MAX_PATCHES_PER_FRAME, `${file}: image_size ${config.imageSize} and patch_size ${config.patchSize} make ${patches} patches per frame, more than ${MAX_PATCHES_PER_FRAME}`);
  check(config.hiddenSize % config.numHeads === 0, `${file}: hidden_size ${config.hiddenSize} is not divisible by num_attention_heads ${config.numHeads}`);
  check(config.layerNormEps > 0 && config.layerNormEps < 1, `${file}: layer_norm_eps must be between 0 and 1, got ${config.layerNormEps}`);
  const parameters = countParameters(expectedParameters(config));
  check(parameters <= MAX_PARAMETERS, `${file}: these sizes imply ${parameters} parameters, more than ${MAX_PARAMETERS}`);
  return config;
}

function parseLabels(json: Json, file: string): string[] {
  const id2label = json.id2label;
  if (id2label === undefined) {
    const n = int(json, 'num_labels', file, MAX.num_labels, 2);
    return Array.from({ length: n }, (_, i) => `LABEL_${i}`);
  }
  check(isJsonObject(id2label), `${file}: id2label must be an object`);
  const entries = Object.entries(id2label);
  check(entries.length > 0 && entries.length <= MAX.num_labels, `${file}: id2label has ${entries.length} entries (1 to ${MAX.num_labels} allowed)`);
  const labels = new Array<string>(entries.length);
  for (const [id, label] of entries) {
    const i = Number(id);
    check(Number.isInteger(i) && i >= 0 && i < entries.length && labels[i] === undefined, `${file}: id2label key ${quote(id)} is not one of 0..${entries.length - 1}`);
    check(typeof label === 'string', `${file}: id2label[${quote(id)}] is not a string`);
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
  const json = text === undefined ? {} : parseConfigJson(text, file);
  const size = (json.size ?? {}) as Json;
  const crop = (json.crop_size ?? {}) as Json;
  check(typeof size === 'object' && typeof crop === 'object', `${file}: 'size' and 'crop_size' must be objects`);
  const shortestEdge = int(size, 'shortest_edge', file, MAX.frame_size, typeof size.height === 'number' ? Math.min(size.height as number, size.width as number) : model.imageSize);
  const std = triple(json, 'image_std', file, 0.225);
  check(std.every((s) => s > 0), `${file}: image_std must be positive`);
  return {
    imageMean: triple(json, 'image_mean', file, 0.45),
    imageStd: std,
    shortestEdge,
    cropHeight: int(crop, 'height', file, MAX.frame_size, model.imageSize),
    cropWidth: int(crop, 'width', file, MAX.frame_size, model.imageSize),
    rescaleFactor: json.do_rescale === false ? 1 : num(json, 'rescale_factor', file, 1 / 255),
  };
}
