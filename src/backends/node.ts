// Node only: create any comparison backend from a model folder — for `npm run verify`, `npm run bench` and
// the vitest tests. WebGPU backends run on Dawn (npm `webgpu`) with the adaptations of node-webgpu.ts.
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import type { EngineDevice } from '../engine/device';
import { BackendError, type BackendName, type InferenceBackend } from './backend';
import { adaptDawnForLibraries } from './node-webgpu';
import { createOnnxBackend, MAX_ONNX_FILE_BYTES } from './onnx';
import { createTfjsBackend, type TfjsModel } from './tfjs';

export const BACKEND_NAMES: readonly BackendName[] = ['onnx-wasm', 'onnx-webgpu', 'tfjs-webgpu', 'tfjs-cpu'];
export const needsGpu = (name: BackendName) => name.endsWith('webgpu');

/**
 * The ONNX export that goes with a model folder: `<model_dir>/model.onnx`, else `<model_dir>/../model.onnx`
 * (the fixtures keep it beside `model/`). Undefined when neither exists.
 */
export function findOnnxFile(modelDir: string): string | undefined {
  return [join(modelDir, 'model.onnx'), join(dirname(modelDir), 'model.onnx')].find((p) => existsSync(p) && statSync(p).isFile());
}

export async function readOnnxFile(path: string, backend: BackendName = 'onnx-wasm'): Promise<Uint8Array> {
  const size = statSync(path).size;
  if (size > MAX_ONNX_FILE_BYTES) throw new BackendError(backend, `${path} is ${size} bytes, over the ${MAX_ONNX_FILE_BYTES}-byte limit`);
  const buf = await readFile(path);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * V8's default `--wasm-tiering-budget` (Node 20 and 22). onnxruntime-web's WebGPU build (asyncify, 26 MB of
 * wasm) stalls Node for 45–180 s while V8 tiers one of its functions up to TurboFan during the first session's
 * creation: the main thread sits idle while two compiler threads run. With tier-up put off while that build
 * instantiates, the session is ready in about 1 s. Other wasm modules (the wasm EP's) keep the default.
 */
const V8_DEFAULT_WASM_TIERING_BUDGET = 1_800_000;
let ortWebGpuLoaded = false;

async function createOnnxWebGpuInNode(bytes: Uint8Array, gpu: EngineDevice): Promise<InferenceBackend> {
  adaptDawnForLibraries(gpu);
  if (ortWebGpuLoaded) return createOnnxBackend(bytes, { ep: 'webgpu', device: gpu.device });
  setFlagsFromString('--wasm-tiering-budget=1000000000');
  try {
    const backend = await createOnnxBackend(bytes, { ep: 'webgpu', device: gpu.device });
    ortWebGpuLoaded = true;
    return backend;
  } finally {
    setFlagsFromString(`--wasm-tiering-budget=${V8_DEFAULT_WASM_TIERING_BUDGET}`);
  }
}

export interface NodeBackendSource {
  /** For tfjs: the loaded (or random) model. */
  model?: TfjsModel;
  /** For onnx: the ONNX file's path, or the model's bytes (e.g. written by exportTimesformerOnnx). */
  onnxPath?: string;
  onnxBytes?: Uint8Array;
  /** For the WebGPU backends: a Dawn device (`nodeEngineDevice()`), shared with the engine. */
  gpu?: EngineDevice;
}

export async function createNodeBackend(name: BackendName, source: NodeBackendSource): Promise<InferenceBackend> {
  if (!BACKEND_NAMES.includes(name)) throw new Error(`unknown backend '${name}' (have ${BACKEND_NAMES.join(', ')})`);
  if (needsGpu(name) && !source.gpu) throw new BackendError(name, 'needs a GPU device (nodeEngineDevice())');
  if (name === 'onnx-wasm' || name === 'onnx-webgpu') {
    if (!source.onnxPath && !source.onnxBytes) throw new BackendError(name, 'needs an ONNX file (model.onnx in or beside the model folder)');
    const bytes = source.onnxBytes ?? (await readOnnxFile(source.onnxPath!, name));
    return name === 'onnx-wasm' ? createOnnxBackend(bytes, { ep: 'wasm', numThreads: 1 }) : createOnnxWebGpuInNode(bytes, source.gpu!);
  }
  if (!source.model) throw new BackendError(name, 'needs the model (config and weights)');
  if (name === 'tfjs-cpu') return createTfjsBackend(source.model, { backend: 'cpu' });
  adaptDawnForLibraries(source.gpu!);
  return createTfjsBackend(source.model, { backend: 'webgpu', device: source.gpu!.device });
}
