// Node only: create any backend from a model folder — for `npm run verify`, `npm run bench` and the vitest
// tests. WebGPU backends run on Dawn (npm `webgpu`) with the adaptations of node-webgpu.ts.
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { BackendError, type InferenceBackend } from './backend';
import { adaptDawnForLibraries } from './node-webgpu';
import { MAX_ONNX_FILE_BYTES } from './onnx';
import { BACKEND_CATALOG, createBackend, type BackendHost, type BackendName, type BackendSource } from './registry';

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

const nodeHost: BackendHost = {
  wasmThreads: () => 1,
  lendDevice: adaptDawnForLibraries,
  async loadOrtWebGpu(create) {
    if (ortWebGpuLoaded) return create();
    setFlagsFromString('--wasm-tiering-budget=1000000000');
    try {
      const made = await create();
      ortWebGpuLoaded = true;
      return made;
    } finally {
      setFlagsFromString(`--wasm-tiering-budget=${V8_DEFAULT_WASM_TIERING_BUDGET}`);
    }
  },
};

/** A backend in Node; the GPU is a Dawn device (`nodeEngineDevice()`), the ONNX graph may be given as a file. */
export async function createNodeBackend(name: BackendName, source: BackendSource & { onnxPath?: string }): Promise<InferenceBackend> {
  const { onnxPath, ...given } = source;
  const readsFile = onnxPath !== undefined && !given.onnx && BACKEND_CATALOG[name]?.needs === 'onnx';
  return createBackend(name, readsFile ? { ...given, onnx: await readOnnxFile(onnxPath, name) } : given, nodeHost);
}
