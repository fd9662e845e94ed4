// npm run bench -- --load [--model base|small|tiny|hr] [--dir DIR] [--prepare-only]: how long a model takes to be ready on our
// engine, and its peak memory, from the checkpoint (parse, pack, upload, compile) and from its engine-ready copy
// (stream, compile), in Node through Dawn. Each load runs in a fresh process, so each peak (VmHWM, which on a CPU
// adapter holds the GPU buffers too) is its own; the autotuner's picks are remembered in both, as in the app.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { loadModel } from '../checkpoint/load';
import { folderSource } from '../checkpoint/node-source';
import { BENCH_MODELS, randomCheckpoint } from '../bench/random-model';
import { exportPicks, rememberPicks } from '../engine/autotune';
import { copyTail, openCopy, packedBytes, weightDType, type ByteSource } from '../engine/engine-weights';
import { nodeEngineDevice } from '../engine/node-gpu';
import { Runtime } from '../engine/runtime';
import { TimesformerEngine } from '../engine/timesformer';

interface LoadResult {
  from: 'checkpoint' | 'engine-ready copy';
  ms: { files: number; upload: number; compile: number; total: number };
  /** Peak resident memory of the load, above the process's before it began (Node, Dawn, the device, the compiler). */
  peakBytes: number;
  /** Peak of the JS heap and ArrayBuffers (sampled every 10 ms) plus the engine's GPU buffers (weights and plan). */
  peakHeapAndBuffers: number;
}

const peakRss = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
const rss = () => process.memoryUsage().rss;

/** A file read in ranges (Node's counterpart of the app's OPFS copy). */
async function fileSource(path: string): Promise<ByteSource & { close(): Promise<void> }> {
  const file = await open(path, 'r');
  return {
    size: (await stat(path)).size,
    async read(offset, length, into) {
      const out = into ? into.subarray(0, length) : new Uint8Array(length);
      const { bytesRead } = await file.read(out, 0, length, offset);
      return out.subarray(0, bytesRead);
    },
    close: () => file.close(),
  };
}

/** A random-weight checkpoint folder (config.json + model.safetensors, f32) for `name`, written once. */
function writeCheckpoint(dir: string, name: keyof typeof BENCH_MODELS) {
  if (existsSync(join(dir, 'model.safetensors'))) return;
  mkdirSync(dir, { recursive: true });
  const { config: c, tensors } = randomCheckpoint(name);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    model_type: 'timesformer', image_size: c.imageSize, patch_size: c.patchSize, num_channels: 3, num_frames: c.numFrames, hidden_size: c.hiddenSize,
    num_hidden_layers: c.numLayers, num_attention_heads: c.numHeads, intermediate_size: c.intermediateSize, hidden_act: 'gelu', layer_norm_eps: 1e-6,
    qkv_bias: true, attention_type: c.attentionType, id2label: Object.fromEntries(c.labels.map((l, i) => [i, l])),
  }));
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [n, t] of tensors) {
    header[n] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, (offset += t.bytes.byteLength)] };
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const size = new Uint8Array(8);
  new DataView(size.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  writeFileSync(join(dir, 'model.safetensors'), Buffer.concat([size, json, ...[...tensors.values()].map((t) => t.bytes)]));
}

/** One load in this process: 'prime' also writes the copy and the picks the later loads use. */
async function child(mode: 'prime' | 'checkpoint' | 'copy', dir: string): Promise<LoadResult> {
  const gpu = await nodeEngineDevice();
  const rt = new Runtime(gpu);
  const picksFile = join(dir, 'picks.json'), copyFile = join(dir, 'engine-ready.bin');
  if (mode !== 'prime') rememberPicks(rt, JSON.parse(readFileSync(picksFile, 'utf8')));
  const before = rss();
  const heap = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const heapBefore = heap();
  let heapPeak = heapBefore;
  const sampler = setInterval(() => (heapPeak = Math.max(heapPeak, heap())), 10);
  const t0 = performance.now();
  const ms = { files: 0, upload: 0, compile: 0, total: 0 };
  let stage: 'files' | 'upload' | 'compile' = 'files', since = t0;
  const enter = (next: typeof stage) => {
    const now = performance.now();
    ms[stage] += now - since;
    stage = next;
    since = now;
  };
  let engine: TimesformerEngine;
  if (mode === 'copy') {
    const source = await fileSource(copyFile);
    const opened = await openCopy(source);
    const p = opened.preprocessor;
    engine = await TimesformerEngine.fromCopy(rt, source, opened, { warm: [opened.config.numFrames, p.cropHeight, p.cropWidth], onProgress: enter });
    await source.close();
  } else {
    const model = await loadModel(folderSource(dir));
    const parts: Uint8Array[] = [];
    const keep = mode === 'prime' ? { write: async (b: Uint8Array) => void parts.push(b.slice()) } : undefined;
    const p = model.preprocessor;
    engine = await TimesformerEngine.create(rt, model, { keep, warm: [model.config.numFrames, p.cropHeight, p.cropWidth], onProgress: enter });
    if (mode === 'prime') {
      const dtype = weightDType(model.weights);
      parts.push(copyTail({ dtype, configJson: model.json.config, preprocessorJson: model.json.preprocessor, checkpointFormat: model.format, source: model.source }, model.config));
      writeFileSync(copyFile, Buffer.concat(parts));
      writeFileSync(picksFile, JSON.stringify(exportPicks(rt)));
    }
  }
  await gpu.device.queue.onSubmittedWorkDone();
  enter('files');
  ms.total = performance.now() - t0;
  clearInterval(sampler);
  const gpuBytes = packedBytes(engine.config, engine.weightDType) + engine.keptPlans.reduce((n, p) => n + p.bytes, 0);
  const result: LoadResult = { from: mode === 'copy' ? 'engine-ready copy' : 'checkpoint', ms, peakBytes: peakRss() - before, peakHeapAndBuffers: heapPeak - heapBefore + gpuBytes };
  engine.destroy();
  return result;
}

export async function benchLoadCli(argv: string[]) {
  const arg = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const name = (arg('--model') ?? 'base') as keyof typeof BENCH_MODELS;
  if (!(name in BENCH_MODELS)) throw new Error(`unknown model '${name}' (have ${Object.keys(BENCH_MODELS).join(', ')})`);
  const dir = arg('--dir') ?? join('bench-results', `load-${name}`);
  const mode = arg('--child');
  if (mode) {
    process.stdout.write(JSON.stringify(await child(mode as 'prime', dir)) + '\n');
    process.exit(0);
  }
  writeCheckpoint(dir, name);
  if (argv.includes('--prepare-only')) return; // the folder for e2e/load-bench.spec.ts
  const weightsBytes = (await stat(join(dir, 'model.safetensors'))).size;
  const run = (m: string): LoadResult => JSON.parse(execFileSync(process.execPath, [...process.execArgv, process.argv[1], '--load', '--model', name, '--dir', dir, '--child', m], { encoding: 'utf8' }).trim().split('\n').pop()!);
  console.log(`${name}: ${(weightsBytes / 1e6).toFixed(1)} MB safetensors (f32), our engine in Node + Dawn, each load in a fresh process`);
  run('prime');
  const results = [run('checkpoint'), run('copy'), run('checkpoint'), run('copy')];
  for (const r of results) {
    const s = (x: number) => `${(x / 1000).toFixed(2)} s`;
    console.log(`${r.from.padEnd(17)} ready in ${s(r.ms.total)} (files ${s(r.ms.files)}, upload ${s(r.ms.upload)}, compile ${s(r.ms.compile)}); peak JS heap + buffers ${(r.peakHeapAndBuffers / 1e6).toFixed(0)} MB = ${(r.peakHeapAndBuffers / weightsBytes).toFixed(2)}×, peak RSS +${(r.peakBytes / 1e6).toFixed(0)} MB = ${(r.peakBytes / weightsBytes).toFixed(2)}× the weights`);
  }
  const out = join(dir, 'load.json');
  writeFileSync(out, JSON.stringify({ model: name, weightsBytes, results }, null, 2));
  console.log(`JSON: ${out}`);
}
