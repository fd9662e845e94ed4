// Every backend once: what it is, what it needs, whether it runs on the GPU, whether it has attention maps, and
// how it is made. The app's selector, the automatic choice (choose.ts), the worker, Node's tools and both
// benchmarks read this table and nothing else about backends: a new backend is its own file plus one entry here.
// What differs between a page and Node (where onnxruntime finds its .wasm, Dawn's adaptations) is the host's
// (browser.ts, node.ts), so an entry's factory is the same everywhere.
import type { EngineDevice } from '../engine/device';
import type { ByteSink } from '../engine/engine-weights';
import { Runtime } from '../engine/runtime';
import type { EngineOptions, LoadOptions, LoadProgress } from '../engine/timesformer';
import { BackendError, type InferenceBackend } from './backend';
import { createOnnxBackend, type OnnxExecutionProvider } from './onnx';
import { createTfjsBackend, type TfjsModel } from './tfjs';
import { createWgslBackend } from './wgsl';

/** What making a backend may be given; each takes what its entry `needs`, and a GPU where its entry is `gpu`. */
export interface BackendSource {
  /** Config and weights (needs 'weights'). */
  model?: TfjsModel;
  /** The model's ONNX graph (needs 'onnx'). */
  onnx?: Uint8Array;
  /** The GPU: a device's Runtime (our engine then shares its compiled kernels), or the device itself. */
  gpu?: Runtime | EngineDevice;
  /** Our engine: where to write the engine-ready copy of the packed weights as they are uploaded. */
  keep?: ByteSink;
  /** Our engine: the load's progress (upload, compile), a way to stop it, and the clip shape to warm up. */
  onProgress?: LoadProgress;
  signal?: AbortSignal;
  warm?: LoadOptions['warm'];
  /** Our engine: the weight type and memory budgets fitted to the device (src/engine/memory-plan.ts). */
  engine?: EngineOptions;
}

/** What a backend's making takes from where it runs: a page or worker (browser.ts) or Node (node.ts). */
export interface BackendHost {
  /** Threads for onnxruntime's wasm EP. */
  wasmThreads(): number;
  /** Where each onnxruntime-web build finds its files, when a bundler moved them (Vite: `?url` imports). */
  ortFiles?: Record<OnnxExecutionProvider, { wasm: string; mjs: string }>;
  /** Readies a device for other libraries (onnxruntime, tfjs) before they are given it (Dawn in Node). */
  lendDevice?(gpu: EngineDevice): void;
  /** Makes a session of onnxruntime's WebGPU build (Node puts off V8's wasm tier-up while that build loads). */
  loadOrtWebGpu?<T>(create: () => Promise<T>): Promise<T>;
}

export interface BackendEntry {
  /** The selector's words. */
  label: string;
  /** What it runs: the model's config and weights, or an ONNX graph of the model. */
  needs: 'weights' | 'onnx';
  /** Runs on a WebGPU device (its failures are then the GPU's). */
  gpu: boolean;
  /** Attention probabilities (the explorer's maps); other capabilities come from a made backend itself. */
  attention: boolean;
  /** Class-specific explanations (a backward pass): RunOptions.explain. */
  explain: boolean;
  /** In the app's selector; the others are reached with `?backend=`. */
  offered: boolean;
  create(source: BackendSource, host: BackendHost): Promise<InferenceBackend>;
}

/** The backends by name, as `verify --backend`, `bench`, the worker and `?backend=` call them. */
export type BackendName = 'wgsl' | 'onnx-wasm' | 'onnx-webgpu' | 'tfjs-webgpu' | 'tfjs-cpu';

const need = <T>(value: T | undefined, name: BackendName, what: string): T => {
  if (value === undefined) throw new BackendError(name, `needs ${what}`);
  return value;
};
const weights = (s: BackendSource, name: BackendName) => need(s.model, name, 'the model weights');
const onnxGraph = (s: BackendSource, name: BackendName) => need(s.onnx, name, 'an ONNX export');
const gpu = (s: BackendSource, name: BackendName) => need(s.gpu, name, 'a GPU device');

/** The device of `name`'s GPU lent to another library (the host readies it first). */
function lent(s: BackendSource, name: BackendName, host: BackendHost): GPUDevice {
  const given = gpu(s, name);
  const device = given instanceof Runtime ? given.gpu : given;
  host.lendDevice?.(device);
  return device.device;
}

/** The backends, in the order the tools list them (the README's tables, `bench`'s columns). */
export const BACKEND_CATALOG: Record<BackendName, BackendEntry> = {
  wgsl: {
    label: 'WGSL engine (ours)',
    needs: 'weights',
    gpu: true,
    attention: true,
    explain: true,
    offered: true,
    create: (s) => createWgslBackend(gpu(s, 'wgsl'), weights(s, 'wgsl'), { ...s.engine, keep: s.keep, onProgress: s.onProgress, signal: s.signal, warm: s.warm }),
  },
  'onnx-wasm': {
    label: 'onnxruntime-web, wasm (CPU)',
    needs: 'onnx',
    gpu: false,
    attention: false,
    explain: false,
    offered: true,
    create: (s, host) => createOnnxBackend(onnxGraph(s, 'onnx-wasm'), { ep: 'wasm', numThreads: host.wasmThreads(), wasmPaths: host.ortFiles?.wasm }),
  },
  'onnx-webgpu': {
    label: 'onnxruntime-web, WebGPU',
    needs: 'onnx',
    gpu: true,
    attention: false,
    explain: false,
    offered: true,
    create: (s, host) => {
      const device = lent(s, 'onnx-webgpu', host), onnx = onnxGraph(s, 'onnx-webgpu');
      const create = () => createOnnxBackend(onnx, { ep: 'webgpu', device, wasmPaths: host.ortFiles?.webgpu });
      return host.loadOrtWebGpu ? host.loadOrtWebGpu(create) : create();
    },
  },
  'tfjs-webgpu': {
    label: 'TensorFlow.js, WebGPU',
    needs: 'weights',
    gpu: true,
    attention: true,
    explain: false,
    offered: true,
    create: (s, host) => createTfjsBackend(weights(s, 'tfjs-webgpu'), { backend: 'webgpu', device: lent(s, 'tfjs-webgpu', host) }),
  },
  'tfjs-cpu': {
    label: 'TensorFlow.js, CPU',
    needs: 'weights',
    gpu: false,
    attention: true,
    explain: false,
    offered: false,
    create: (s) => createTfjsBackend(weights(s, 'tfjs-cpu'), { backend: 'cpu' }),
  },
};

export const ALL_BACKENDS = Object.keys(BACKEND_CATALOG) as readonly BackendName[];
/** The one backend that is ours: the others are measured and checked against it, and it has every capability. */
export const OUR_ENGINE = 'wgsl' satisfies BackendName;
/** The backends the app offers in its selector. */
export const APP_BACKENDS: readonly BackendName[] = ALL_BACKENDS.filter((name) => BACKEND_CATALOG[name].offered);
/** The libraries beside our engine, as the benchmarks and `verify` run them. */
export const COMPARISON_BACKENDS: readonly BackendName[] = ALL_BACKENDS.filter((name) => name !== OUR_ENGINE);

export function isBackendName(value: unknown): value is BackendName {
  return typeof value === 'string' && Object.hasOwn(BACKEND_CATALOG, value);
}

/** Makes the backend `name` from what `source` holds, as `host` makes things. */
export async function createBackend(name: BackendName, source: BackendSource, host: BackendHost): Promise<InferenceBackend> {
  if (!isBackendName(name)) throw new Error(`unknown backend '${name}' (have ${ALL_BACKENDS.join(', ')})`);
  return BACKEND_CATALOG[name].create(source, host);
}
