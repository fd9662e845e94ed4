// npm run bench -- [--iterations N] [--models tiny,small,base] [--browser] [--out file.json]
// Benchmarks the WGSL engine in Node through Dawn (SwiftShader here; TIMESFORMER_GPU=system for a real GPU),
// or with --browser in headless Chromium (the same code in a page).
// TimeSformer-base is left out by default on CPU adapters, where one view takes minutes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { runBench, type BenchReport } from '../bench/bench';
import { BENCH_MODELS } from '../bench/random-model';
import { nodeEngineDevice } from '../engine/node-gpu';
import { openHarness } from './browser/launch';

function parseArgs(argv: string[]) {
  const args = { iterations: 5, models: undefined as string[] | undefined, out: '', browser: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--iterations') args.iterations = Number(argv[++i]);
    else if (a === '--models') args.models = argv[++i].split(',');
    else if (a === '--out') args.out = argv[++i];
    else if (a === '--browser') args.browser = true;
    else throw new Error(`unknown option ${a}\nusage: npm run bench -- [--iterations N] [--models tiny,small,base] [--browser] [--out file.json]`);
  }
  if (!(args.iterations >= 1)) throw new Error('--iterations needs a number ≥ 1');
  args.out ||= `bench-results/bench-${args.browser ? 'chromium' : 'node'}.json`;
  for (const m of args.models ?? []) if (!(m in BENCH_MODELS)) throw new Error(`unknown model '${m}' (have ${Object.keys(BENCH_MODELS).join(', ')})`);
  return args;
}

type Models = (keyof typeof BENCH_MODELS)[];
const defaultModels = (isFallback: boolean): Models => (isFallback ? ['tiny', 'small'] : ['tiny', 'small', 'base']);

async function benchNode(args: ReturnType<typeof parseArgs>): Promise<BenchReport & { runtime: string }> {
  const gpu = await nodeEngineDevice();
  try {
    console.log(`Node ${process.version} + Dawn on ${gpu.adapter.vendor} ${gpu.adapter.architecture} ${gpu.adapter.description}${gpu.adapter.isFallback ? ' (CPU adapter)' : ''}`);
    const models = (args.models as Models | undefined) ?? defaultModels(gpu.adapter.isFallback);
    return { runtime: `node ${process.version} + Dawn`, ...(await runBench(gpu, { iterations: args.iterations, models, log: console.log })) };
  } finally {
    gpu.device.destroy();
  }
}

async function benchBrowser(args: ReturnType<typeof parseArgs>): Promise<BenchReport & { runtime: string }> {
  const session = await openHarness([], console.log);
  try {
    const version = session.page.context().browser()?.version();
    console.log(`Chromium ${version} (headless)`);
    const models = args.models as Models | undefined;
    const report = await session.page.evaluate(async ([iterations, chosen]) => {
      const info = await navigator.gpu.requestAdapter();
      const fallback = (info?.info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter ?? true;
      return window.harness.bench({ iterations, models: chosen ?? (fallback ? ['tiny', 'small'] : ['tiny', 'small', 'base']) });
    }, [args.iterations, models] as const);
    return { runtime: `Chromium ${version}`, ...report };
  } finally {
    await session.close();
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  console.log(`median of ${args.iterations} runs after a warm-up\n`);
  const report = args.browser ? await benchBrowser(args) : await benchNode(args);
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, JSON.stringify({ date: new Date().toISOString(), ...report }, null, 2));
  console.log(`\nJSON: ${args.out}`);
}

main().catch((e: Error) => {
  console.error(`bench: ${e.message}`);
  process.exit(1);
});
