// From logits to what the user sees: class probabilities, averaged over views as the paper's test protocol does.

/** Softmax of one row of logits, in float64 for the sums. */
export function softmax(logits: Float32Array): Float32Array {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let sum = 0;
  const out = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i] - max);
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

/**
 * Class probabilities of one view from its logits [rows, labels]. Space-only models give one row per
 * frame (as Hugging Face does); the official model averages the frames' CLS outputs before the linear
 * head, which equals averaging these rows' logits.
 */
export function viewProbabilities(logits: Float32Array, rows: number): Float32Array {
  const labels = logits.length / rows;
  const mean = new Float32Array(labels);
  for (let r = 0; r < rows; r++) for (let i = 0; i < labels; i++) mean[i] += logits[r * labels + i] / rows;
  return softmax(mean);
}

/** The mean of the views' probabilities (softmax scores averaged, as in the paper's 1 clip × 3 crops). */
export function averageProbabilities(views: Float32Array[]): Float32Array {
  const out = new Float32Array(views[0].length);
  for (const v of views) for (let i = 0; i < out.length; i++) out[i] += v[i] / views.length;
  return out;
}

export interface Ranked {
  index: number;
  label: string;
  prob: number;
}

export function topK(probs: Float32Array, labels: string[], k: number): Ranked[] {
  return [...probs.keys()]
    .sort((a, b) => probs[b] - probs[a])
    .slice(0, k)
    .map((index) => ({ index, label: labels[index] ?? `class ${index}`, prob: probs[index] }));
}
