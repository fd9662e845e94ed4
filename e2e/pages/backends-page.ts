// The comparison backends (src/backends/) in a real page: the browser side of e2e/backends.spec.ts and of
// `npm run bench -- --browser`. Exposes `window.backends`. One GPUDevice for the page, shared by our engine,
// onnxruntime-web's WebGPU EP and tfjs-backend-webgpu.
//
// Vite pre-bundles onnxruntime-web, so the .wasm files its bundles look for beside themselves are not there:
// the `?url` imports below tell ORT where Vite serves them (the app's worker will do the same).
import ortWebGpuMjs from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';
import ortWebGpuWasm from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import ortWasmMjs from 'onnxruntime-web/ort-wasm-simd-threaded.mjs?url';
import ortWasmWasm from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import type { BackendName, ClipShape, InferenceBackend } from '../../src/backends/backend';
import { createOnnxBackend } from '../../src/backends/onnx';
import { createTfjsBackend, type TfjsModel } from '../../src/backends/tfjs';
import { BENCH_ONNX_FIXTURES, runBench, type BenchReport, type ComparisonBackend } from '../../src/bench/bench';
import type { BENCH_MODELS } from '../../src/bench/random-model';
import { loadModel } from '../../src/checkpoint/load';
import { readSafetensors } from '../../src/checkpoint/safetensors';
import { urlSource } from '../../src/checkpoint/source';
import { toFloat32 } from '../../src/checkpoint/tensor';
import { requestEngineDevice, type EngineDevice } from '../../src/engine/device';
import { compareOutputs, verdict, WGSL_TOLERANCES, type Comparison } from '../../src/verify/compare';

let device: Promise<EngineDevice> | undefined;
const gpu = () => {
  if (!navigator.gpu) throw new Error('this browser has no WebGPU (navigator.gpu is missing)');
  return (device ??= requestEngineDevice(navigator.gpu, (reason) => console.log(reason)));
};

/** wasm EP threads: all cores when the page is cross-origin isolated (SharedArrayBuffer), else 1. */
const wasmThreads = () => (globalThis.crossOriginIsolated ? Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1)) : 1);

async function fetchBytes(url: string): Promise<Uint8Array | undefined> {
  const response = await fetch(url);
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`fetching ${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function createBackend(name: BackendName, source: { onnx?: Uint8Array; model?: TfjsModel }): Promise<InferenceBackend> {
  switch (name) {
    case 'onnx-wasm':
      return createOnnxBackend(source.onnx!, { ep: 'wasm', numThreads: wasmThreads(), wasmPaths: { wasm: ortWasmWasm, mjs: ortWasmMjs } });
    case 'onnx-webgpu':
      return createOnnxBackend(source.onnx!, { ep: 'webgpu', device: (await gpu()).device, wasmPaths: { wasm: ortWebGpuWasm, mjs: ortWebGpuMjs } });
    case 'tfjs-webgpu':
      return createTfjsBackend(source.model!, { backend: 'webgpu', device: (await gpu()).device });
    case 'tfjs-cpu':
      return createTfjsBackend(source.model!, { backend: 'cpu' });
  }
}

export interface BackendVerifyResult {
  backend: BackendName;
  results: Comparison[];
  verdict: string;
  /** Session creation / weight upload, then the first run (shader compilation included). */
  setupMs: number;
  firstRunMs: number;
  wasmThreads: number;
}

/**
 * Run one backend on a fixture's clip and compare with its expected outputs: logits for ORT (an ONNX export
 * has nothing else), everything for tfjs.
 */
async function verify(name: BackendName, fixtureUrl: string): Promise<BackendVerifyResult> {
  const expectedBytes = await fetchBytes(`${fixtureUrl}/expected.safetensors`);
  if (!expectedBytes) throw new Error(`no ${fixtureUrl}/expected.safetensors`);
  const expected = readSafetensors(expectedBytes, 'expected.safetensors');
  const pv = expected.get('pixel_values');
  if (!pv || pv.shape.length !== 5) throw new Error(`${fixtureUrl}/expected.safetensors has no pixel_values [1, T, 3, H, W]`);
  const isOnnx = name.startsWith('onnx');
  const onnx = isOnnx ? await fetchBytes(`${fixtureUrl}/model.onnx`) : undefined;
  if (isOnnx && !onnx) throw new Error(`no ${fixtureUrl}/model.onnx`);
  const model = isOnnx ? undefined : await loadModel(urlSource(`${fixtureUrl}/model`));

  const t0 = performance.now();
  const backend = await createBackend(name, { onnx, model });
  const setupMs = performance.now() - t0;
  try {
    const t1 = performance.now();
    const outputs = await backend.run(toFloat32(pv), pv.shape.slice(1) as ClipShape, { hiddenStates: true, attention: true });
    const firstRunMs = performance.now() - t1;
    const compared = isOnnx ? new Map([['logits', expected.get('logits')!]]) : expected;
    const results = compareOutputs(outputs, compared, WGSL_TOLERANCES);
    return { backend: name, results, verdict: verdict(results), setupMs, firstRunMs, wasmThreads: wasmThreads() };
  } finally {
    await backend.dispose();
  }
}

export interface PageBenchOptions {
  iterations: number;
  models?: (keyof typeof BENCH_MODELS)[];
  backends: BackendName[];
  modelsOnly?: boolean;
}

/** `runBench` with the comparison backends made here: ORT on the fixtures' ONNX exports, tfjs on the engine's weights. */
async function bench(options: PageBenchOptions): Promise<BenchReport & { wasmThreads: number }> {
  const engineDevice = await gpu();
  const models = options.models ?? (engineDevice.adapter.isFallback ? ['tiny', 'small'] : ['tiny', 'small', 'base']);
  const comparisons: ComparisonBackend[] = options.backends.map((name) => ({
    name,
    async create(model, weights) {
      if (!name.startsWith('onnx')) return createBackend(name, { model: weights });
      const folder = BENCH_ONNX_FIXTURES[model];
      const onnx = folder && (await fetchBytes(`/fixtures/timesformer/${folder}/model.onnx`));
      if (!onnx) return { skip: `no ONNX export of the ${model} model under /fixtures/` };
      return createBackend(name, { onnx });
    },
  }));
  const report = await runBench(engineDevice, { iterations: options.iterations, models, comparisons, modelsOnly: options.modelsOnly, log: (line) => console.log(line) });
  return { ...report, wasmThreads: wasmThreads() };
}

declare global {
  interface Window {
    backends: { verify: typeof verify; bench: typeof bench };
  }
}
window.backends = { verify, bench };
