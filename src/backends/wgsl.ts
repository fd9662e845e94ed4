// Our WGSL engine (src/engine/) as an InferenceBackend: CPU pixels or a GpuClip (preprocessing recorded into
// the same submission), logits, attention maps or every probability, hidden states, class explanations. Runs are queued, so a
// caller never sees the engine's "already running" guard.
import type { EngineDevice } from '../engine/device';
import type { ByteSink } from '../engine/engine-weights';
import type { EngineOptions, LoadOptions, RunRequest } from '../engine/timesformer';
import { TimesformerEngine } from '../engine/timesformer';
import type { Runtime } from '../engine/runtime';
import type { TfjsModel } from './tfjs';
import { SerialQueue, type ClipInput, type ClipShape, type InferenceBackend, type RunOptions } from './backend';

export interface WgslBackend extends InferenceBackend {
  readonly engine: TimesformerEngine;
}

/** Whether `backend` is our engine (and has its `engine`: the GEMM it picked, its plans). */
export function isWgslBackend(backend: InferenceBackend): backend is WgslBackend {
  return (backend as Partial<WgslBackend>).engine instanceof TimesformerEngine;
}

/** A backend's run options as the engine's request. */
function runRequest(run: RunOptions): RunRequest {
  const attention = run.attention === 'maps' || run.attention === 'cls' ? run.attention : run.attention ? 'all' : 'none';
  return { attention, hiddenStates: !!run.hiddenStates, returnInput: !!run.returnInput, explain: run.explain, rollout: run.rollout };
}

/** The engine on `gpu` (pass the device's Runtime to share compiled kernels with preprocessing). */
export async function createWgslBackend(gpu: Runtime | EngineDevice, model: TfjsModel, options: EngineOptions & LoadOptions & { keep?: ByteSink } = {}): Promise<WgslBackend> {
  return wgslBackend(await TimesformerEngine.create(gpu, model, options));
}

/** An engine already made (e.g. from an engine-ready copy, TimesformerEngine.fromCopy) as a backend. */
export function wgslBackend(engine: TimesformerEngine): WgslBackend {
  const queue = new SerialQueue();
  let disposed = false;
  return {
    name: 'wgsl',
    engine,
    capabilities: { attention: true, hiddenStates: true, gpuInput: true, explain: true, threads: null },
    run(input: ClipInput, shape: ClipShape, run: RunOptions = {}) {
      return queue.run(() => {
        if (disposed) throw new Error('wgsl: the backend was disposed');
        return engine.run(input, shape, runRequest(run));
      });
    },
    runBatch(clips: Float32Array[], shape: ClipShape, run: RunOptions = {}) {
      return queue.run(() => {
        if (disposed) throw new Error('wgsl: the backend was disposed');
        return engine.runBatch(clips, shape, runRequest(run));
      });
    },
    readAttention(slices) {
      return queue.run(async () => {
        if (disposed) throw new Error('wgsl: the backend was disposed');
        return engine.readAttention(slices);
      });
    },
    dispose() {
      return queue.run(async () => {
        if (disposed) return;
        disposed = true;
        engine.destroy();
      });
    },
  };
}
