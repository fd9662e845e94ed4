// The UI side of the inference worker: promises with progress callbacks and cancellation, and a worker that
// may die. Every request settles: with its answer, with an InferenceError saying what failed, or with kind
// 'cancelled' and an `outcome` (replaced by a newer request, or cancelled). If the worker dies (crash, out of
// memory, terminated), the requests it had fail with a clear message, a new worker starts and reloads the
// last model, and the next request runs there.
import { EVERY_SESSION, isLiveEvent, type LiveEvent, type LiveLink } from './live-protocol';
import type { DeviceTier } from '../engine/device';
import type { AttentionSlice } from '../engine/timesformer';
import type { BackendChoice, ClassifyOptions, ClassifyResult, ErrorInfo, ExplainOptions, ExplainResult, Event, ModelInfo, ModelRef, Request, Scheduling, Stage, TimelineSegment } from './protocol';

export type ProgressHandler = (p: { stage: Stage; done: number; total?: number; detail?: string }) => void;

export class InferenceError extends Error {
  override name = 'InferenceError';
  constructor(
    readonly kind: ErrorInfo['kind'],
    message: string,
    /** For kind 'cancelled': whether a newer request replaced this one, or it was cancelled. */
    readonly outcome?: 'replaced' | 'cancelled',
  ) {
    super(message);
  }
}

export interface ClientEvents {
  /** The GPU device went away (its model with it). */
  onDeviceLost?(message: string): void;
  /** A GPU error outside any request (WebGPU's uncapturederror). */
  onGpuError?(message: string): void;
  /** The worker died and a new one started; `reload` is the last model loading again (undefined: none was loaded). */
  onRestarted?(message: string, reload: Promise<ModelInfo> | undefined): void;
}

type WithoutId<T> = T extends unknown ? Omit<T, 'requestId'> : never;

interface Pending {
  resolve(value: unknown): void;
  reject(error: InferenceError): void;
  onProgress?: ProgressHandler;
  onSegment?: (segment: TimelineSegment) => void;
}

/** Restarts allowed within RESTART_WINDOW_MS before the client gives up (a worker that dies at once, e.g. fails to load). */
const MAX_RESTARTS = 3;
const RESTART_WINDOW_MS = 60_000;

export class InferenceClient {
  private worker!: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private lastModel?: { model: ModelRef; backend: BackendChoice };
  private restarts: number[] = [];
  /** Set when the worker keeps dying: every request fails with it. */
  private broken?: string;
  private closed = false;
  private readonly liveListeners = new Set<(event: LiveEvent) => void>();

  /** `deviceTier` 'baseline': the worker asks for a device with WebGPU's default limits and no optional features. */
  constructor(private readonly events: ClientEvents = {}, private readonly deviceTier: DeviceTier = 'adapter') {
    this.start();
  }

  loadModel(model: ModelRef, onProgress?: ProgressHandler, signal?: AbortSignal, backend: BackendChoice = 'auto'): Promise<ModelInfo> {
    const loading = this.request({ type: 'load-model', model, backend }, onProgress, signal) as Promise<ModelInfo>;
    loading.then(() => (this.lastModel = { model, backend }), () => {});
    return loading;
  }

  /** Classify a video. A newer classification for the same `scheduling.purpose` replaces this one. */
  classify(video: Blob, options: ClassifyOptions, onProgress?: ProgressHandler, signal?: AbortSignal, scheduling: Scheduling = { purpose: 'classify', priority: 'user' }): Promise<ClassifyResult> {
    return this.request({ type: 'classify', video, options, scheduling }, onProgress, signal) as Promise<ClassifyResult>;
  }

  /** Classify windows slid across the whole video; segments stream to `onSegment` as they are done. Resolves with their count. */
  timeline(video: Blob, onSegment: (segment: TimelineSegment) => void, options: { maxSegments?: number; onProgress?: ProgressHandler; signal?: AbortSignal; scheduling?: Scheduling } = {}): Promise<number> {
    const scheduling = options.scheduling ?? { purpose: 'timeline', priority: 'background' };
    return this.request({ type: 'timeline', video, maxSegments: options.maxSegments ?? 64, scheduling }, options.onProgress, options.signal, onSegment) as Promise<number>;
  }

  /** Slices of the attention a classification kept on the GPU (`AttentionMaps.kept.token`); a newer read replaces this one. */
  readAttention(token: number, slices: AttentionSlice[], signal?: AbortSignal): Promise<Float32Array[]> {
    return this.request({ type: 'attention-slices', token, slices }, undefined, signal) as Promise<Float32Array[]>;
  }

  /** Why the model names `options.classIndex` in the video (our engine); a newer explanation replaces this one. */
  explain(video: Blob, options: ExplainOptions, onProgress?: ProgressHandler, signal?: AbortSignal): Promise<ExplainResult> {
    return this.request({ type: 'explain', video, options, scheduling: { purpose: 'explain', priority: 'user' } }, onProgress, signal) as Promise<ExplainResult>;
  }

  /** The live channel (src/live/): sampled frames to the current worker, its live events back. */
  liveLink(): LiveLink {
    return {
      send: (request, transfer = []) => this.worker.postMessage(request, transfer),
      listen: (handler) => {
        this.liveListeners.add(handler);
        return () => this.liveListeners.delete(handler);
      },
    };
  }

  /** Stop the worker for good (pending requests fail). */
  terminate() {
    this.closed = true;
    this.worker.terminate();
    this.failPending('the inference worker was shut down');
  }

  private start() {
    const name = `timesformer-inference-${crypto.randomUUID()}`;
    const worker = new Worker(new URL('./inference.worker.ts', import.meta.url), { type: 'module', name });
    this.worker = worker;
    if (this.deviceTier !== 'adapter') worker.postMessage({ type: 'device-tier', tier: this.deviceTier } satisfies Request);
    worker.onmessage = (e: MessageEvent<Event | LiveEvent>) => (e.data.type === 'ready' ? this.watch(worker, name) : this.receive(e.data));
    // A worker that failed to start, or threw where nothing caught it: treated as dead.
    worker.onerror = (e) => this.died(worker, `the inference worker failed${e.message ? `: ${e.message}` : ''}`);
  }

  /** The worker holds a lock named after it until it goes: our request for it is granted when it has. */
  private watch(worker: Worker, name: string) {
    void navigator.locks.request(name, async () => this.died(worker, 'the inference worker stopped (it crashed, ran out of memory or was killed)'));
  }

  private died(worker: Worker, message: string) {
    if (worker !== this.worker || this.closed) return;
    worker.terminate();
    const now = Date.now();
    this.restarts = [...this.restarts.filter((t) => now - t < RESTART_WINDOW_MS), now];
    if (this.restarts.length > MAX_RESTARTS) {
      this.broken = `${message}, ${this.restarts.length} times within a minute: reload the page`;
      this.failPending(this.broken);
      return;
    }
    this.failPending(`${message}; a new one was started${this.lastModel ? ' and is reloading the model' : ''}: try again`);
    this.start();
    const reload = this.lastModel && this.loadModel(this.lastModel.model, undefined, undefined, this.lastModel.backend);
    this.events.onRestarted?.(message, reload);
  }

  private failPending(message: string) {
    // A live session's frames went to the dead worker: it stops, saying why.
    this.liveListeners.forEach((listen) => listen({ type: 'live-error', session: EVERY_SESSION, error: { kind: 'internal', message } }));
    for (const p of [...this.pending.values()]) p.reject(new InferenceError('internal', message));
  }

  private request(message: WithoutId<Exclude<Request, { type: 'cancel' }>>, onProgress?: ProgressHandler, signal?: AbortSignal, onSegment?: (s: TimelineSegment) => void): Promise<unknown> {
    const requestId = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.broken) return reject(new InferenceError('internal', this.broken));
      if (signal?.aborted) return reject(new InferenceError('cancelled', 'cancelled', 'cancelled'));
      const worker = this.worker;
      const onAbort = () => worker.postMessage({ type: 'cancel', requestId } satisfies Request);
      const settled = () => {
        this.pending.delete(requestId);
        signal?.removeEventListener('abort', onAbort);
      };
      this.pending.set(requestId, {
        resolve: (value) => (settled(), resolve(value)),
        reject: (error) => (settled(), reject(error)),
        onProgress,
        onSegment,
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      worker.postMessage({ ...message, requestId } as Request);
    });
  }

  private receive(event: Event | LiveEvent) {
    if (isLiveEvent(event)) return this.liveListeners.forEach((listen) => listen(event));
    if (event.type === 'ready') return;
    if (event.type === 'device-lost') return this.events.onDeviceLost?.(event.message);
    if (event.type === 'gpu-error') return this.events.onGpuError?.(event.message);
    const p = this.pending.get(event.requestId);
    if (!p) return;
    switch (event.type) {
      case 'progress':
        return p.onProgress?.(event);
      case 'segment':
        return p.onSegment?.(event.segment);
      case 'model-loaded':
        return p.resolve(event.info);
      case 'result':
        return p.resolve(event.result);
      case 'timeline-done':
        return p.resolve(event.segments);
      case 'attention-slices':
        return p.resolve(event.slices);
      case 'explanation':
        return p.resolve(event.result);
      case 'ended':
        return p.reject(new InferenceError('cancelled', event.message, event.outcome));
      case 'error':
        return p.reject(new InferenceError(event.error.kind, event.error.message));
    }
  }
}
