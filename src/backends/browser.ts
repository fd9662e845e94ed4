// Making any backend in a page or a worker built by Vite: the app's worker, the benchmark page, the CLI's
// harness page and the browser tests all create backends here. One GPUDevice (one Runtime) for all of them.
//
// Vite pre-bundles onnxruntime-web, so the .wasm files its bundles look for beside themselves are not there:
// the `?url` imports tell ORT where Vite serves them (a build then emits only these two .wasm files).
import ortWebGpuMjs from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';
import ortWebGpuWasm from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import ortWasmMjs from 'onnxruntime-web/ort-wasm-simd-threaded.mjs?url';
import ortWasmWasm from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import type { InferenceBackend } from './backend';
import { createBackend, type BackendHost, type BackendName, type BackendSource } from './registry';

/** wasm EP threads: the cores (at most 4) when cross-origin isolated (SharedArrayBuffer), else 1. */
export const wasmThreads = () => (globalThis.crossOriginIsolated ? Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1)) : 1);

const browserHost: BackendHost = {
  wasmThreads,
  ortFiles: { wasm: { wasm: ortWasmWasm, mjs: ortWasmMjs }, webgpu: { wasm: ortWebGpuWasm, mjs: ortWebGpuMjs } },
};

export function createBrowserBackend(name: BackendName, source: BackendSource): Promise<InferenceBackend> {
  return createBackend(name, source, browserHost);
}
