import { toFloat32, type RawTensor } from '../checkpoint/tensor';
import type { NamedTensors } from '../tensor';

/** How close a backend must come to the Hugging Face reference, by kind of tensor. */
export interface Tolerances {
  /** logits: absolute. */
  logits: number;
  /** hidden states: relative to max|reference| (they reach ~80, where float32 rounding alone is ~1e-5). */
  hiddenRelative: number;
  /** attention probabilities: absolute. */
  attention: number;
  /** attention rollout (`rollout.mean|max|min`): absolute. */
  rollout: number;
  /** class-specific explanations (`grad_pixels.class.<c>`, `relevance.class.<c>`): absolute. */
  explanation: number;
  /** any reference stored as float16: relative to max|reference|. */
  halfRelative: number;
  /** when set, one absolute tolerance for every tensor instead of the above (`verify --tolerance X`). */
  uniform?: number;
}

/**
 * Explanations are held to 1e-5 against PyTorch's float64 autograd (the CPU reference's float64-accumulated
 * backward measured at most 1.3e-8 on the fixtures; |grad_pixels| ≤ 0.04, |relevance| ≤ 1.3 there).
 */
export const CPU_TOLERANCES: Tolerances = { logits: 1e-4, hiddenRelative: 2e-5, attention: 1e-5, rollout: 1e-5, explanation: 1e-5, halfRelative: 1e-3 };

/**
 * The f32 WGSL engine: attention 5e-5 leaves room for float32 summation order on the GPU. The rollout
 * is held to 1e-5 (measured on the fixtures: at most 1.3e-6, min fusion on small-divided).
 */
export const WGSL_TOLERANCES: Tolerances = { ...CPU_TOLERANCES, attention: 5e-5 };

/**
 * The engine with an f32 checkpoint's Linear weights rounded to f16 (`weights: 'f16'`): each weight
 * moves by up to 2^-11 relative. Measured on the fixtures: logits 1.6e-3, attention 2e-3, hidden states
 * 2.5e-4 × max|reference|; these bounds leave about 5× room. (f16 checkpoints stored as f16 are exact
 * and meet WGSL_TOLERANCES.) Explanations: no backward runs with f16 weights yet; the attention's bound
 * stands until one is measured.
 */
export const F16_WEIGHT_TOLERANCES: Tolerances = { logits: 1e-2, hiddenRelative: 1e-3, attention: 1e-2, rollout: 1e-2, explanation: 1e-2, halfRelative: 1e-3 };


export interface Comparison {
  name: string;
  shape: number[];
  maxAbsError: number;
  tolerance: number;
  pass: boolean;
  problem?: string;
}

/** Class-specific explanations: `grad_pixels.class.<c>` and `relevance.class.<c>`. */
export const EXPLANATION = /^(grad_pixels|relevance)\.class\.(\d+)$/;
/** The classes an expected file's explanations name, each once. */
export const explainedClasses = (names: Iterable<string>) => [...new Set([...names].flatMap((name) => EXPLANATION.exec(name)?.[2] ?? []).map(Number))];

/** Inputs and Hugging Face's own copies in the fixture files, which no backend produces. */
const NOT_OUTPUTS = /^(pixel_values|video_u8|hf_attentions\.\d+)$/;

/**
 * The rows a `.rows` reference keeps (rows 0 and ⌊n/2⌋ of each attention matrix), taken from a full
 * [..., n, n] tensor so that it can be compared.
 */
function selectRows(data: Float32Array, shape: number[], rowsShape: number[]): Float32Array | undefined {
  const n = shape[shape.length - 1];
  const kept = rowsShape[rowsShape.length - 2];
  if (shape[shape.length - 2] !== n || rowsShape[rowsShape.length - 1] !== n || kept !== 2) return undefined;
  const outer = data.length / (n * n);
  const out = new Float32Array(outer * 2 * n);
  for (let o = 0; o < outer; o++) {
    out.set(data.subarray((o * n + 0) * n, (o * n + 1) * n), (o * 2 + 0) * n);
    const mid = Math.floor(n / 2);
    out.set(data.subarray((o * n + mid) * n, (o * n + mid + 1) * n), (o * 2 + 1) * n);
  }
  return out;
}

function toleranceFor(name: string, reference: RawTensor, maxRef: number, tol: Tolerances): number {
  if (tol.uniform !== undefined) return tol.uniform;
  if (reference.dtype !== 'F32') return tol.halfRelative * maxRef;
  if (name === 'logits') return tol.logits;
  if (name.startsWith('attn.')) return tol.attention;
  if (name.startsWith('rollout.')) return tol.rollout;
  if (EXPLANATION.test(name)) return tol.explanation;
  return tol.hiddenRelative * maxRef;
}

/** Compare every output the reference file also holds. A reference with nothing to compare fails. */
export function compareOutputs(actual: NamedTensors, expected: Map<string, RawTensor>, tol: Tolerances): Comparison[] {
  const results: Comparison[] = [];
  for (const [name, reference] of expected) {
    if (NOT_OUTPUTS.test(name)) continue;
    const base = name.replace(/\.rows$/, '');
    const mine = actual.get(base);
    if (!mine) {
      results.push({ name, shape: reference.shape, maxAbsError: NaN, tolerance: NaN, pass: false, problem: 'not produced by the backend' });
      continue;
    }
    const data = name.endsWith('.rows') ? selectRows(mine.data, mine.shape, reference.shape) : mine.data;
    const ref = toFloat32(reference);
    const sameShape = name.endsWith('.rows') ? data !== undefined && data.length === ref.length : mine.shape.join() === reference.shape.join();
    if (!sameShape || !data) {
      results.push({ name, shape: reference.shape, maxAbsError: NaN, tolerance: NaN, pass: false, problem: `shape [${mine.shape}] does not match reference [${reference.shape}]` });
      continue;
    }
    let maxRef = 0, maxErr = 0;
    for (let i = 0; i < ref.length; i++) {
      maxRef = Math.max(maxRef, Math.abs(ref[i]));
      const err = Math.abs(data[i] - ref[i]);
      // NaN anywhere must fail, and Math.max would keep NaN only sometimes.
      maxErr = Number.isNaN(err) ? Infinity : Math.max(maxErr, err);
    }
    const tolerance = toleranceFor(base, reference, maxRef, tol);
    results.push({ name, shape: reference.shape, maxAbsError: maxErr, tolerance, pass: maxErr <= tolerance });
  }
  if (results.length === 0) {
    results.push({ name: '(none)', shape: [], maxAbsError: NaN, tolerance: NaN, pass: false, problem: 'the expected file holds no output this backend produces' });
  }
  return results;
}

export function formatComparison(c: Comparison): string {
  const status = c.pass ? 'pass' : 'FAIL';
  const detail = c.problem ?? `max abs error ${c.maxAbsError.toExponential(2)} (tolerance ${c.tolerance.toExponential(2)})`;
  return `${c.name.padEnd(28)} [${c.shape.join(',')}]`.padEnd(52) + ` ${detail}  ${status}`;
}

export function verdict(results: Comparison[]): string {
  const failed = results.find((r) => !r.pass);
  if (!failed) return 'verify: PASS';
  return `verify: FAIL (${failed.name} ${failed.problem ?? failed.maxAbsError.toExponential(2)})`;
}
