// TimeSformer as an ONNX graph, written from our weights: so onnxruntime-web can run any checkpoint we load
// (and the benchmark's random-weight models at base and HR sizes), not only models someone exported with
// torch.onnx. The graph follows src/reference/timesformer.ts step for step with standard opset-17 ops
// (Conv, LayerNormalization, MatMul, Softmax, Erf, …) at one fixed clip shape, input `pixel_values`
// [1, T, 3, H, W], output `logits` [1, labels] ([T, labels] for space_only, as Hugging Face). DOM-free.
//
// The file is protobuf (onnx.proto3's ModelProto); the few messages it needs are encoded here, the weights
// as raw little-endian float32 initializers.
import type { TimesformerConfig } from '../checkpoint/config';
import { toFloat32, type RawTensor } from '../checkpoint/tensor';
import type { Linear, Norm, TimesformerWeights } from '../checkpoint/weights';
import { positionEmbeddings, timeEmbeddings } from '../model/embeddings';
import { clipGeometry } from '../model/geometry';

// --- protobuf: a message is a list of byte chunks, so 500 MB of weights are copied once, at the end.

class Message {
  readonly chunks: Uint8Array[] = [];
  length = 0;
  private push(bytes: Uint8Array) {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }
  private varint(value: number) {
    const bytes: number[] = [];
    let v = BigInt.asUintN(64, BigInt(value)); // int64 fields: negative values take ten bytes
    do {
      const low = Number(v & 0x7fn);
      v >>= 7n;
      bytes.push(v ? low | 0x80 : low);
    } while (v);
    this.push(Uint8Array.from(bytes));
  }
  int(field: number, value: number): this {
    this.varint(field << 3);
    this.varint(value);
    return this;
  }
  float(field: number, value: number): this {
    this.varint((field << 3) | 5);
    this.push(new Uint8Array(Float32Array.of(value).buffer));
    return this;
  }
  bytes(field: number, value: Uint8Array): this {
    this.varint((field << 3) | 2);
    this.varint(value.length);
    this.push(value);
    return this;
  }
  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }
  message(field: number, child: Message): this {
    this.varint((field << 3) | 2);
    this.varint(child.length);
    for (const c of child.chunks) this.push(c);
    return this;
  }
  concat(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

// onnx.proto3 field numbers and enums.
const FLOAT = 1, INT64 = 7; // TensorProto.DataType
const ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_INTS = 7; // AttributeProto.AttributeType

type Attribute = number | number[] | { float: number };

/** Builds the node list and initializers of one graph; every value gets a fresh name. */
class GraphBuilder {
  readonly graph = new Message();
  private count = 0;

  private name(prefix: string) {
    return `${prefix}_${this.count++}`;
  }

  /** A float32 (or int64) initializer. */
  constant(values: Float32Array | number[], dims: number[], prefix = 'w'): string {
    const name = this.name(prefix);
    const tensor = new Message();
    for (const d of dims) tensor.int(1, d);
    if (values instanceof Float32Array) {
      tensor.int(2, FLOAT).string(8, name);
      tensor.bytes(9, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    } else {
      tensor.int(2, INT64).string(8, name);
      tensor.bytes(9, new Uint8Array(BigInt64Array.from(values, BigInt).buffer));
    }
    this.graph.message(5, tensor);
    return name;
  }

  ints(values: number[]): string {
    return this.constant(values, [values.length], 'shape');
  }

  op(type: string, inputs: string[], attributes: Record<string, Attribute> = {}): string {
    const output = this.name(type.toLowerCase());
    const node = new Message();
    for (const i of inputs) node.string(1, i);
    node.string(2, output).string(4, type);
    for (const [key, value] of Object.entries(attributes)) {
      const a = new Message().string(1, key);
      if (Array.isArray(value)) {
        for (const v of value) a.int(8, v);
        a.int(20, ATTR_INTS);
      } else if (typeof value === 'number') a.int(3, value).int(20, ATTR_INT);
      else a.float(2, value.float).int(20, ATTR_FLOAT);
      node.message(5, a);
    }
    this.graph.message(1, node);
    return output;
  }
}

function valueInfo(name: string, dims: number[]): Message {
  const shape = new Message();
  for (const d of dims) shape.message(1, new Message().int(1, d));
  const tensorType = new Message().int(1, FLOAT).message(2, shape);
  return new Message().string(1, name).message(2, new Message().message(1, tensorType));
}

/** [out, in] PyTorch weight → [in, out] for MatMul. */
function transposed(w: RawTensor): Float32Array {
  const [out, inp] = w.shape, src = toFloat32(w), t = new Float32Array(out * inp);
  for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) t[i * out + o] = src[o * inp + i];
  return t;
}

export interface OnnxExportOptions {
  /** The clip shape the graph is fixed to: [T, 3, H, W]. Default: the config's. */
  clip?: [number, number, number, number];
}

/** An ONNX model (ModelProto bytes) computing the logits of `weights` for clips of one shape. */
export function exportTimesformerOnnx(config: TimesformerConfig, weights: TimesformerWeights, options: OnnxExportOptions = {}): Uint8Array {
  const c = config, w = weights;
  const [T, C, Hpx, Wpx] = options.clip ?? [c.numFrames, c.numChannels, c.imageSize, c.imageSize];
  const D = c.hiddenSize, H = c.numHeads, d = D / H, P = c.patchSize;
  const { Gh: gh, Gw: gw, N } = clipGeometry(c, T, Hpx, Wpx);
  const g = new GraphBuilder();
  const f32 = (t: RawTensor) => g.constant(toFloat32(t), t.shape);

  const linear = (x: string, l: Linear) => {
    const y = g.op('MatMul', [x, g.constant(transposed(l.weight), [l.weight.shape[1], l.weight.shape[0]])]);
    return l.bias ? g.op('Add', [y, f32(l.bias)]) : y;
  };
  const norm = (x: string, n: Norm) => g.op('LayerNormalization', [x, f32(n.weight), f32(n.bias)], { axis: -1, epsilon: { float: c.layerNormEps } });
  const gelu = (x: string) => {
    // Exact GELU: x · ½ · (1 + erf(x / √2)).
    const erf = g.op('Erf', [g.op('Mul', [x, g.constant(Float32Array.of(Math.SQRT1_2), [])])]);
    return g.op('Mul', [x, g.op('Mul', [g.op('Add', [erf, g.constant(Float32Array.of(1), [])]), g.constant(Float32Array.of(0.5), [])])]);
  };
  /** Multi-head self-attention of `seqs` sequences of `len` tokens: x [seqs, len, D] → context [seqs, len, D] (before the output projection). */
  const attention = (x: string, qkvLinear: Linear, seqs: number, len: number) => {
    const qkv = g.op('Transpose', [g.op('Reshape', [linear(x, qkvLinear), g.ints([seqs, len, 3, H, d])])], { perm: [2, 0, 3, 1, 4] }); // [3, seqs, H, len, d]
    const part = (i: number) => g.op('Gather', [qkv, g.constant([i], [], 'index')], { axis: 0 }); // [seqs, H, len, d]
    const scores = g.op('Mul', [g.op('MatMul', [part(0), g.op('Transpose', [part(1)], { perm: [0, 1, 3, 2] })]), g.constant(Float32Array.of(d ** -0.5), [])]);
    const context = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), part(2)]); // [seqs, H, len, d]
    return g.op('Reshape', [g.op('Transpose', [context], { perm: [0, 2, 1, 3] }), g.ints([seqs, len, D])]);
  };
  const slice = (x: string, start: number, end: number, axis: number) => g.op('Slice', [x, g.ints([start]), g.ints([end]), g.ints([axis])]);

  // Embeddings: patches [T, N, D] (a stride-P convolution), + position; the CLS row is input-independent.
  const frames = g.op('Reshape', ['pixel_values', g.ints([T, C, Hpx, Wpx])]);
  const conv = g.op('Conv', [frames, f32(w.patchEmbed.weight), f32(w.patchEmbed.bias!)], { kernel_shape: [P, P], strides: [P, P] }); // [T, D, gh, gw]
  const patches = g.op('Transpose', [g.op('Reshape', [conv, g.ints([T, D, N])])], { perm: [0, 2, 1] }); // [T, N, D]
  const pos = positionEmbeddings(c, w, gh, gw); // [1+N, D]
  const clsRow = toFloat32(w.clsToken).map((v, i) => v + pos[i]); // [D]
  const spaceOnly = c.attentionType === 'space_only';
  const B = spaceOnly ? T : 1, S = spaceOnly ? 1 + N : 1 + N * T; // sequences, tokens per sequence
  const posPatches = g.op('Add', [patches, g.constant(pos.slice(D), [N, D])]); // [T, N, D]
  let h: string; // [B, S, D]
  if (spaceOnly) {
    h = g.op('Concat', [g.constant(new Float32Array(T * D).map((_, i) => clsRow[i % D]), [T, 1, D]), posPatches], { axis: 1 });
  } else {
    // Tokens in (p, t) order: [N, T, D] + time embeddings.
    const timed = g.op('Add', [g.op('Transpose', [posPatches], { perm: [1, 0, 2] }), g.constant(timeEmbeddings(c, w, T), [T, D])]);
    h = g.op('Concat', [g.constant(clsRow, [1, 1, D]), g.op('Reshape', [timed, g.ints([1, N * T, D])])], { axis: 1 });
  }

  for (const lw of w.layers) {
    if (c.attentionType === 'divided_space_time') {
      const cls = slice(h, 0, 1, 1); // [1, 1, D]
      const x = g.op('Reshape', [slice(h, 1, S, 1), g.ints([N, T, D])]);
      // 1. Temporal attention: N sequences of T tokens; CLS does not take part.
      const tw = lw.temporal!;
      const xt = g.op('Add', [x, linear(linear(attention(norm(x, tw.norm), tw.qkv, N, T), tw.proj), tw.dense)]); // [N, T, D]
      // 2. Spatial attention: T sequences [CLS, N patches of frame t].
      const spatialIn = g.op('Concat', [g.op('Expand', [cls, g.ints([T, 1, D])]), g.op('Transpose', [xt], { perm: [1, 0, 2] })], { axis: 1 }); // [T, 1+N, D]
      const spatialOut = linear(attention(norm(spatialIn, lw.norm1), lw.qkv, T, 1 + N), lw.proj); // [T, 1+N, D]
      // 3. Residual: CLS += mean over frames of its T outputs; patches (back in (p, t) order) += theirs.
      const clsNext = g.op('Add', [cls, g.op('ReduceMean', [slice(spatialOut, 0, 1, 1)], { axes: [0], keepdims: 1 })]);
      const patchesNext = g.op('Add', [xt, g.op('Transpose', [slice(spatialOut, 1, 1 + N, 1)], { perm: [1, 0, 2] })]); // [N, T, D]
      h = g.op('Concat', [clsNext, g.op('Reshape', [patchesNext, g.ints([1, N * T, D])])], { axis: 1 });
    } else {
      h = g.op('Add', [h, linear(attention(norm(h, lw.norm1), lw.qkv, B, S), lw.proj)]);
    }
    h = g.op('Add', [h, linear(gelu(linear(norm(h, lw.norm2), lw.fc1)), lw.fc2)]);
  }
  const cls = g.op('Reshape', [slice(norm(h, w.norm), 0, 1, 1), g.ints([B, D])]);
  const logits = linear(cls, w.head);
  g.graph.string(2, 'timesformer');
  g.graph.message(11, valueInfo('pixel_values', [1, T, C, Hpx, Wpx]));
  // Identity names the graph's output as exported models name it.
  g.graph.message(1, new Message().string(1, logits).string(2, 'logits').string(4, 'Identity'));
  g.graph.message(12, valueInfo('logits', [B, c.labels.length]));

  const model = new Message()
    .int(1, 8) // ir_version 8: opset 17's
    .string(2, 'timesformer-webgpu')
    .message(8, new Message().string(1, '').int(2, 17))
    .message(7, g.graph);
  return model.concat();
}
