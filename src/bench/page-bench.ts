// The benchmark in a page: our engine and every comparison backend on the random tiny/small/base models (ORT on
// our ONNX export of the same random weights), on one GPUDevice. The app's benchmark page and the CLI's
// harness (`npm run bench -- --browser`) both run this, so their JSON is the same.
import { createBrowserBackend, wasmThreads } from '../backends/browser';
import { exportTimesformerOnnx } from '../backends/onnx-export';
import { BACKEND_CATALOG, OUR_ENGINE, type BackendName } from '../backends/registry';
import type { Runtime } from '../engine/runtime';
import { runBench, type BenchModel, type BenchReport, type ComparisonBackend } from './bench';

export interface PageBenchOptions {
  iterations: number;
  /** Default: tiny and small on a software adapter, base and HR too on a GPU (as the Node bench). */
  models?: BenchModel[];
  /** Comparison backends to time beside the engine (ours is always timed). */
  backends: BackendName[];
  modelsOnly?: boolean;
  log?: (line: string) => void;
}

export type PageBenchReport = BenchReport & { wasmThreads: number };

export async function benchInPage(runtime: Runtime, options: PageBenchOptions): Promise<PageBenchReport> {
  const gpu = runtime.gpu;
  const models: BenchModel[] = options.models ?? (gpu.adapter.isFallback ? ['tiny', 'small'] : ['tiny', 'small', 'base', 'hr']);
  const comparisons: ComparisonBackend[] = options.backends
    .filter((name) => name !== OUR_ENGINE)
    .map((name) => ({
      name,
      create: (_model, weights) =>
        createBrowserBackend(name, BACKEND_CATALOG[name].needs === 'onnx' ? { onnx: exportTimesformerOnnx(weights.config, weights.weights), gpu: runtime } : { model: weights, gpu: runtime }),
    }));
  const report = await runBench(gpu, { iterations: options.iterations, models, comparisons, modelsOnly: options.modelsOnly, log: options.log });
  return { ...report, wasmThreads: wasmThreads() };
}
