// Live mode's throughput and latency in a page: the worker's live code (src/worker/live.ts: the frame ring,
// one clip in flight, the pending frame) fed real VideoFrames drawn at a camera's rate, running a random
// model on our engine with the overlay's attention maps. Latency is frame arrival → result out of the
// engine (the app adds a postMessage and the next animation frame on top). No camera or worker needed.
import { parsePreprocessorConfig } from '../checkpoint/config';
import { requestEngineDevice } from '../engine/device';
import { Runtime } from '../engine/runtime';
import { TimesformerEngine } from '../engine/timesformer';
import { liveHandler } from '../worker/live';
import type { LiveEvent } from '../worker/live-protocol';
import { randomModel, type BENCH_MODELS } from './random-model';

export interface LiveBenchOptions {
  model: keyof typeof BENCH_MODELS;
  /** Seconds measured (after the ring has filled and the first clip ran). */
  seconds: number;
  /** The simulated camera: frames per second and size. */
  fps?: number;
  width?: number;
  height?: number;
  windowSeconds?: number;
  attention?: boolean;
}

export interface LiveBenchReport {
  model: string;
  adapter: string;
  camera: string;
  clips: number;
  clipsPerSecond: number;
  /** Null when no clip finished within the measured seconds. */
  latencyMs: { median: number; p90: number } | null;
  /** Milliseconds from submitting a clip to its outputs, median. */
  inferenceMs: number | null;
}

const quantile = (xs: number[], q: number) => +[...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))].toFixed(1);

export async function benchLive(runtime: Runtime, options: LiveBenchOptions): Promise<LiveBenchReport> {
  const { fps = 30, width = 640, height = 480, windowSeconds = 2, attention = true } = options;
  const model = randomModel(options.model);
  const live = { config: model.config, preprocessor: parsePreprocessorConfig(undefined, model.config) };
  const engine = await TimesformerEngine.create(runtime, model);
  const results: { latency: number; inference: number; at: number }[] = [];
  let failure: string | undefined;
  const handle = liveHandler({
    model: async () => live,
    gpu: async () => runtime,
    runLiveClip: (clip) => engine.run(clip, clip.shape, { attention: attention ? 'maps' : 'none', hiddenStates: false }),
    post: (event: LiveEvent) => {
      const now = performance.now();
      if (event.type === 'live-result') results.push({ latency: now - event.result.newestTime, inference: event.result.inferenceMs, at: now });
      if (event.type === 'live-error') failure = event.error.message;
    },
    describe: (e) => ({ kind: 'internal', message: e instanceof Error ? e.message : String(e) }),
  });
  // The camera: a moving gradient, drawn and wrapped in a VideoFrame at `fps`.
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d')!;
  let n = 0;
  const draw = () => {
    const x = (n * 7) % width;
    const g = ctx.createLinearGradient(x, 0, x + width / 2, height);
    g.addColorStop(0, `hsl(${(n * 5) % 360} 80% 50%)`);
    g.addColorStop(1, `hsl(${(n * 5 + 180) % 360} 80% 50%)`);
    ctx.fillStyle = g;
    ctx.fillRect(0, 0, width, height);
    handle({ type: 'live-frame', session: 1, frame: new VideoFrame(canvas, { timestamp: Math.round((n++ * 1e6) / fps) }), time: performance.now() });
  };
  handle({ type: 'live-start', session: 1, settings: { windowSeconds, attentionLayer: attention ? model.config.numLayers - 1 : null } });
  const timer = setInterval(draw, 1000 / fps);
  try {
    const waitUntil = async (done: () => boolean, ms: number) => {
      for (const end = performance.now() + ms; !done() && !failure && performance.now() < end; ) await new Promise((r) => setTimeout(r, 20));
    };
    await waitUntil(() => results.length > 0, 120_000 + windowSeconds * 1000);
    const start = performance.now();
    const before = results.length;
    await waitUntil(() => false, options.seconds * 1000);
    if (failure) throw new Error(`live bench: ${failure}`);
    const measured = results.slice(before);
    const seconds = (performance.now() - start) / 1000;
    return {
      model: options.model,
      adapter: [runtime.gpu.adapter.vendor, runtime.gpu.adapter.architecture, runtime.gpu.adapter.description].filter(Boolean).join(' ') + (runtime.gpu.adapter.isFallback ? ' (software)' : ''),
      camera: `${width}×${height} at ${fps} fps, ${windowSeconds} s window${attention ? ', attention maps' : ''}`,
      clips: measured.length,
      clipsPerSecond: +(measured.length / seconds).toFixed(2),
      latencyMs: measured.length ? { median: quantile(measured.map((r) => r.latency), 0.5), p90: quantile(measured.map((r) => r.latency), 0.9) } : null,
      inferenceMs: measured.length ? quantile(measured.map((r) => r.inference), 0.5) : null,
    };
  } finally {
    clearInterval(timer);
    handle({ type: 'live-stop', session: 1 });
    // Let the last write and clip settle before the engine goes.
    await new Promise((r) => setTimeout(r, 500));
    engine.destroy();
  }
}

/** The live bench on a device of its own (what `npm run bench -- --live` runs in the harness page). */
export async function benchLiveInPage(options: LiveBenchOptions): Promise<LiveBenchReport> {
  if (!navigator.gpu) throw new Error('this browser has no WebGPU (navigator.gpu is missing)');
  const gpu = await requestEngineDevice(navigator.gpu);
  try {
    return await benchLive(new Runtime(gpu), options);
  } finally {
    gpu.device.destroy();
  }
}
