// The UI side of the inference worker: promises with progress callbacks and cancellation.
import type { ClassifyOptions, ClassifyResult, ErrorInfo, Event, ModelInfo, ModelRef, Request, Stage, TimelineSegment } from './protocol';

export type ProgressHandler = (p: { stage: Stage; done: number; total?: number; detail?: string }) => void;

export class InferenceError extends Error {
  override name = 'InferenceError';
  constructor(readonly kind: ErrorInfo['kind'], message: string) {
    super(message);
  }
}

type WithoutId<T> = T extends unknown ? Omit<T, 'requestId'> : never;

interface Pending {
  resolve(value: unknown): void;
  reject(error: InferenceError): void;
  onProgress?: ProgressHandler;
  onSegment?: (segment: TimelineSegment) => void;
}

export class InferenceClient {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly onDeviceLost: (message: string) => void = () => {}) {
    this.worker = new Worker(new URL('./inference.worker.ts', import.meta.url), { type: 'module' });
    this.worker.onmessage = (e: MessageEvent<Event>) => this.receive(e.data);
    this.worker.onerror = (e) => {
      // A worker that failed to start or crashed: fail everything in flight.
      for (const p of this.pending.values()) p.reject(new InferenceError('internal', `the inference worker failed: ${e.message}`));
      this.pending.clear();
    };
  }

  loadModel(model: ModelRef, onProgress?: ProgressHandler, signal?: AbortSignal): Promise<ModelInfo> {
    return this.request({ type: 'load-model', model }, onProgress, signal) as Promise<ModelInfo>;
  }

  classify(video: Blob, options: ClassifyOptions, onProgress?: ProgressHandler, signal?: AbortSignal): Promise<ClassifyResult> {
    return this.request({ type: 'classify', video, options }, onProgress, signal) as Promise<ClassifyResult>;
  }

  /** Classify windows slid across the whole video; segments stream to `onSegment` as they are done. Resolves with their count. */
  timeline(video: Blob, onSegment: (segment: TimelineSegment) => void, options: { maxSegments?: number; onProgress?: ProgressHandler; signal?: AbortSignal } = {}): Promise<number> {
    return this.request({ type: 'timeline', video, maxSegments: options.maxSegments ?? 64 }, options.onProgress, options.signal, onSegment) as Promise<number>;
  }

  terminate() {
    this.worker.terminate();
  }

  private request(message: WithoutId<Exclude<Request, { type: 'cancel' }>>, onProgress?: ProgressHandler, signal?: AbortSignal, onSegment?: (s: TimelineSegment) => void): Promise<unknown> {
    const requestId = this.nextId++;
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new InferenceError('cancelled', 'cancelled'));
      this.pending.set(requestId, { resolve, reject, onProgress, onSegment });
      signal?.addEventListener('abort', () => this.worker.postMessage({ type: 'cancel', requestId } satisfies Request), { once: true });
      this.worker.postMessage({ ...message, requestId } as Request);
    });
  }

  private receive(event: Event) {
    if (event.type === 'device-lost') return this.onDeviceLost(event.message);
    const p = this.pending.get(event.requestId);
    if (!p) return;
    switch (event.type) {
      case 'progress':
        p.onProgress?.(event);
        return;
      case 'model-loaded':
        this.pending.delete(event.requestId);
        return p.resolve(event.info);
      case 'result':
        this.pending.delete(event.requestId);
        return p.resolve(event.result);
      case 'segment':
        return p.onSegment?.(event.segment);
      case 'timeline-done':
        this.pending.delete(event.requestId);
        return p.resolve(event.segments);
      case 'error':
        this.pending.delete(event.requestId);
        return p.reject(new InferenceError(event.error.kind, event.error.message));
    }
  }
}
