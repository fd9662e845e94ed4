// Which backend runs a model: what the user asked for when it can run here, else the fastest that can.
// Measured on this project's machines (src/backends/README.md, `npm run bench`): on a hardware GPU our WGSL
// engine is the fastest; on a software adapter (SwiftShader, lavapipe: WebGPU emulated on the CPU) every
// WebGPU path loses to onnxruntime's wasm EP by 3–18×, so there the wasm EP runs when an ONNX export exists.
import { BACKEND_CATALOG, isBackendName, OUR_ENGINE, type BackendName } from './registry';

export type BackendChoice = 'auto' | BackendName;

export function isBackendChoice(value: unknown): value is BackendChoice {
  return value === 'auto' || isBackendName(value);
}

export interface BackendEnvironment {
  /** The WebGPU adapter, or undefined without WebGPU. */
  adapter?: { isFallback: boolean; name: string };
  /** Whether an ONNX graph of the model can be had (shipped beside it, or written by onnx-export.ts). */
  onnx: boolean;
  /** Threads the wasm EP would use. */
  wasmThreads: number;
}

/** Why `name` cannot run here, or undefined when it can. */
export function unavailable(name: BackendName, env: BackendEnvironment): string | undefined {
  if (BACKEND_CATALOG[name].gpu && !env.adapter) return 'needs WebGPU, which this browser does not offer';
  if (BACKEND_CATALOG[name].needs === 'onnx' && !env.onnx) return 'needs an ONNX export of the model (model.onnx), and this model has none';
  return undefined;
}

export function chooseBackend(choice: BackendChoice, env: BackendEnvironment): { name: BackendName; reason: string } {
  if (choice !== 'auto') {
    const why = unavailable(choice, env);
    if (!why) return { name: choice, reason: `${choice}, as chosen` };
    const auto = chooseBackend('auto', env);
    return { name: auto.name, reason: `${choice} ${why}; auto: ${auto.reason}` };
  }
  const { adapter } = env;
  if (adapter && !adapter.isFallback) return { name: OUR_ENGINE, reason: `a hardware GPU (${adapter.name}): our WGSL engine is the fastest there` };
  const where = adapter ? `a software WebGPU adapter (${adapter.name})` : 'no WebGPU';
  if (env.onnx) return { name: 'onnx-wasm', reason: `${where}: onnxruntime's wasm EP on ${env.wasmThreads} CPU thread${env.wasmThreads === 1 ? '' : 's'} is the fastest here (WebGPU is emulated on the CPU)` };
  if (adapter) return { name: OUR_ENGINE, reason: `${where} and no ONNX export of this model: our WGSL engine, the fastest WebGPU path` };
  return { name: 'tfjs-cpu', reason: `${where} and no ONNX export of this model: TensorFlow.js on the CPU` };
}
