// The layout of the engine's weights: every buffer's label, size and home in order, and how a checkpoint's
// weights pack into it (Linear weights transposed to [K, N], N padded to whole vec4s, f32 or f16; biases
// padded; norms and the CLS token f32; the position and time tables kept on the CPU, resized per plan).
// It follows from the config alone, which is what lets the engine-ready copy (engine-weights.ts) be checked
// against it and streamed straight back into buffers; `bind` hands the made buffers back as the model's parts.
import type { TimesformerConfig } from '../checkpoint/config';
import { toFloat16Bits, toFloat32, type RawTensor } from '../checkpoint/tensor';
import type { Linear, Norm, TimesformerWeights } from '../checkpoint/weights';
import { configuredGeometry } from '../model/geometry';
import { packLinearData, type PackedLinear, type WeightDType } from './kernels/gemm';

/** Where the layout's buffers go to live: on the GPU, or (the embeddings plans interpolate) on the CPU. */
type Home = 'gpu' | 'cpu';

interface BufferSpec {
  label: string;
  bytes: number;
  home: Home;
  /** Its bytes from a checkpoint's weights. */
  pack(w: TimesformerWeights): Uint8Array;
}

export interface NormBuffers {
  gamma: GPUBuffer;
  beta: GPUBuffer;
}

/** One layer's weights: the temporal block (divided only), attention (norm1, qkv, proj) and MLP (norm2, fc1, fc2). */
export interface LayerBuffers {
  temporal?: { norm: NormBuffers; qkv: PackedLinear; proj: PackedLinear; dense: PackedLinear };
  norm1: NormBuffers;
  qkv: PackedLinear;
  proj: PackedLinear;
  norm2: NormBuffers;
  fc1: PackedLinear;
  fc2: PackedLinear;
}

/** What the engine holds once its weights are in: GPU buffers per part, and the tables plans resize on the CPU. */
export interface EngineWeights {
  dtype: WeightDType;
  patchEmbed: PackedLinear;
  /** [D] */
  cls: GPUBuffer;
  /** The checkpoint's tables (f32), resized per plan (src/model/embeddings.ts). */
  embeddings: Pick<TimesformerWeights, 'posEmbed' | 'timeEmbed'>;
  layers: LayerBuffers[];
  norm: NormBuffers;
  head: PackedLinear;
}

/** The layout's buffers once made, by their index in it: a GPU buffer, or a table kept on the CPU. */
export type Made = (GPUBuffer | Float32Array)[];

export const bytesOf = (a: Float32Array | Uint16Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * Every buffer the engine uploads (and the CPU tables plans read), in order, for `c` with weights in `dtype`,
 * and `bind`, which hands the made buffers back as the model's parts.
 */
export function engineLayout(c: TimesformerConfig, dtype: WeightDType): { buffers: BufferSpec[]; bind(made: Made): EngineWeights } {
  const D = c.hiddenSize, F = c.intermediateSize, P = c.patchSize;
  const { N } = configuredGeometry(c);
  const buffers: BufferSpec[] = [];
  const gpu = (m: Made, i: number) => m[i] as GPUBuffer;
  const linear = (label: string, outputs: number, inputs: number, of: (w: TimesformerWeights) => Linear) => {
    const nPad = Math.ceil(outputs / 4) * 4, at = buffers.length;
    // One pack serves both buffers: the weight's is made when the bias's is asked for, in order.
    let packed: ReturnType<typeof packLinearData> | undefined;
    const make = (w: TimesformerWeights) => {
      const l = of(w);
      const weight = dtype === 'f16' ? toFloat16Bits(l.weight) : toFloat32(l.weight);
      return packLinearData(weight, outputs, inputs, l.bias && toFloat32(l.bias));
    };
    buffers.push({ label: `${label}.weight`, bytes: inputs * nPad * (dtype === 'f16' ? 2 : 4), home: 'gpu', pack: (w) => bytesOf((packed = make(w)).wt) });
    buffers.push({
      label: `${label}.bias`,
      bytes: nPad * 4,
      home: 'gpu',
      pack: (w) => {
        const { bias } = packed ?? make(w);
        packed = undefined; // only one Linear's pack alive at a time
        return bytesOf(bias);
      },
    });
    return (m: Made): PackedLinear => ({ w: gpu(m, at), bias: gpu(m, at + 1), dtype, K: inputs, N: outputs, nPad });
  };
  const f32 = (label: string, elements: number, home: Home, of: (w: TimesformerWeights) => Parameters<typeof toFloat32>[0]) => {
    const at = buffers.push({ label, bytes: elements * 4, home, pack: (w) => bytesOf(toFloat32(of(w))) }) - 1;
    return (m: Made) => m[at];
  };
  const norm = (label: string, of: (w: TimesformerWeights) => Norm) => {
    const gamma = f32(`${label}.weight`, D, 'gpu', (w) => of(w).weight), beta = f32(`${label}.bias`, D, 'gpu', (w) => of(w).bias);
    return (m: Made): NormBuffers => ({ gamma: gamma(m) as GPUBuffer, beta: beta(m) as GPUBuffer });
  };
  const table = (made: GPUBuffer | Float32Array, shape: number[]): RawTensor => ({ dtype: 'F32', shape, bytes: bytesOf(made as Float32Array) });

  const patchEmbed = linear('patch_embed', D, c.numChannels * P * P, (w) => w.patchEmbed);
  const cls = f32('cls_token', D, 'gpu', (w) => w.clsToken);
  const posEmbed = f32('position_embeddings', (1 + N) * D, 'cpu', (w) => w.posEmbed);
  const timeEmbed = c.attentionType !== 'space_only' ? f32('time_embeddings', c.numFrames * D, 'cpu', (w) => w.timeEmbed!) : undefined;
  const layers = Array.from({ length: c.numLayers }, (_, i) => {
    const layer = (w: TimesformerWeights) => w.layers[i];
    const temporal = c.attentionType === 'divided_space_time' && {
      norm: norm(`layer${i}.temporal_norm`, (w) => layer(w).temporal!.norm),
      qkv: linear(`layer${i}.temporal_qkv`, 3 * D, D, (w) => layer(w).temporal!.qkv),
      proj: linear(`layer${i}.temporal_proj`, D, D, (w) => layer(w).temporal!.proj),
      dense: linear(`layer${i}.temporal_dense`, D, D, (w) => layer(w).temporal!.dense),
    };
    const norm1 = norm(`layer${i}.norm1`, (w) => layer(w).norm1);
    const qkv = linear(`layer${i}.qkv`, 3 * D, D, (w) => layer(w).qkv);
    const proj = linear(`layer${i}.proj`, D, D, (w) => layer(w).proj);
    const norm2 = norm(`layer${i}.norm2`, (w) => layer(w).norm2);
    const fc1 = linear(`layer${i}.fc1`, F, D, (w) => layer(w).fc1);
    const fc2 = linear(`layer${i}.fc2`, D, F, (w) => layer(w).fc2);
    return (m: Made): LayerBuffers => ({
      temporal: temporal ? { norm: temporal.norm(m), qkv: temporal.qkv(m), proj: temporal.proj(m), dense: temporal.dense(m) } : undefined,
      norm1: norm1(m), qkv: qkv(m), proj: proj(m), norm2: norm2(m), fc1: fc1(m), fc2: fc2(m),
    });
  });
  const finalNorm = norm('final_norm', (w) => w.norm);
  const head = linear('classifier', c.labels.length, D, (w) => w.head);
  const bind = (m: Made): EngineWeights => ({
    dtype,
    patchEmbed: patchEmbed(m),
    cls: cls(m) as GPUBuffer,
    embeddings: { posEmbed: table(posEmbed(m), [1, 1 + N, D]), timeEmbed: timeEmbed && table(timeEmbed(m), [1, c.numFrames, D]) },
    layers: layers.map((l) => l(m)),
    norm: finalNorm(m),
    head: head(m),
  });
  return { buffers, bind };
}
