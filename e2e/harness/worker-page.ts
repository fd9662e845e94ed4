// Exposes the inference worker's client to the browser tests (e2e/worker.spec.ts).
import { InferenceClient, InferenceError } from '../../src/worker/client';
import type { BackendChoice, ClassifyOptions } from '../../src/worker/protocol';

// The workers the client starts, so that a test can kill one as the browser would (out of memory): the client
// is not told, it has to notice.
const workers: Worker[] = [];
window.Worker = class extends Worker {
  constructor(url: string | URL, options?: WorkerOptions) {
    super(url, options);
    workers.push(this);
  }
};
const restarts: string[] = [];
const client = new InferenceClient({ onDeviceLost: (message) => console.log(`device lost: ${message}`), onRestarted: (message) => restarts.push(message) });
const stages: string[] = [];

async function fetchBlob(url: string): Promise<Blob> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.blob();
}

/** Settle a promise into plain data Playwright can return. */
async function settle<T>(work: Promise<T>) {
  try {
    return { ok: true as const, value: await work };
  } catch (e) {
    return { ok: false as const, kind: e instanceof InferenceError ? e.kind : 'thrown', outcome: e instanceof InferenceError ? e.outcome : undefined, message: (e as Error).message };
  }
}

const api = {
  stages,
  loadModel: (base: string, backend: BackendChoice = 'auto') => settle(client.loadModel({ kind: 'url', id: base, base }, (p) => stages.push(p.stage), undefined, backend)),
  async classify(videoUrl: string, options: ClassifyOptions) {
    const blob = await fetchBlob(videoUrl);
    const result = await settle(client.classify(blob, options, (p) => stages.push(p.stage)));
    if (!result.ok) return result;
    const r = result.value;
    // Plain numbers for the test: probabilities, shapes, frame sizes.
    return {
      ok: true as const,
      probs: [...r.probs],
      views: r.views.map((v) => ({ name: v.name, probs: [...v.probs] })),
      frames: r.frames.map((f) => [f.width, f.height]),
      timestamps: r.timestamps,
      attention: r.attention && { layers: r.attention.layers, frames: r.attention.frames, heads: r.attention.heads, grid: r.attention.grid, spatialCls: r.attention.spatialCls.length, temporal: r.attention.temporal.length, spatialSum: r.attention.spatialCls.reduce((a, b) => a + b, 0) },
      notes: r.notes,
      backend: r.backend,
    };
  },
  async timeline(videoUrl: string, maxSegments: number) {
    const blob = await fetchBlob(videoUrl);
    const segments: { index: number; count: number; start: number; end: number; sum: number }[] = [];
    const result = await settle(client.timeline(blob, (s) => segments.push({ index: s.index, count: s.count, start: s.start, end: s.end, sum: s.probs.reduce((a, b) => a + b, 0) }), { maxSegments }));
    return { result, segments };
  },
  /**
   * A timeline, and while it runs a classification, then a second classification that replaces the first:
   * how each ended, and in which order the survivors finished.
   */
  async concurrent(videoUrl: string, longUrl: string) {
    const [video, long] = await Promise.all([fetchBlob(videoUrl), fetchBlob(longUrl)]);
    const finished: string[] = [];
    let segments = 0;
    const timeline = settle(client.timeline(long, () => segments++, { maxSegments: 6 }).finally(() => finished.push('timeline')));
    await new Promise((r) => setTimeout(r, 300));
    const options: ClassifyOptions = { views: 'single', attention: false, sampling: 'auto' };
    const first = settle(client.classify(video, options).finally(() => finished.push('first')));
    const second = settle(client.classify(video, { ...options, views: 'multi' }).finally(() => finished.push('second')));
    const [t, a, b] = await Promise.all([timeline, first, second]);
    return { timeline: t, segments, first: a.ok ? 'completed' : a, second: b.ok ? b.value.views.length : b, finished };
  },
  /** Classify with a signal whose listeners are counted: none may be left once the request has ended. */
  async listenersLeft(videoUrl: string) {
    const blob = await fetchBlob(videoUrl);
    const signal = new AbortController().signal;
    let listeners = 0;
    const add = signal.addEventListener.bind(signal), remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<typeof add>) => (listeners++, add(...args))) as typeof add;
    signal.removeEventListener = ((...args: Parameters<typeof remove>) => (listeners--, remove(...args))) as typeof remove;
    const ok = await settle(client.classify(blob, { views: 'single', attention: false, sampling: 'auto' }, undefined, signal));
    const failed = await settle(client.classify(new Blob(['not a video']), { views: 'single', attention: false, sampling: 'auto' }, undefined, signal));
    return { ok: ok.ok, failed: failed.ok ? 'ok' : failed.kind, listeners };
  },
  /** Kill the worker under a running classification, as the browser would; then classify again. */
  async killed(videoUrl: string) {
    const blob = await fetchBlob(videoUrl);
    // Killed at its first progress event, so the request is surely still running (a fixed delay raced a fast backend).
    let killed = false;
    const kill = () => {
      if (killed) return;
      killed = true;
      workers.at(-1)!.terminate();
    };
    const pending = await settle(client.classify(blob, { views: 'multi', attention: true, sampling: 'auto' }, kill));
    const next = await settle(client.classify(blob, { views: 'single', attention: false, sampling: 'auto' }));
    return { pending, next: next.ok ? { ok: true, probs: [...next.value.probs] } : next, restarts, workers: workers.length };
  },
  /** Start a classification and cancel it right away. */
  async cancelled(videoUrl: string) {
    const blob = await fetchBlob(videoUrl);
    const controller = new AbortController();
    const work = settle(client.classify(blob, { views: 'multi', attention: true, sampling: 'auto' }, undefined, controller.signal));
    controller.abort();
    return work;
  },
};

declare global {
  interface Window {
    workerApi: typeof api;
  }
}
window.workerApi = api;
