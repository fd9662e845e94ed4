// Exposes the inference worker's client to the browser tests (e2e/worker.spec.ts).
import { InferenceClient, InferenceError } from '../../src/worker/client';
import type { ClassifyOptions } from '../../src/worker/protocol';

const client = new InferenceClient((message) => console.log(`device lost: ${message}`));
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
    return { ok: false as const, kind: e instanceof InferenceError ? e.kind : 'thrown', message: (e as Error).message };
  }
}

const api = {
  stages,
  loadModel: (base: string) => settle(client.loadModel({ kind: 'url', id: base, base }, (p) => stages.push(p.stage))),
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
    };
  },
  async timeline(videoUrl: string, maxSegments: number) {
    const blob = await fetchBlob(videoUrl);
    const segments: { index: number; count: number; start: number; end: number; sum: number }[] = [];
    const result = await settle(client.timeline(blob, (s) => segments.push({ index: s.index, count: s.count, start: s.start, end: s.end, sum: s.probs.reduce((a, b) => a + b, 0) }), { maxSegments }));
    return { result, segments };
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
