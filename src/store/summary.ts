// What the predictions panel shows of a result: small, plain data that can live in the store (the
// Float32Arrays stay in the registry).
import type { ClassifyResult } from '../worker/protocol';

export interface Prediction {
  index: number;
  label: string;
  prob: number;
}

export interface ViewSummary {
  name: string;
  best: Prediction;
  /** This view's probability of each overall top label, in the order of ResultSummary.top. */
  ofTop: number[];
}

export interface ResultSummary {
  top: Prediction[];
  views: ViewSummary[];
  timestamps: number[];
  notes: string[];
  timings: ClassifyResult['timings'];
  frames: number;
  hasAttention: boolean;
}

export function topK(probs: ArrayLike<number>, labels: string[], k: number): Prediction[] {
  const order = Array.from({ length: probs.length }, (_, i) => i).sort((a, b) => probs[b] - probs[a] || a - b);
  return order.slice(0, k).map((index) => ({ index, label: labels[index] ?? `class ${index}`, prob: probs[index] }));
}

export function summarize(result: ClassifyResult, labels: string[], k = 5): ResultSummary {
  const top = topK(result.probs, labels, k);
  return {
    top,
    views: result.views.map((v) => ({ name: v.name, best: topK(v.probs, labels, 1)[0], ofTop: top.map((p) => v.probs[p.index]) })),
    timestamps: result.timestamps,
    notes: result.notes,
    timings: result.timings,
    frames: result.frames.length,
    hasAttention: result.attention !== undefined,
  };
}
