// npm run bench -- [--iterations N] [--models tiny,small,base,hr] [--backends onnx-wasm,...|none] [--models-only] [--browser] [--baseline-device] [--out file.json]
// Benchmarks the WGSL engine in Node through Dawn (SwiftShader here; TIMESFORMER_GPU=system for a real GPU),
// or with --browser in headless Chromium (the same code in a page), and beside it, on the same models in the
// same run, the comparison backends (src/backends/) on the same random weights as the engine: onnxruntime-web
// wasm and WebGPU on our ONNX export of them (src/backends/onnx-export.ts), TensorFlow.js WebGPU and CPU.
// TimeSformer-base is left out by default on CPU adapters, where one view takes minutes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { BackendName } from '../backends/backend';
import { createNodeBackend } from '../backends/node';
import { exportTimesformerOnnx } from '../backends/onnx-export';
import { BACKEND_CATALOG, COMPARISON_BACKENDS } from '../backends/registry';
import { benchDocument, runBench, type BenchReport, type ComparisonBackend } from '../bench/bench';
import { BENCH_MODELS } from '../bench/random-model';
import type { DeviceTier, EngineDevice } from '../engine/device';
import { nodeEngineDevice } from '../engine/node-gpu';

// npm run bench -- --live [...]: live mode's clips/s and latency in Chromium (src/cli/bench-live.ts).
// npm run bench -- --load [--model base]: model load time and peak memory, checkpoint vs engine-ready copy (src/cli/bench-load.ts).
const USAGE = `usage: npm run bench -- [--iterations N] [--models tiny,small,base,hr] [--backends ${COMPARISON_BACKENDS.join(',')}|none] [--models-only] [--browser] [--baseline-device] [--out file.json]`;

function parseArgs(argv: string[]) {
  const args = { iterations: 5, models: undefined as string[] | undefined, backends: [...COMPARISON_BACKENDS], modelsOnly: false, out: '', browser: false, tier: 'adapter' as DeviceTier };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--iterations') args.iterations = Number(argv[++i]);
    else if (a === '--models') args.models = argv[++i].split(',');
    else if (a === '--backends') args.backends = argv[++i] === 'none' ? [] : (argv[i].split(',') as BackendName[]);
    else if (a === '--models-only') args.modelsOnly = true;
    else if (a === '--out') args.out = argv[++i];
    else if (a === '--browser') args.browser = true;
    else if (a === '--baseline-device') args.tier = 'baseline';
    else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  if (!(args.iterations >= 1)) throw new Error('--iterations needs a number ≥ 1');
  args.out ||= `bench-results/bench-${args.browser ? 'chromium' : 'node'}.json`;
  for (const m of args.models ?? []) if (!(m in BENCH_MODELS)) throw new Error(`unknown model '${m}' (have ${Object.keys(BENCH_MODELS).join(', ')})`);
  for (const b of args.backends) if (!COMPARISON_BACKENDS.includes(b)) throw new Error(`unknown backend '${b}' (have ${COMPARISON_BACKENDS.join(', ')}, or none)`);
  return args;
}

/** The comparison backends in Node, on the engine's random weights: tfjs directly, ORT on our ONNX export of them. */
function nodeComparisons(names: BackendName[], gpu: EngineDevice): ComparisonBackend[] {
  return names.map((name) => ({
    name,
    create: (_model, { config, weights }) =>
      createNodeBackend(name, BACKEND_CATALOG[name].needs === 'onnx' ? { onnx: exportTimesformerOnnx(config, weights), gpu } : { model: { config, weights }, gpu }),
  }));
}

type Models = (keyof typeof BENCH_MODELS)[];
const defaultModels = (isFallback: boolean): Models => (isFallback ? ['tiny', 'small'] : ['tiny', 'small', 'base', 'hr']);

async function benchNode(args: ReturnType<typeof parseArgs>): Promise<BenchReport & { runtime: string }> {
  const gpu = await nodeEngineDevice(undefined, args.tier);
  try {
    console.log(`Node ${process.version} + Dawn on ${gpu.adapter.vendor} ${gpu.adapter.architecture} ${gpu.adapter.description}${gpu.adapter.isFallback ? ' (CPU adapter)' : ''}${args.tier === 'baseline' ? ', baseline device' : ''}`);
    const models = (args.models as Models | undefined) ?? defaultModels(gpu.adapter.isFallback);
    const comparisons = nodeComparisons(args.backends, gpu);
    return { runtime: `node ${process.version} + Dawn`, ...(await runBench(gpu, { iterations: args.iterations, models, log: console.log, comparisons, modelsOnly: args.modelsOnly })) };
  } finally {
    gpu.device.destroy();
  }
}

async function benchBrowser(args: ReturnType<typeof parseArgs>): Promise<BenchReport & { runtime: string }> {
  // Imported here: Playwright and Vite are needed only in the browser (the GPU kit bundles Node's path alone).
  const { openHarness } = await import('./browser/launch');
  const session = await openHarness([], console.log, args.tier);
  try {
    const version = session.page.context().browser()?.version();
    console.log(`Chromium ${version} (headless)${args.tier === 'baseline' ? ', baseline device' : ''}`);
    const models = args.models as Models | undefined;
    // The harness page runs src/bench/page-bench.ts, the code of the app's benchmark page: the engine, and ORT
    // and tfjs beside it, on one GPUDevice.
    const report = await session.page.evaluate(
      ([iterations, chosen, backends, modelsOnly]) => window.harness.bench({ iterations, models: chosen, backends, modelsOnly }),
      [args.iterations, models, args.backends, args.modelsOnly] as const,
    );
    if (args.backends.includes('onnx-wasm')) console.log(`(onnx-wasm with ${report.wasmThreads} thread${report.wasmThreads === 1 ? '' : 's'})`);
    return { runtime: `Chromium ${version}`, ...report };
  } finally {
    await session.close();
  }
}

async function main() {
  if (process.argv.includes('--live')) return (await import('./bench-live')).benchLiveCli(process.argv.slice(2));
  if (process.argv.includes('--load')) return (await import('./bench-load')).benchLoadCli(process.argv.slice(2));
  const args = parseArgs(process.argv.slice(2));
  console.log(`median of ${args.iterations} runs after a warm-up\n`);
  const report = args.browser ? await benchBrowser(args) : await benchNode(args);
  if (args.tier === 'baseline') report.runtime += ', baseline device';
  mkdirSync(dirname(args.out), { recursive: true });
  const { runtime, ...rest } = report;
  writeFileSync(args.out, JSON.stringify(benchDocument(runtime, rest), null, 2));
  console.log(`\nJSON: ${args.out}`);
}

main().catch((e: Error) => {
  console.error(`bench: ${e.message}`);
  process.exit(1);
});
