// The inference worker: messages in, calls to the InferenceService (service.ts: the device, the loaded model
// and backend, the scheduler) out, and one event back for how each request ended: its answer, `ended`
// (replaced or cancelled), or `error` with a kind the UI can phrase advice for. The worker stays usable.
/// <reference lib="webworker" />
import { BackendError } from '../backends/backend';
import { BACKEND_CATALOG } from '../backends/registry';
import { CheckpointError } from '../checkpoint/errors';
import { GpuError, GpuMemoryError } from '../engine/device';
import { VideoError } from '../video/errors';
import { liveHandler, serviceLiveHost } from './live';
import { isLiveRequest, type LiveEvent, type LiveRequest } from './live-protocol';
import type { ErrorInfo, Event, Request, Stage } from './protocol';
import { TaskEnded } from './scheduler';
import { InferenceService, NoModelError } from './service';

declare const self: DedicatedWorkerGlobalScope;

const post = (event: Event, transfer: Transferable[] = []) => self.postMessage(event, transfer);

const service = new InferenceService({
  deviceLost: (message) => post({ type: 'device-lost', message }),
  gpuError: (message) => post({ type: 'gpu-error', message }),
});
const controllers = new Map<number, AbortController>();
const live = liveHandler(serviceLiveHost(service, (event: LiveEvent, transfer: Transferable[] = []) => self.postMessage(event, transfer), describe));

self.onmessage = async (e: MessageEvent<Request | LiveRequest>) => {
  if (isLiveRequest(e.data)) return live(e.data);
  const request = e.data;
  if (request.type === 'device-tier') {
    service.deviceTier = request.tier;
    return;
  }
  if (request.type === 'cancel') {
    controllers.get(request.requestId)?.abort();
    return;
  }
  const { requestId } = request;
  const controller = new AbortController();
  controllers.set(requestId, controller);
  const signal = controller.signal;
  const progress = (stage: Stage, done: number, total?: number, detail?: string) => post({ type: 'progress', requestId, stage, done, total, detail });
  try {
    if (request.type === 'load-model') {
      const info = await service.load(request.model, request.backend, signal, progress);
      post({ type: 'model-loaded', requestId, info });
    } else if (request.type === 'classify') {
      const result = await service.classify(request.video, request.options, { ...request.scheduling, signal }, progress);
      post({ type: 'result', requestId, result }, [...result.frames, result.probs.buffer as ArrayBuffer]);
    } else if (request.type === 'attention-slices') {
      const slices = await service.readAttention(request.token, request.slices, { purpose: 'attention-slices', priority: 'user', signal });
      post({ type: 'attention-slices', requestId, slices }, slices.map((s) => s.buffer as ArrayBuffer));
    } else if (request.type === 'explain') {
      const result = await service.explain(request.video, request.options, { ...request.scheduling, signal }, progress);
      const arrays = [result.relevance, result.rollout, result.saliency, result.frameImportance, ...result.curves.map((c) => c.probs)];
      post({ type: 'explanation', requestId, result }, [...result.frames, ...arrays.map((a) => a.buffer as ArrayBuffer)]);
    } else {
      const segments = await service.timeline(request.video, request.maxSegments, { ...request.scheduling, signal }, progress, (segment) =>
        post({ type: 'segment', requestId, segment }, [segment.probs.buffer as ArrayBuffer]),
      );
      post({ type: 'timeline-done', requestId, segments });
    }
  } catch (error) {
    if (error instanceof TaskEnded) post({ type: 'ended', requestId, outcome: error.outcome, message: error.message });
    else if (signal.aborted) post({ type: 'ended', requestId, outcome: 'cancelled', message: 'cancelled' });
    else post({ type: 'error', requestId, error: describe(error) });
  } finally {
    controllers.delete(requestId);
  }
};

function describe(error: unknown): ErrorInfo {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof CheckpointError || error instanceof NoModelError) return { kind: 'model', message };
  if (error instanceof VideoError) return { kind: 'video', message };
  if (error instanceof GpuMemoryError) return { kind: 'memory', message };
  if (error instanceof GpuError) return { kind: 'gpu', message };
  // A GPU backend's failure is the GPU's; the wasm EP's and tfjs-cpu's are not.
  if (error instanceof BackendError && BACKEND_CATALOG[error.backend].gpu) return { kind: 'gpu', message };
  return { kind: 'internal', message };
}

// Liveness: the client learns that this worker died (crashed, ran out of memory, was terminated) when the lock
// named after it is released, which the browser does when the worker goes, however busy it was.
void navigator.locks.request(self.name, () => {
  post({ type: 'ready' });
  return new Promise<never>(() => {});
});
