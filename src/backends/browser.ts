// Making any backend in a page or a worker built by Vite: the app's worker, the benchmark page, the CLI's
// harness page and the browser tests all create backends here. One GPUDevice (one Runtime) for all of them.
//
// Vite pre-bundles onnxruntime-web, so the .wasm files its bundles look for beside themselves are not there:
// the `?url` imports tell ORT where Vite serves them (a build then emits only these two .wasm files).
import ortWebGpuMjs from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';
import ortWebGpuWasm from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import ortWasmMjs from 'onnxruntime-web/ort-wasm-simd-threaded.mjs?url';
import ortWasmWasm from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import type { ByteSink } from '../engine/engine-weights';
import type { Runtime } from '../engine/runtime';
import type { EngineOptions, LoadOptions, LoadProgress } from '../engine/timesformer';
import { BackendError, type BackendName, type InferenceBackend } from './backend';
import { createOnnxBackend } from './onnx';
import { createTfjsBackend, type TfjsModel } from './tfjs';
import { createWgslBackend } from './wgsl';

/** wasm EP threads: the cores (at most 4) when cross-origin isolated (SharedArrayBuffer), else 1. */
export const wasmThreads = () => (globalThis.crossOriginIsolated ? Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1)) : 1);

export interface BackendSource {
  /** The ONNX export (onnx-*). */
  onnx?: Uint8Array;
  /** Config and weights (wgsl, tfjs-*). */
  model?: TfjsModel;
  /** wgsl: where to write the engine-ready copy of the packed weights as they are uploaded. */
  keep?: ByteSink;
  /** wgsl: the load's progress (upload, compile), a way to stop it, and the clip shape to warm up (LoadOptions). */
  onProgress?: LoadProgress;
  signal?: AbortSignal;
  warm?: LoadOptions['warm'];
  /** The device's Runtime (the WebGPU backends run on its device; wgsl shares its kernels). */
  runtime?: Runtime;
  /** wgsl: the weight type and memory budgets fitted to the device (src/engine/memory-plan.ts). */
  engine?: EngineOptions;
}

export async function createBrowserBackend(name: BackendName, source: BackendSource): Promise<InferenceBackend> {
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new BackendError(name, `needs ${what}`);
    return value;
  };
  switch (name) {
    case 'wgsl':
      return createWgslBackend(need(source.runtime, 'a GPU device'), need(source.model, 'the model weights'), { ...source.engine, keep: source.keep, onProgress: source.onProgress, signal: source.signal, warm: source.warm });
    case 'onnx-wasm':
      return createOnnxBackend(need(source.onnx, 'an ONNX export'), { ep: 'wasm', numThreads: wasmThreads(), wasmPaths: { wasm: ortWasmWasm, mjs: ortWasmMjs } });
    case 'onnx-webgpu':
      return createOnnxBackend(need(source.onnx, 'an ONNX export'), { ep: 'webgpu', device: need(source.runtime, 'a GPU device').device, wasmPaths: { wasm: ortWebGpuWasm, mjs: ortWebGpuMjs } });
    case 'tfjs-webgpu':
      return createTfjsBackend(need(source.model, 'the model weights'), { backend: 'webgpu', device: need(source.runtime, 'a GPU device').device });
    case 'tfjs-cpu':
      return createTfjsBackend(need(source.model, 'the model weights'), { backend: 'cpu' });
  }
}
