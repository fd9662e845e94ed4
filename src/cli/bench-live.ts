// npm run bench -- --live [--models tiny,small] [--seconds S] [--fps F] [--size WxH] [--no-attention] [--out file.json]
// Live mode's clips/s and latency in headless Chromium (src/bench/live-bench.ts: the worker's live code fed
// VideoFrames at a camera's rate), one line and one JSON entry per model.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LiveBenchOptions, LiveBenchReport } from '../bench/live-bench';

export async function benchLiveCli(argv: string[]): Promise<void> {
  const args = { models: ['tiny'], seconds: 15, fps: 30, width: 640, height: 480, attention: true, out: 'bench-results/bench-live-chromium.json' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--live' || a === '--browser') continue;
    else if (a === '--models') args.models = argv[++i].split(',');
    else if (a === '--seconds') args.seconds = Number(argv[++i]);
    else if (a === '--fps') args.fps = Number(argv[++i]);
    else if (a === '--size') [args.width, args.height] = argv[++i].split('x').map(Number);
    else if (a === '--no-attention') args.attention = false;
    else if (a === '--out') args.out = argv[++i];
    else throw new Error(`unknown option ${a} (live: --models, --seconds, --fps, --size WxH, --no-attention, --out)`);
  }
  if (!(args.seconds > 0 && args.fps > 0 && args.width > 0 && args.height > 0)) throw new Error('--seconds, --fps and --size need positive numbers');
  const { openHarness } = await import('./browser/launch');
  const session = await openHarness([], () => {});
  try {
    const version = session.page.context().browser()?.version();
    console.log(`live mode, Chromium ${version} (headless): ${args.seconds} s per model after the first clip`);
    const reports: LiveBenchReport[] = [];
    for (const model of args.models) {
      const options: LiveBenchOptions = { model: model as LiveBenchOptions['model'], seconds: args.seconds, fps: args.fps, width: args.width, height: args.height, attention: args.attention };
      const report = await session.page.evaluate(async (o) => {
        const path = '/src/bench/live-bench.ts'; // a Vite module of the served project
        const { benchLiveInPage } = (await import(/* @vite-ignore */ path)) as typeof import('../bench/live-bench');
        return benchLiveInPage(o);
      }, options);
      const latency = report.latencyMs ? `latency median ${report.latencyMs.median} ms (p90 ${report.latencyMs.p90}), inference ${report.inferenceMs} ms` : `no clip finished in ${args.seconds} s`;
      console.log(`${report.model}: ${report.clipsPerSecond} clips/s, ${latency} — ${report.camera}, ${report.adapter}`);
      reports.push(report);
    }
    mkdirSync(dirname(args.out), { recursive: true });
    writeFileSync(args.out, JSON.stringify({ date: new Date().toISOString(), runtime: `Chromium ${version}`, live: reports }, null, 2));
    console.log(`JSON: ${args.out}`);
  } finally {
    await session.close();
  }
}
