// TimeSformer in TensorFlow.js ops: a comparison backend on tfjs-backend-webgpu (or tfjs-backend-cpu),
// with the weights of our LoadedModel. It follows src/reference/timesformer.ts step for step (read that
// file for the model; this one only says how each step maps onto tfjs ops).
//
// Dimension key:
//   T frames   Gh×Gw patch grid   N = Gh·Gw patches   D hidden   H heads   d = D/H   L labels
//   B sequences (1; T for space_only)   S tokens per sequence (1+N·T; 1+N for space_only)
// Activations are kept 2-D, [rows, D]; divided attention's (p, t) ↔ (t, p) regroupings are transposes.
// Token layout (divided, joint): [CLS] + patches in (p, t) order, token 1 + p·T + t.
//
// tfjs has one engine per process with one active backend: each run activates this backend's
// ('webgpu' or 'cpu'), and all runs of all TfjsBackends are queued, so several can live side by side.
import type * as TF from '@tensorflow/tfjs-core';
import type { TimesformerConfig } from '../checkpoint/config';
import { toFloat32 } from '../checkpoint/tensor';
import type { Linear, Norm, TimesformerWeights } from '../checkpoint/weights';
import { positionEmbeddings, timeEmbeddings } from '../model/embeddings';
import { clipGeometry } from '../model/geometry';
import type { NamedTensors } from '../tensor';
import { BackendError, checkClip, errorMessage, SerialQueue, type BackendName, type ClipInput, type ClipShape, type InferenceBackend, type RunOptions } from './backend';

type Tf = typeof TF;
type T2 = TF.Tensor; // 2-D in practice: [rows, columns]

export type TfjsBackendKind = 'webgpu' | 'cpu';

export interface TfjsBackendOptions {
  backend: TfjsBackendKind;
  /**
   * webgpu: the device to run on (share the engine's). Without it tfjs asks `navigator.gpu` for its own.
   * tfjs holds one WebGPU backend per process: every TfjsBackend on 'webgpu' must use the same device.
   * In Node (Dawn) call `adaptDawnForLibraries` first (node-webgpu.ts).
   */
  device?: GPUDevice;
}

/** What the forward pass needs of a model (a LoadedModel, or a random one from src/bench/random-model.ts). */
export interface TfjsModel {
  config: TimesformerConfig;
  weights: TimesformerWeights;
}

interface TfLinear {
  w: TF.Tensor2D; // [in, out]: PyTorch's [out, in] transposed once at load
  b?: TF.Tensor1D;
}
interface TfNorm {
  gamma: TF.Tensor1D;
  beta: TF.Tensor1D;
}
interface TfLayer {
  temporal?: { norm: TfNorm; qkv: TfLinear; proj: TfLinear; dense: TfLinear };
  norm1: TfNorm;
  qkv: TfLinear;
  proj: TfLinear;
  norm2: TfNorm;
  fc1: TfLinear;
  fc2: TfLinear;
}

let tfModule: Promise<Tf> | undefined;
/** The device tfjs' 'webgpu' backend was registered with by us (undefined: tfjs' own, or not yet, or lost). */
let webgpuDevice: GPUDevice | undefined;
/** tfjs' engine is global: every TfjsBackend's runs go through this one queue. */
const tfQueue = new SerialQueue();

async function activate(kind: TfjsBackendKind, device: GPUDevice | undefined): Promise<Tf> {
  const tf = await (tfModule ??= import('@tensorflow/tfjs-core').then((tf) => {
    tf.env().set('PROD', true); // no console advice ("install tfjs-node"), no debug checks
    return tf;
  }));
  if (kind === 'cpu') {
    await import('@tensorflow/tfjs-backend-cpu');
  } else {
    const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
    if (device && webgpuDevice !== device) {
      if (webgpuDevice) throw new Error('tfjs already runs its WebGPU backend on another GPUDevice (one per process, until that one is destroyed)');
      if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu'); // tfjs' own factory asks navigator.gpu for a device
      const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo; // tfjs tunes a few kernels by vendor
      const backend = new WebGPUBackend(device, info); // made here, so that its errors reach the caller
      tf.registerBackend('webgpu', () => backend, 3);
      webgpuDevice = device;
      void device.lost.then(() => {
        if (webgpuDevice === device) webgpuDevice = undefined; // a later backend may bring a new device
      });
    } else if (!device && !tf.findBackendFactory('webgpu')) {
      throw new Error('tfjs-backend-webgpu did not register itself: this context has no navigator.gpu');
    }
  }
  if (tf.getBackend() !== kind || !tf.findBackend(kind)) {
    if (!(await tf.setBackend(kind))) throw new Error(`tf.setBackend('${kind}') failed`);
  }
  return tf;
}

/** Upload the weights as tfjs tensors (Linear weights transposed to [in, out]). */
function uploadWeights(tf: Tf, w: TimesformerWeights) {
  const f32 = toFloat32;
  const linear = (l: Linear): TfLinear => {
    const [out, inp] = l.weight.shape;
    return { w: tf.tidy(() => tf.transpose(tf.tensor2d(f32(l.weight), [out, inp]))), b: l.bias && tf.tensor1d(f32(l.bias)) };
  };
  const norm = (n: Norm): TfNorm => ({ gamma: tf.tensor1d(f32(n.weight)), beta: tf.tensor1d(f32(n.bias)) });
  const [D, C, P] = w.patchEmbed.weight.shape;
  const patch = linear({ weight: { ...w.patchEmbed.weight, shape: [D, C * P * P] }, bias: w.patchEmbed.bias }); // conv [D, 3, P, P] read as [D, 3·P·P]
  const layers: TfLayer[] = w.layers.map((l) => ({
    temporal: l.temporal && { norm: norm(l.temporal.norm), qkv: linear(l.temporal.qkv), proj: linear(l.temporal.proj), dense: linear(l.temporal.dense) },
    norm1: norm(l.norm1),
    qkv: linear(l.qkv),
    proj: linear(l.proj),
    norm2: norm(l.norm2),
    fc1: linear(l.fc1),
    fc2: linear(l.fc2),
  }));
  return { patch, cls: tf.tensor2d(f32(w.clsToken), [1, D]), layers, norm: norm(w.norm), head: linear(w.head) };
}
type TfWeights = ReturnType<typeof uploadWeights>;

/** The forward pass as tfjs ops (synchronous: run it inside tf.tidy). Returns the tensors to read back. */
function forward(
  tf: Tf,
  c: TimesformerConfig,
  w: TfWeights,
  embeddings: (gh: number, gw: number, T: number) => { pos: T2; time?: T2 },
  pixels: TF.Tensor4D,
  options: RunOptions,
): Record<string, TF.Tensor> {
  const [T, C, Hpx, Wpx] = pixels.shape;
  const D = c.hiddenSize, H = c.numHeads, P = c.patchSize, eps = c.layerNormEps;
  const { Gh: gh, Gw: gw, N } = clipGeometry(c, T, Hpx, Wpx);
  const out: Record<string, TF.Tensor> = {};

  const lin = (x: T2, l: TfLinear): T2 => (l.b ? tf.add(tf.matMul(x, l.w), l.b) : tf.matMul(x, l.w));
  const norm = (x: T2, n: TfNorm): T2 => {
    const { mean, variance } = tf.moments(x, -1, true); // biased variance, as PyTorch
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), n.gamma), n.beta);
  };
  const gelu = (x: T2): T2 => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))); // exact: x·Φ(x)
  /** G sequences of S tokens; qkv [G·S, 3D] with columns [q | k | v], heads contiguous in each. */
  const attention = (qkv: T2, G: number, S: number, name: string): T2 => {
    const d = D / H;
    const [q, k, v] = tf.unstack(tf.transpose(tf.reshape(qkv, [G, S, 3, H, d]), [2, 0, 3, 1, 4])); // 3 × [G, H, S, d]
    const probs = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(d))); // [G, H, S, S]
    // 'maps': the CLS query's rows of spatial / full attention (what the explorer draws), temporal whole;
    // 'cls': those rows alone.
    const clsRows = options.attention === 'maps' || options.attention === 'cls';
    if (clsRows && !name.endsWith('temporal')) out[`${name}.cls`] = tf.reshape(tf.slice(probs, [0, 0, 0, 0], [G, H, 1, S]), [G, H, S]);
    else if (options.attention && options.attention !== 'cls') out[name] = probs;
    return tf.reshape(tf.transpose(tf.matMul(probs, v), [0, 2, 1, 3]), [G * S, D]); // [G·S, D]
  };

  // Patch embedding: im2col by reshape + transpose, each patch a row in the conv weight's (c, y, x) order.
  const cropped = Hpx === gh * P && Wpx === gw * P ? pixels : tf.slice(pixels, [0, 0, 0, 0], [T, C, gh * P, gw * P]);
  const cols = tf.reshape(tf.transpose(tf.reshape(cropped, [T, C, gh, P, gw, P]), [0, 2, 4, 1, 3, 5]), [T * N, C * P * P]);
  const patches = lin(cols, w.patch); // [T·N, D], row t·N + p

  const { pos, time } = embeddings(gh, gw, T); // [1+N, D], [T, D]
  const cls = tf.add(w.cls, tf.slice(pos, [0, 0], [1, D])); // [1, D]
  const patchPos = tf.slice(pos, [1, 0], [N, D]); // [N, D]
  const spaceOnly = c.attentionType === 'space_only';
  const B = spaceOnly ? T : 1, S = spaceOnly ? 1 + N : 1 + N * T;
  let h: T2;
  if (spaceOnly) {
    const framePatches = tf.add(tf.reshape(patches, [T, N, D]), patchPos); // [T, N, D]
    h = tf.reshape(tf.concat([tf.tile(tf.reshape(cls, [1, 1, D]), [T, 1, 1]), framePatches], 1), [T * S, D]);
  } else {
    const x = tf.add(tf.add(tf.transpose(tf.reshape(patches, [T, N, D]), [1, 0, 2]), tf.reshape(patchPos, [N, 1, D])), tf.reshape(time!, [1, T, D])); // [N, T, D]
    h = tf.concat([cls, tf.reshape(x, [N * T, D])], 0);
  }
  const emitHidden = (i: number) => {
    if (options.hiddenStates) out[`hidden_states.${i}`] = tf.reshape(h, [B, S, D]);
  };
  emitHidden(0);

  for (let l = 0; l < c.numLayers; l++) {
    const lw = w.layers[l];
    if (c.attentionType === 'divided_space_time') {
      const clsIn = tf.slice(h, [0, 0], [1, D]); // [1, D]
      const x = tf.slice(h, [1, 0], [N * T, D]); // [N·T, D] = [N, T, D]

      // 1. Temporal attention: N sequences of T tokens; CLS does not take part.
      const tw = lw.temporal!;
      const tctx = attention(lin(norm(x, tw.norm), tw.qkv), N, T, `attn.${l}.temporal`);
      const xt = tf.add(x, lin(lin(tctx, tw.proj), tw.dense)); // [N·T, D]

      // 2. Spatial attention: T sequences [CLS, the N patches of frame t].
      const byFrame = tf.transpose(tf.reshape(xt, [N, T, D]), [1, 0, 2]); // [T, N, D]
      const spatialIn = tf.reshape(tf.concat([tf.tile(tf.reshape(clsIn, [1, 1, D]), [T, 1, 1]), byFrame], 1), [T * (1 + N), D]);
      const sctx = attention(lin(norm(spatialIn, lw.norm1), lw.qkv), T, 1 + N, `attn.${l}.spatial`);
      const spatialOut = tf.reshape(lin(sctx, lw.proj), [T, 1 + N, D]);

      // 3. Residual: CLS += mean over frames of its T outputs; patches (back in (p, t) order) += theirs.
      const clsOut = tf.add(clsIn, tf.mean(tf.reshape(tf.slice(spatialOut, [0, 0, 0], [T, 1, D]), [T, D]), 0, true));
      const patchOut = tf.reshape(tf.transpose(tf.slice(spatialOut, [0, 1, 0], [T, N, D]), [1, 0, 2]), [N * T, D]);
      h = tf.concat([clsOut, tf.add(xt, patchOut)], 0);
    } else {
      // Joint space-time (one sequence of 1+N·T) or space-only (T sequences of 1+N): a pre-LN ViT block.
      const ctx = attention(lin(norm(h, lw.norm1), lw.qkv), B, S, `attn.${l}.full`);
      h = tf.add(h, lin(ctx, lw.proj));
    }
    h = tf.add(h, lin(gelu(lin(norm(h, lw.norm2), lw.fc1)), lw.fc2)); // MLP
    emitHidden(l + 1);
  }

  const last = norm(h, w.norm);
  if (options.hiddenStates) out.last_hidden_state = tf.reshape(last, [B, S, D]);
  const clsRows = tf.reshape(tf.slice(tf.reshape(last, [B, S, D]), [0, 0, 0], [B, 1, D]), [B, D]); // each sequence's CLS
  out.logits = lin(clsRows, w.head); // [B, L]
  return out;
}

/** A TfjsBackend: `tfjs-webgpu` or `tfjs-cpu`. */
export async function createTfjsBackend(model: TfjsModel, options: TfjsBackendOptions): Promise<InferenceBackend> {
  const kind = options.backend;
  const name: BackendName = kind === 'cpu' ? 'tfjs-cpu' : 'tfjs-webgpu';
  if (kind !== 'cpu' && kind !== 'webgpu') throw new BackendError('tfjs-cpu', `backend must be 'webgpu' or 'cpu', got '${kind}'`);
  const device = options.device;
  const c = model.config;
  if (c.numChannels !== 3) throw new BackendError(name, `only 3-channel models are supported, config has ${c.numChannels}`);

  const { tf, weights } = await tfQueue.run(async () => {
    try {
      const tf = await activate(kind, device);
      return { tf, weights: uploadWeights(tf, model.weights) }; // on this backend (cpu: JS arrays; webgpu: buffers)
    } catch (e) {
      throw new BackendError(name, `could not start tfjs on '${kind}': ${errorMessage(e)}`, { cause: e });
    }
  });
  // Position / time embeddings per (grid, T), nearest-resized as the reference does; kept until dispose.
  const tables = new Map<string, { pos: T2; time?: T2 }>();
  const embeddings = (gh: number, gw: number, T: number) => {
    const key = `${gh}x${gw}x${T}`;
    let e = tables.get(key);
    if (!e) {
      // Made inside the run's tf.tidy: tf.keep stops that scope from disposing them.
      e = {
        pos: tf.keep(tf.tensor2d(positionEmbeddings(c, model.weights, gh, gw), [1 + gh * gw, c.hiddenSize])),
        time: model.weights.timeEmbed ? tf.keep(tf.tensor2d(timeEmbeddings(c, model.weights, T), [T, c.hiddenSize])) : undefined,
      };
      tables.set(key, e);
    }
    return e;
  };

  let disposed = false;
  return {
    name,
    capabilities: { hiddenStates: true, attention: true, gpuInput: false, explain: false, threads: kind === 'cpu' ? 1 : null },
    run(pixels: ClipInput, shape: ClipShape, options: RunOptions = {}): Promise<NamedTensors> {
      return tfQueue.run(async () => {
        if (disposed) throw new BackendError(name, 'the backend was disposed');
        checkClip(name, pixels, shape);
        const [, , Hpx, Wpx] = shape;
        if (Hpx < c.patchSize || Wpx < c.patchSize) throw new BackendError(name, `frames of ${Hpx}×${Wpx} are smaller than one ${c.patchSize}-pixel patch`);
        let outputs: Record<string, TF.Tensor>;
        try {
          await activate(kind, device); // another TfjsBackend may have switched tfjs to its backend
          outputs = tf.tidy(() => forward(tf, c, weights, embeddings, tf.tensor4d(pixels, shape), options));
        } catch (e) {
          throw new BackendError(name, `forward pass failed: ${errorMessage(e)}`, { cause: e });
        }
        const result: NamedTensors = new Map();
        try {
          const entries = Object.entries(outputs);
          const data = await Promise.all(entries.map(([, t]) => t.data() as Promise<Float32Array>)); // one readback each, overlapped
          entries.forEach(([key, t], i) => result.set(key, { shape: [...t.shape], data: data[i] }));
        } catch (e) {
          throw new BackendError(name, `reading the outputs failed: ${errorMessage(e)}`, { cause: e });
        } finally {
          tf.dispose(outputs);
        }
        return result;
      });
    },
    dispose() {
      return tfQueue.run(async () => {
        if (disposed) return;
        disposed = true;
        tf.dispose(weights as unknown as TF.TensorContainer);
        for (const e of tables.values()) tf.dispose(e as unknown as TF.TensorContainer);
        tables.clear();
      });
    },
  };
}
