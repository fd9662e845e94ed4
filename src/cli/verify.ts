// npm run verify -- <model_dir> <expected.safetensors> [--backend cpu|wgsl|onnx-wasm|onnx-webgpu|tfjs-cpu|tfjs-webgpu] [--browser] [--baseline-device] [--tolerance X]
// Runs a backend on the reference clip in the expected file and compares every output it holds.
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { loadModel } from '../checkpoint/load';
import { folderSource } from '../checkpoint/node-source';
import { readSafetensors } from '../checkpoint/safetensors';
import { toFloat32 } from '../checkpoint/tensor';
import { compareOutputs, EXPLANATION, explainedClasses, formatComparison, verdict } from '../verify/compare';
import { ALL_BACKENDS, OUR_ENGINE } from '../backends/registry';
import type { DeviceTier } from '../engine/device';
import { GPU_BACKENDS, nodeBackends } from './node-backends';

/** Attention rollout without discard, `[1 + N·T]` (divided, joint) or `[T, 1 + N]` (space-only). */
const ROLLOUT = /^rollout\.(mean|max|min)$/;

const USAGE = `usage: npm run verify -- <model_dir> <expected.safetensors> [--backend ${['cpu', ...ALL_BACKENDS].join('|')}] [--browser] [--baseline-device] [--tolerance X]`;

function parseArgs(argv: string[]) {
  const positional: string[] = [];
  let backend = 'cpu';
  let tolerance: number | undefined;
  let browser = false;
  let tier: DeviceTier = 'adapter';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--backend') backend = argv[++i];
    else if (a === '--browser') browser = true;
    else if (a === '--baseline-device') tier = 'baseline';
    else if (a === '--tolerance') tolerance = Number(argv[++i]);
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}\n${USAGE}`);
    else positional.push(a);
  }
  if (positional.length !== 2) throw new Error(USAGE);
  if (tolerance !== undefined && !(tolerance >= 0)) throw new Error(`--tolerance needs a non-negative number\n${USAGE}`);
  if (!(backend in nodeBackends)) throw new Error(`unknown backend '${backend}' (have: ${Object.keys(nodeBackends).join(', ')})`);
  if (browser && backend !== OUR_ENGINE) throw new Error(`--browser runs the ${OUR_ENGINE} backend; '${backend}' runs in Node only`);
  if (tier === 'baseline' && !GPU_BACKENDS.includes(backend)) throw new Error(`--baseline-device asks for a GPU device: '${backend}' runs on the CPU`);
  return { modelDir: positional[0], expectedPath: positional[1], backend, tolerance, browser, tier };
}

/** The same check in headless Chromium: the page loads the model folder and expected file over HTTP. */
async function verifyInBrowser(args: ReturnType<typeof parseArgs>): Promise<number> {
  // Imported here: Playwright and Vite are needed only in the browser (the GPU kit bundles Node's path alone).
  const { openHarness, serveLocalFolder } = await import('./browser/launch');
  const session = await openHarness([serveLocalFolder('model', args.modelDir), serveLocalFolder('expected', dirname(args.expectedPath))], undefined, args.tier);
  try {
    const expectedUrl = `/__local/expected/${basename(args.expectedPath)}`;
    const run = await session.page.evaluate(([m, e, t]) => window.harness.verify(m, e, t), ['/__local/model', expectedUrl, args.tolerance] as const);
    console.log(`model ${args.modelDir}; backend wgsl in Chromium on ${run.adapter.vendor} ${run.adapter.architecture}${args.tier === 'baseline' ? ', baseline device' : ''} (bindings ≤ ${run.maxBindingBytes / 2 ** 20} MiB, gemm ${run.gemmVariant})`);
    for (const r of run.results) console.log(formatComparison(r));
    console.log(run.verdict);
    return run.verdict === 'verify: PASS' ? 0 : 1;
  } finally {
    await session.close();
  }
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.browser) return verifyInBrowser(args);
  const backend = nodeBackends[args.backend];
  const model = await loadModel(folderSource(args.modelDir));
  const expected = readSafetensors(new Uint8Array(await readFile(args.expectedPath)), args.expectedPath);
  const pixelValues = expected.get('pixel_values');
  if (!pixelValues || pixelValues.shape.length !== 5 || pixelValues.shape[0] !== 1) {
    throw new Error(`${args.expectedPath} has no pixel_values [1, T, 3, H, W]`);
  }
  const pixels = { shape: pixelValues.shape.slice(1), data: toFloat32(pixelValues) };
  console.log(`model ${args.modelDir} (${model.config.attentionType}, ${model.format}); backend ${args.backend}${args.tier === 'baseline' ? ' on a baseline device' : ''}; clip [${pixels.shape}]`);
  if (backend.describe) console.log(backend.describe(model));
  // The rollout is compared whenever the expected file holds it: a backend that cannot produce it fails.
  const rollout = [...expected.keys()].some((name) => ROLLOUT.test(name));
  // So are the class-specific explanations, for each class the file names.
  const explain = explainedClasses(expected.keys());
  for (const c of explain) {
    if (c >= model.config.labels.length) throw new Error(`${args.expectedPath} explains class ${c}; the model has ${model.config.labels.length} labels`);
  }
  // Attention probabilities and hidden states are made only when the file holds them (TimeSformer-HR's spatial
  // probabilities are 473 MB a layer: more than one buffer holds on many GPUs).
  const names = [...expected.keys()];
  const probabilities = names.some((name) => name.startsWith('attn.')), hiddenStates = names.some((name) => name.includes('hidden_state'));
  const outputs = await backend.run(model, pixels, { rollout, explain, probabilities, hiddenStates, tier: args.tier });
  const tolerances = args.tolerance === undefined ? backend.tolerances : { ...backend.tolerances, uniform: args.tolerance };
  const compared = backend.compares ? new Map([...expected].filter(([name]) => backend.compares!(name) || ROLLOUT.test(name) || EXPLANATION.test(name))) : expected;
  const results = compareOutputs(outputs, compared, tolerances);
  for (const r of results) console.log(formatComparison(r));
  const line = verdict(results);
  console.log(line);
  return line === 'verify: PASS' ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(`verify: ${e.message}`);
    console.log('verify: FAIL (error)');
    process.exit(1);
  },
);
