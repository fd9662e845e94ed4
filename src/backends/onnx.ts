// onnxruntime-web as a comparison backend: an ONNX export of the model (torch.onnx, input `pixel_values`
// [1, T, 3, H, W], output `logits`), run by ORT's wasm EP (CPU) or its WebGPU EP.
//
// Which ORT build is loaded:
//   wasm   → in Node `onnxruntime-web`, whose `node` export (ort.node.min.mjs) finds its .wasm beside itself;
//            in a page or worker `onnxruntime-web/wasm` (the CPU-only build: 14 MB of wasm instead of the
//            28 MB JSEP one `onnxruntime-web` would bring), whose .wasm a bundler may move: pass `wasmPaths`.
//   webgpu → `onnxruntime-web/webgpu`: the native WebGPU EP (asyncify build). It accepts our GPUDevice, so it
//            shares the device with our engine. In Node (Dawn) call `adaptDawnForLibraries` first (node-webgpu.ts).
// An ONNX export has only what it was exported with: logits, no hidden states or attention.
import type * as Ort from 'onnxruntime-web';
import type { NamedTensors } from '../tensor';
import { BackendError, checkClip, errorMessage, SerialQueue, type ClipInput, type ClipShape, type InferenceBackend } from './backend';

export type OnnxExecutionProvider = 'wasm' | 'webgpu';

/**
 * Largest ONNX file we hand to ORT. Protobuf cannot hold more than 2 GiB, and a model whose weights sit in
 * external data files is not supported here; TimeSformer-base in float32 is 487 MB.
 */
export const MAX_ONNX_FILE_BYTES = 2 ** 31 - 1;

export interface OnnxBackendOptions {
  ep: OnnxExecutionProvider;
  /** WebGPU EP: the device to run on (share the engine's). Without it ORT asks `navigator.gpu` for its own. */
  device?: GPUDevice;
  /**
   * wasm EP threads. Default 1. More need SharedArrayBuffer (a cross-origin isolated page: COOP + COEP).
   * ORT reads this once per process, at its first session: later values are ignored.
   */
  numThreads?: number;
  /** Where ORT's `.wasm` / `.mjs` files are served, when a bundler moved them (Vite: `?url` imports). */
  wasmPaths?: Ort.Env.WasmPrefixOrFilePaths;
}

type OrtModule = typeof Ort;
const modules: Partial<Record<OnnxExecutionProvider, Promise<OrtModule>>> = {};

/** A variable, so that bundlers leave it alone: in a page it would pull in the 28 MB JSEP build. */
const NODE_BUILD = 'onnxruntime-web';
const isNode = () => typeof process !== 'undefined' && typeof process.versions?.node === 'string' && typeof window === 'undefined';

/** Each EP's ORT build, imported once. Both builds are self-contained (their own `env`, their own wasm). */
function ortFor(ep: OnnxExecutionProvider, options: OnnxBackendOptions): Promise<OrtModule> {
  return (modules[ep] ??= (async () => {
    const ort: OrtModule =
      ep === 'webgpu' ? await import('onnxruntime-web/webgpu') : isNode() ? await import(/* @vite-ignore */ NODE_BUILD) : await import('onnxruntime-web/wasm');
    ort.env.wasm.numThreads = options.numThreads ?? 1;
    if (options.wasmPaths) ort.env.wasm.wasmPaths = options.wasmPaths;
    ort.env.logLevel = 'error';
    return ort;
  })().catch((e) => {
    delete modules[ep]; // let a later call try again
    throw e;
  }));
}

/** A session over ONNX bytes. `name` is `onnx-wasm` or `onnx-webgpu`. */
export async function createOnnxBackend(model: Uint8Array, options: OnnxBackendOptions): Promise<InferenceBackend> {
  const name = options.ep === 'webgpu' ? 'onnx-webgpu' : 'onnx-wasm';
  if (options.ep !== 'wasm' && options.ep !== 'webgpu') throw new BackendError('onnx-wasm', `ep must be 'wasm' or 'webgpu', got '${options.ep}'`);
  if (!(model instanceof Uint8Array) || model.byteLength === 0) throw new BackendError(name, 'the ONNX model is empty');
  if (model.byteLength > MAX_ONNX_FILE_BYTES) {
    throw new BackendError(name, `the ONNX file is ${model.byteLength} bytes, over protobuf's 2 GiB limit (ONNX models with external data files are not supported)`);
  }
  if (options.numThreads !== undefined && !(Number.isSafeInteger(options.numThreads) && options.numThreads >= 1)) {
    throw new BackendError(name, `numThreads must be a positive integer, got ${options.numThreads}`);
  }
  if (options.ep === 'webgpu' && typeof navigator === 'undefined') {
    throw new BackendError(name, 'no navigator.gpu here (in Node, call adaptDawnForLibraries(gpu) from src/backends/node-webgpu.ts first)');
  }

  let ort: OrtModule;
  try {
    ort = await ortFor(options.ep, options);
  } catch (e) {
    throw new BackendError(name, `could not load onnxruntime-web: ${errorMessage(e)}`, { cause: e });
  }
  const executionProviders: Ort.InferenceSession.ExecutionProviderConfig[] =
    options.ep === 'webgpu' ? [{ name: 'webgpu', ...(options.device ? { device: options.device } : {}) }] : ['wasm'];
  let session: Ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(model, { executionProviders, graphOptimizationLevel: 'all' });
  } catch (e) {
    throw new BackendError(name, `could not create a session from the ONNX model: ${errorMessage(e)}`, { cause: e });
  }

  const input = session.inputMetadata.find((m) => m.name === 'pixel_values');
  if (!session.outputNames.includes('logits') || !input) {
    await session.release();
    throw new BackendError(name, `the ONNX model must take 'pixel_values' and return 'logits'; it takes [${session.inputNames}] and returns [${session.outputNames}]`);
  }
  // Static dimensions of pixel_values [1, T, 3, H, W] as exported (symbolic ones are strings).
  const declared = input.isTensor ? input.shape : [];

  const queue = new SerialQueue();
  let disposed = false;
  return {
    name,
    // ORT fixes the wasm EP's threads at its first session (1 where SharedArrayBuffer is missing).
    capabilities: { hiddenStates: false, attention: false, gpuInput: false, explain: false, threads: options.ep === 'wasm' ? ort.env.wasm.numThreads ?? 1 : null },
    run(pixels: ClipInput, shape: ClipShape): Promise<NamedTensors> {
      return queue.run(async () => {
        if (disposed) throw new BackendError(name, 'the backend was disposed');
        checkClip(name, pixels, shape);
        const dims = [1, ...shape];
        const mismatch = declared.length === 5 && declared.some((d, i) => typeof d === 'number' && d !== dims[i]);
        if (mismatch || (declared.length !== 0 && declared.length !== 5)) {
          throw new BackendError(name, `the ONNX model was exported for pixel_values [${declared}], not [${dims}]`);
        }
        const feed = new ort.Tensor('float32', pixels, dims);
        let results: Ort.InferenceSession.ReturnType;
        try {
          results = await session.run({ pixel_values: feed }, ['logits']);
        } catch (e) {
          throw new BackendError(name, `inference failed: ${errorMessage(e)}`, { cause: e });
        }
        const logits = results.logits;
        try {
          const data = logits.location === 'cpu' ? (logits.data as Float32Array) : ((await logits.getData(true)) as Float32Array);
          return new Map([['logits', { shape: [...logits.dims], data: new Float32Array(data) }]]);
        } finally {
          logits.dispose();
        }
      });
    },
    dispose() {
      return queue.run(async () => {
        if (disposed) return;
        disposed = true;
        await session.release();
      });
    },
  };
}
